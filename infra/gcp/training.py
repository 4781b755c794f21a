"""The training job: a Cloud Run v2 job that runs ``mlops train``, started by the app.

Nothing runs until the app's ``CloudRunJobRunner`` asks: it runs the job with
overrides (the container ``args`` of one request, after the ``mlops`` command:
``TrainingJobRequest.command`` in app/domain/jobs.py), follows the execution, and reads
its report and log tail from Cloud Logging.

What the app may do, and why not ``roles/run.developer``: that role could create,
change and delete every Cloud Run service and job of the project (the app could
redeploy itself with another image or service account). ``roles/run.jobsExecutorWithOverrides``
comes closer but its contents are Google's to change. So the app gets a custom role,
bound on this job only (executions inherit the job's policy):

- ``run.jobs.get``, ``run.jobs.run``, ``run.jobs.runWithOverrides`` — start this job;
- ``run.executions.get``, ``run.executions.list`` — follow its executions.

Reading the execution's logs needs ``logging.logEntries.list``, which Cloud Logging grants
on the project (or a log bucket) only, not per job: a second custom role with that one
permission is bound on the project. It reads log entries, not ``_Default`` private logs
(data access audit logs need ``logging.privateLogEntries.list``).

A failed run is not retried (``max_retries`` 0): the job record says why, and the admin
starts another one.

Example::

    training = TrainingJob("training", TrainingJobArgs(project="p", region="europe-west1",
        prefix="mlops-dev", image=images.app_image, service_account=training_email,
        launchers=[app_member], environment=env))
    training.job_name  # MLOPS_GCP_TRAINING_JOB
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import cast

import pulumi
from pulumi_gcp import cloudrunv2, projects

from infra.gcp.cloud_run import VpcEgress, limits, vpc_egress
from infra.gcp.foundation import child_opts, short_id
from infra.gcp.secrets import EnvValue, container_envs
from infra.gcp.sizes import check_size

# The launcher (app/adapters/gcp/cloud_run_jobs.py) overrides the container's args with
# one request's `train ... --report-json -`; the command stays `mlops`.
# --quiet: progress bars are carriage-return redraws, noise in a log stream.
COMMAND = ["mlops"]
DEFAULT_ARGS = ["train", "--with-feedback", "--quiet"]
LAUNCHER_PERMISSIONS = (
    "run.executions.get",
    "run.executions.list",
    "run.jobs.get",
    "run.jobs.run",
    "run.jobs.runWithOverrides",
)
LOG_READER_PERMISSIONS = ("logging.logEntries.list",)


@dataclass
class TrainingJobArgs:
    project: str
    region: str
    # Stack-unique prefix of the custom role ids (project-wide).
    prefix: str
    image: pulumi.Input[str]
    # Email of the account training runs as.
    service_account: pulumi.Input[str]
    environment: Mapping[str, EnvValue] = field(default_factory=dict)
    # Members that may start the job and read its executions and logs (the app).
    launchers: Sequence[pulumi.Input[str]] = ()
    egress: VpcEgress | None = None
    cpu: int = 2
    memory_mib: int = 8192
    timeout_minutes: int = 60
    deletion_protection: bool = True
    labels: dict[str, str] = field(default_factory=dict)
    depends_on: Sequence[pulumi.Resource] = ()

    def __post_init__(self) -> None:
        problem = check_size(self.cpu, self.memory_mib, "training job")
        if problem:
            raise ValueError(problem)
        if not 1 <= self.timeout_minutes <= 24 * 60:
            raise ValueError("timeout_minutes must be 1-1440 (Cloud Run jobs run 24 h at most).")


class TrainingJob(pulumi.ComponentResource):
    job_name: pulumi.Output[str]
    launcher_role: pulumi.Output[str]

    def __init__(
        self, name: str, args: TrainingJobArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("mlops:gcp:TrainingJob", name, None, opts)
        child = child_opts(self, opts)
        job = cloudrunv2.Job(
            f"{name}-job",
            project=args.project,
            location=args.region,
            deletion_protection=args.deletion_protection,
            template=_job_template(args),
            labels=args.labels,
            opts=child.merge(pulumi.ResourceOptions(depends_on=list(args.depends_on))),
        )
        launcher = projects.IAMCustomRole(
            f"{name}-launcher-role",
            project=args.project,
            role_id=short_id(args.prefix, "training_launcher", limit=64, sep="_"),
            title=f"{args.prefix} training launcher",
            description="Start the training job with overrides and follow its executions.",
            permissions=list(LAUNCHER_PERMISSIONS),
            stage="GA",
            opts=child,
        )
        log_reader = projects.IAMCustomRole(
            f"{name}-log-reader-role",
            project=args.project,
            role_id=short_id(args.prefix, "job_log_reader", limit=64, sep="_"),
            title=f"{args.prefix} job log reader",
            description="Read log entries (training job log tails).",
            permissions=list(LOG_READER_PERMISSIONS),
            stage="GA",
            opts=child,
        )
        for index, member in enumerate(args.launchers):
            cloudrunv2.JobIamMember(
                f"{name}-launcher-{index}",
                project=args.project,
                location=args.region,
                name=job.name,
                role=_role_name(args.project, launcher),
                member=member,
                opts=child,
            )
            projects.IAMMember(
                f"{name}-log-reader-{index}",
                project=args.project,
                role=_role_name(args.project, log_reader),
                member=member,
                opts=child,
            )
        self.job_name = job.name
        self.launcher_role = _role_name(args.project, launcher)
        self.register_outputs({"job_name": self.job_name, "launcher_role": self.launcher_role})


def _job_template(args: TrainingJobArgs) -> cloudrunv2.JobTemplateArgsDict:
    """One task, no retries (a failed run is reported, not repeated), the trainer's command."""
    # The job's env and VPC types have the service's shape (the helpers return those).
    vpc_access = cast(
        cloudrunv2.JobTemplateTemplateVpcAccessArgsDict | None, vpc_egress(args.egress)
    )
    envs = cast(
        list[cloudrunv2.JobTemplateTemplateContainerEnvArgsDict],
        container_envs(args.environment),
    )
    return {
        "task_count": 1,
        "parallelism": 1,
        "template": {
            "service_account": args.service_account,
            "max_retries": 0,
            "timeout": f"{args.timeout_minutes * 60}s",
            "vpc_access": vpc_access,
            "containers": [
                {
                    "image": args.image,
                    "commands": COMMAND,
                    "args": DEFAULT_ARGS,
                    "resources": {"limits": limits(args.cpu, args.memory_mib)},
                    "envs": envs,
                }
            ],
        },
    }


def _role_name(project: str, role: projects.IAMCustomRole) -> pulumi.Output[str]:
    """``projects/<project>/roles/<id>``, the name bindings use."""
    return pulumi.Output.concat("projects/", project, "/roles/", role.role_id)
