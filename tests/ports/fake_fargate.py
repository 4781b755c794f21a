"""Fargate for the ECS job runner under moto, whose RunTask records a task and runs nothing.

:class:`FakeFargate` watches the emulated cluster like the ECS agent would: each new
RUNNING task gets its overridden command run, with ``fake_train.py`` standing in for
``mlops``; the output goes line by line to the CloudWatch Logs stream the awslogs driver
would write (``<prefix>/<container>/<task id>``), then the task stops with the exit code.
"""

from __future__ import annotations

import functools
import subprocess
import sys
import threading
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

FAKE_TRAIN = Path(__file__).with_name("fake_train.py")


class OneAtATime:
    """A boto3 client whose calls take one lock shared by every client of the test.

    moto evaluates a condition and writes without a lock and mutates its ECS task tables
    while other threads iterate them; DynamoDB and ECS are atomic per call. Serialising
    the calls gives the job store and runner (and the fake Fargate beside them) a service that is
    atomic per call again, no more: every condition is still evaluated by moto.
    """

    def __init__(self, client: Any, lock: threading.RLock) -> None:
        self._client = client
        self._lock = lock

    def __getattr__(self, name: str) -> Any:
        attribute = getattr(self._client, name)
        if not callable(attribute):
            return attribute

        def call(*args: Any, **kwargs: Any) -> Any:
            with self._lock:
                return attribute(*args, **kwargs)

        return call


@dataclass
class EcsWorld:
    """What the infrastructure creates for training jobs, in moto: a cluster, the training
    task definition (awslogs driver), its log group, private subnets."""

    region: str
    cluster: str = "mlops"
    task_definition: str = "mlops-train"
    container: str = "train"
    log_group: str = "/mlops/train"
    stream_prefix: str = "train"
    subnets: list[str] = field(default_factory=list)
    security_groups: list[str] = field(default_factory=list)
    lock: threading.RLock = field(default_factory=threading.RLock)
    _clients: dict[str, OneAtATime] = field(default_factory=dict)

    @classmethod
    def create(cls, region: str) -> EcsWorld:
        from moto.core import DEFAULT_ACCOUNT_ID
        from moto.ec2.models import ec2_backends

        world = cls(region)
        # The network through moto's EC2 backend: its API costs seconds per test to start,
        # and the network is the stage here, not what is tested. moto gives each awsvpc
        # task a network interface in the first subnet, as Fargate does.
        ec2 = ec2_backends[DEFAULT_ACCOUNT_ID][region]
        vpc = ec2.create_vpc("10.0.0.0/16")
        ec2.modify_vpc_attribute(vpc.id, "enable_dns_hostnames", True)  # moto's ENIs need it
        world.subnets = [ec2.create_subnet(vpc.id, "10.0.1.0/24").id]
        world.security_groups = [ec2.create_security_group("train", "jobs", vpc.id).id]
        ecs = world.client("ecs")
        ecs.create_cluster(clusterName=world.cluster)
        ecs.register_task_definition(
            family=world.task_definition,
            requiresCompatibilities=["FARGATE"],
            networkMode="awsvpc",
            cpu="1024",
            memory="2048",
            containerDefinitions=[
                {
                    "name": world.container,
                    "image": "mlops-app:test",
                    "essential": True,
                    "cpu": 1024,
                    "memory": 2048,  # moto sums container memory even on Fargate
                    "logConfiguration": {
                        "logDriver": "awslogs",
                        "options": {
                            "awslogs-group": world.log_group,
                            "awslogs-region": region,
                            "awslogs-stream-prefix": world.stream_prefix,
                        },
                    },
                }
            ],
        )
        world.client("logs").create_log_group(logGroupName=world.log_group)
        return world

    def client(self, service: str) -> Any:
        """One client per service (boto3 clients are thread-safe), calls serialised."""
        if service not in self._clients:
            client = _session().client(service, region_name=self.region)
            self._clients[service] = OneAtATime(client, self.lock)
        return self._clients[service]

    def runner_arguments(self, **overrides: Any) -> dict[str, Any]:
        """``EcsJobRunner`` keyword arguments for this world, with serialised clients."""
        return {
            "cluster": self.cluster,
            "task_definition": self.task_definition,
            "container": self.container,
            "subnets": self.subnets,
            "security_groups": self.security_groups,
            "ecs": self.client("ecs"),
            "logs": self.client("logs"),
            **overrides,
        }

    def task(self, task_arn: str) -> Any:
        """moto's own record of a task, for what its API cannot set or does not show."""
        from moto.core import DEFAULT_ACCOUNT_ID
        from moto.ecs.models import ecs_backends

        return ecs_backends[DEFAULT_ACCOUNT_ID][self.region].tasks[self.cluster][task_arn]


class FakeFargate:
    """Runs the tasks of an :class:`EcsWorld` cluster until :meth:`stop`.

    Example::

        with FakeFargate(world):
            job = jobs.start(request)   # the task runs fake_train.py, logs, stops
    """

    def __init__(self, world: EcsWorld, poll_seconds: float = 0.02) -> None:
        self.world = world
        self.poll_seconds = poll_seconds
        self._ecs = world.client("ecs")
        self._logs = world.client("logs")
        self._stopping = threading.Event()
        self._seen: set[str] = set()
        self._threads: list[threading.Thread] = []
        self._processes: list[subprocess.Popen[str]] = []
        self._watcher = threading.Thread(target=self._watch, name="fake-fargate", daemon=True)

    def __enter__(self) -> FakeFargate:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def start(self) -> FakeFargate:
        from moto.moto_api import state_manager

        # moto moves a task one lifecycle step towards STOPPED at every DescribeTasks; a
        # real task stays RUNNING until its container exits, and here that is our call.
        state_manager.set_transition("ecs::task", {"progression": "manual", "times": 10**9})
        self._watcher.start()
        return self

    def stop(self) -> None:
        from moto.moto_api import state_manager

        self._stopping.set()
        self._watcher.join()
        for process in self._processes:
            if process.poll() is None:
                process.kill()
        for thread in self._threads:
            thread.join()
        state_manager.unset_transition("ecs::task")

    def _watch(self) -> None:
        while not self._stopping.wait(self.poll_seconds):
            arns = self._ecs.list_tasks(cluster=self.world.cluster, desiredStatus="RUNNING")
            for arn in arns["taskArns"]:
                if arn in self._seen:
                    continue
                self._seen.add(arn)
                task = self._ecs.describe_tasks(cluster=self.world.cluster, tasks=[arn])
                thread = threading.Thread(target=self._run, args=(task["tasks"][0],))
                self._threads.append(thread)
                thread.start()

    def _run(self, task: dict[str, Any]) -> None:
        world = self.world
        arn = task["taskArn"]
        overrides = task.get("overrides", {}).get("containerOverrides", [])
        command = next(o["command"] for o in overrides if o["name"] == world.container)
        assert command[0] == "mlops", command
        stream = f"{world.stream_prefix}/{world.container}/{arn.rsplit('/', 1)[-1]}"
        with world.lock:
            # moto's tasks have no start time; its serializer reads this as startedAt.
            world.task(arn).started_at = datetime.now(UTC)
            self._logs.create_log_stream(logGroupName=world.log_group, logStreamName=stream)
        process = subprocess.Popen(
            [sys.executable, str(FAKE_TRAIN), *command[1:]],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        self._processes.append(process)
        assert process.stdout is not None
        for line in process.stdout:
            event = {"timestamp": _millis(), "message": line.rstrip("\n")}
            self._logs.put_log_events(
                logGroupName=world.log_group, logStreamName=stream, logEvents=[event]
            )
        code = process.wait()
        with world.lock:
            # moto's StopTask takes no exit code and its containers always report 0: set
            # what the ECS agent would report on moto's own objects (the serializer reads
            # ``exitCode`` and ``stopped_at``), then stop the task through the API.
            moto_task = world.task(arn)
            moto_task.containers[0].exitCode = code
            moto_task.stopped_at = datetime.now(UTC)
            self._ecs.stop_task(
                cluster=world.cluster, task=arn, reason="Essential container in task exited"
            )


@functools.cache
def _session() -> Any:
    """One boto3 session for every test: mock_aws resets the default one, and each new
    session parses the service models again (most of a test's set-up time)."""
    import boto3

    return boto3.session.Session()


def _millis() -> int:
    return int(datetime.now(UTC).timestamp() * 1000)
