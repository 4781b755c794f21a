"""Cloud Run jobs and Cloud Logging for the Cloud Run job runner, faked at the SDK boundary.

No emulator exists for either. :class:`CloudRunWorld` holds what the infrastructure
creates (one job whose container runs ``mlops``) and what runs on it:

- ``jobs_client()``: ``run_job(request=RunJobRequest(...))`` checks the job path and the
  overrides (arguments only, as Cloud Run allows), creates an execution and really runs
  the container's command with the overridden arguments, ``tests/ports/fake_train.py``
  standing in for ``mlops``. It returns an operation whose ``metadata`` is the
  execution, as the real ``Operation`` does;
- ``executions_client()``: ``get_execution(name=...)`` returns the execution as it is
  now (``start_time``, ``completion_time``, ``succeeded_count``/``failed_count``, the
  ``Completed`` condition with Cloud Run's message), ``NotFound`` for an unknown one;
- ``logging_client()``: ``list_entries(...)`` serves what the container printed, as the
  real library's ``TextEntry``/``StructEntry`` (a JSON object line becomes a
  ``jsonPayload``, as Cloud Run does), plus Cloud Run's ``Container called exit(N).``
  system line. It understands exactly the filter clauses the runner sends and raises
  on any other.

Clients of one world take one lock per call, so they are atomic per call like the
services. ``fail_next_run`` makes the next ``run_job`` raise; ``forget`` deletes an
execution.
"""

from __future__ import annotations

import json
import random
import re
import string
import subprocess
import sys
import threading
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

FAKE_TRAIN = Path(__file__).parents[2] / "ports" / "fake_train.py"
_CLAUSE = re.compile(r'^(?P<field>[\w."/-]+) (?P<op>=|>=) "(?P<value>[^"]*)"$')


@dataclass
class FakeOperation:
    """What ``JobsClient.run_job`` returns: a long-running operation on an execution."""

    metadata: Any
    name: str


@dataclass
class CloudRunWorld:
    project: str = "test-project"
    region: str = "europe-west1"
    job: str = "mlops-train"
    command: tuple[str, ...] = ("mlops",)  # the job container's command (the image's)
    queue_seconds: float = 0.05  # between RunJob and the container starting
    fail_next_run: Exception | None = None
    lock: threading.RLock = field(default_factory=threading.RLock)
    executions: dict[str, Any] = field(default_factory=dict)
    requests: list[Any] = field(default_factory=list)  # every RunJobRequest received
    entries: list[Any] = field(default_factory=list)
    _threads: list[threading.Thread] = field(default_factory=list)
    _processes: list[subprocess.Popen[str]] = field(default_factory=list)
    _stopping: threading.Event = field(default_factory=threading.Event)

    @property
    def job_path(self) -> str:
        return f"projects/{self.project}/locations/{self.region}/jobs/{self.job}"

    def runner_arguments(self, **overrides: Any) -> dict[str, Any]:
        return {
            "project": self.project,
            "region": self.region,
            "job": self.job,
            "jobs_client": FakeJobsClient(self),
            "executions_client": FakeExecutionsClient(self),
            "logging_client": FakeLoggingClient(self),
            **overrides,
        }

    def forget(self, name: str) -> None:
        with self.lock:
            del self.executions[name]

    def stop(self) -> None:
        self._stopping.set()
        for process in list(self._processes):
            if process.poll() is None:
                process.kill()
        for thread in list(self._threads):
            thread.join()

    # -- an execution's life

    def run(self, args: list[str]) -> Any:
        from google.cloud import run_v2

        suffix = "".join(random.choices(string.ascii_lowercase + string.digits, k=5))
        name = f"{self.job_path}/executions/{self.job}-{suffix}"
        execution = run_v2.Execution(
            name=name,
            job=self.job,
            create_time=datetime.now(UTC),
            task_count=1,
            parallelism=1,
        )
        self.executions[name] = execution
        thread = threading.Thread(target=self._run, args=(name, args), daemon=True)
        self._threads.append(thread)
        thread.start()
        return run_v2.Execution(execution)

    def _run(self, name: str, args: list[str]) -> None:
        from google.cloud import run_v2

        if self._stopping.wait(self.queue_seconds):
            return
        assert self.command == ("mlops",), self.command
        with self.lock:
            self.executions[name].start_time = datetime.now(UTC)
            self.executions[name].running_count = 1
        process = subprocess.Popen(
            [sys.executable, str(FAKE_TRAIN), *args],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        self._processes.append(process)
        assert process.stdout is not None
        for line in process.stdout:
            self._log(name, line.rstrip("\n"), "stdout")
        code = process.wait()
        self._log(name, f"Container called exit({code}).", "varlog/system")
        with self.lock:
            execution = self.executions.get(name)
            if execution is None:
                return
            execution.running_count = 0
            execution.completion_time = datetime.now(UTC)
            task = f"{name.rsplit('/', 1)[-1]}-task0"
            completed = run_v2.Condition(type_="Completed", last_transition_time=datetime.now(UTC))
            if code == 0:
                execution.succeeded_count = 1
                completed.state = run_v2.Condition.State.CONDITION_SUCCEEDED
                completed.message = "Execution completed successfully in 1s."
            else:
                execution.failed_count = 1
                completed.state = run_v2.Condition.State.CONDITION_FAILED
                completed.execution_reason = run_v2.Condition.ExecutionReason.NON_ZERO_EXIT_CODE
                completed.message = (
                    f"Task {task} failed with message: The container exited with an error."
                )
            execution.conditions.append(completed)

    def _log(self, name: str, line: str, log: str) -> None:
        from google.cloud.logging_v2.entries import StructEntry, TextEntry
        from google.cloud.logging_v2.resource import Resource

        fields: dict[str, Any] = {
            "log_name": f"projects/{self.project}/logs/"
            + f"run.googleapis.com/{log}".replace("/", "%2F"),
            "labels": {
                "run.googleapis.com/execution_name": name.rsplit("/", 1)[-1],
                "run.googleapis.com/task_index": "0",
                "run.googleapis.com/task_attempt": "0",
            },
            "timestamp": datetime.now(UTC),
            "resource": Resource(
                type="cloud_run_job",
                labels={"job_name": self.job, "location": self.region, "project_id": self.project},
            ),
        }
        try:
            parsed = json.loads(line)
        except ValueError:
            parsed = None
        with self.lock:
            if isinstance(parsed, dict):  # Cloud Run's structured logging
                self.entries.append(StructEntry(payload=parsed, **fields))
            else:
                self.entries.append(TextEntry(payload=line, **fields))


class FakeJobsClient:
    def __init__(self, world: CloudRunWorld) -> None:
        self.world = world

    def run_job(self, request: Any = None, **kwargs: Any) -> FakeOperation:
        from google.api_core.exceptions import NotFound
        from google.cloud import run_v2

        if kwargs or not isinstance(request, run_v2.RunJobRequest):
            raise TypeError(f"the fake takes run_job(request=RunJobRequest(...)), not {kwargs}")
        world = self.world
        with world.lock:
            world.requests.append(request)
            if world.fail_next_run is not None:
                error, world.fail_next_run = world.fail_next_run, None
                raise error
            if request.name != world.job_path:
                raise NotFound(f"Resource '{request.name}' of kind 'JOB' was not found.")
            overrides = list(request.overrides.container_overrides)
            if len(overrides) != 1 or overrides[0].env or overrides[0].clear_args:
                raise ValueError(f"the fake runs one container with new arguments: {overrides}")
            execution = world.run(list(overrides[0].args))
            return FakeOperation(metadata=execution, name=f"{execution.name}/operations/run")


class FakeExecutionsClient:
    def __init__(self, world: CloudRunWorld) -> None:
        self.world = world

    def get_execution(self, request: Any = None, *, name: str | None = None) -> Any:
        from google.api_core.exceptions import NotFound
        from google.cloud import run_v2

        if request is not None or name is None:
            raise TypeError("the fake takes get_execution(name=...)")
        with self.world.lock:
            execution = self.world.executions.get(name)
            if execution is None:
                raise NotFound(f"Resource '{name}' of kind 'EXECUTION' was not found.")
            return run_v2.Execution(execution)  # a copy, as a new answer would be


class FakeLoggingClient:
    def __init__(self, world: CloudRunWorld) -> None:
        self.world = world

    def list_entries(
        self,
        *,
        resource_names: list[str],
        filter_: str,
        order_by: str,
        max_results: int,
        page_size: int | None = None,
    ) -> list[Any]:
        from google.cloud import logging_v2

        world = self.world
        if resource_names != [f"projects/{world.project}"]:
            raise ValueError(f"the fake serves projects/{world.project} only: {resource_names}")
        if order_by not in (logging_v2.ASCENDING, logging_v2.DESCENDING):
            raise ValueError(f"unknown order_by {order_by!r}")
        checks = [_clause(line) for line in filter_.strip().split("\n")]
        with world.lock:
            found = [e for e in world.entries if all(check(e) for check in checks)]
        found.sort(key=lambda e: e.timestamp, reverse=order_by == logging_v2.DESCENDING)
        return found[:max_results]


def _clause(text: str) -> Any:
    """A predicate for one filter clause the runner sends; anything else is refused."""
    match = _CLAUSE.match(text.strip())
    if match is None:
        raise ValueError(f"the fake does not understand the filter clause {text!r}")
    name, op, value = match["field"], match["op"], match["value"]
    if op == ">=":
        if name != "timestamp":
            raise ValueError(f"the fake compares only timestamps: {text!r}")
        since = datetime.fromisoformat(value.replace("Z", "+00:00"))
        return lambda e: e.timestamp >= since
    getters = {
        "resource.type": lambda e: e.resource.type,
        "resource.labels.job_name": lambda e: e.resource.labels.get("job_name"),
        "resource.labels.location": lambda e: e.resource.labels.get("location"),
        'labels."run.googleapis.com/execution_name"': lambda e: (e.labels or {}).get(
            "run.googleapis.com/execution_name"
        ),
    }
    if name not in getters:
        raise ValueError(f"the fake does not filter on {name!r}")
    get = getters[name]
    return lambda e: get(e) == value
