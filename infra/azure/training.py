"""The training job: a Container Apps Job (manual trigger) the app starts.

Nothing runs until the app's ``ContainerAppsJobRunner`` starts an execution (it may
replace the command with the ``mlops train ... --report-json -`` argv of the request);
``MLOPS_AZURE_TRAINING_JOB`` names the job. The job runs as the training identity.

The app may start it through a custom role holding only ``jobs/start/action`` and reads
of the job and its executions, assigned on the job itself. A custom role is defined at a
resource group (Azure's narrowest assignable scope for a role *definition*); the
*assignment* is on the job. The app reads execution logs (the job's report) from Log
Analytics with "Log Analytics Reader" on the workspace.

Example::

    training = TrainingJob("training", TrainingJobArgs(resource_group_name=rg,
        location=loc, environment_id=apps.environment_id, identity=ids["training"],
        registry_server=images.login_server, image=images.app_image, environment=env,
        subscription_id=sub, starter_principal_id=ids["app"].principal_id,
        workspace_id=base.workspace_id))
    training.job_name
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import pulumi
from pulumi_azure_native import app as containerapps
from pulumi_azure_native import authorization

from infra.azure.foundation import Identity
from infra.azure.roles import LOG_ANALYTICS_READER, assign_role
from infra.azure.sizes import check_size
from infra.azure.workloads import Environment, container_workload

CONTAINER_NAME = "train"
COMMAND = ["mlops", "train", "--with-feedback", "--quiet"]
START_ACTIONS = (
    "Microsoft.App/jobs/read",
    "Microsoft.App/jobs/start/action",
    "Microsoft.App/jobs/*/read",  # executions and their status
)


@dataclass
class TrainingJobArgs:
    resource_group_name: pulumi.Input[str]
    location: pulumi.Input[str]
    environment_id: pulumi.Input[str]
    identity: Identity
    registry_server: pulumi.Input[str]
    image: pulumi.Input[str]
    environment: Environment
    subscription_id: pulumi.Input[str]
    # Who may start executions and read their logs (the app).
    starter_principal_id: pulumi.Input[str]
    workspace_id: pulumi.Input[str]
    cpu: float = 2.0
    memory: str = "4Gi"
    timeout_minutes: int = 120
    # Created after these (the identity's AcrPull grant).
    depends_on: Sequence[pulumi.Resource] = ()
    tags: dict[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        check_size(self.cpu, self.memory, "training job")
        if not 5 <= self.timeout_minutes <= 1440:
            raise ValueError("timeout_minutes must be from 5 to 1440")


class TrainingJob(pulumi.ComponentResource):
    job_id: pulumi.Output[str]
    job_name: pulumi.Output[str]

    def __init__(
        self, name: str, args: TrainingJobArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("mlops:azure:TrainingJob", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        run = container_workload(
            args.identity, args.registry_server, args.environment, args.depends_on
        )
        job = containerapps.Job(
            f"{name}-job",
            resource_group_name=args.resource_group_name,
            location=args.location,
            environment_id=args.environment_id,
            identity=run.identity,
            configuration=containerapps.JobConfigurationArgs(
                trigger_type=containerapps.TriggerType.MANUAL,
                manual_trigger_config=containerapps.JobConfigurationManualTriggerConfigArgs(
                    parallelism=1, replica_completion_count=1
                ),
                replica_timeout=args.timeout_minutes * 60,
                # A failed run is reported to the app, which decides; no silent retries.
                replica_retry_limit=0,
                registries=run.registries,
                secrets=run.secrets,
            ),
            template=containerapps.JobTemplateArgs(
                containers=[
                    containerapps.ContainerArgs(
                        name=CONTAINER_NAME,
                        image=args.image,
                        command=COMMAND,
                        resources=containerapps.ContainerResourcesArgs(
                            cpu=args.cpu, memory=args.memory
                        ),
                        env=run.env,
                    )
                ]
            ),
            tags=args.tags,
            opts=pulumi.ResourceOptions(parent=self, depends_on=run.depends_on),
        )
        group_id = pulumi.Output.concat(
            "/subscriptions/", args.subscription_id, "/resourceGroups/", args.resource_group_name
        )
        starter = authorization.RoleDefinition(
            f"{name}-starter-role",
            role_name=pulumi.Output.concat("mlops training starter ", job.name),
            description="Start the mlops training job and read its executions.",
            role_type="CustomRole",
            scope=group_id,
            assignable_scopes=[group_id],
            permissions=[{"actions": list(START_ACTIONS)}],
            opts=child,
        )
        assign_role(
            f"{name}-starter",
            role="",
            definition_id=starter.id,
            scope=job.id,
            principal_id=args.starter_principal_id,
            subscription_id=args.subscription_id,
            opts=child,
        )
        assign_role(
            f"{name}-log-reader",
            role=LOG_ANALYTICS_READER,
            scope=args.workspace_id,
            principal_id=args.starter_principal_id,
            subscription_id=args.subscription_id,
            opts=child,
        )
        self.job_id = job.id
        self.job_name = job.name
        self.register_outputs({"job_id": self.job_id, "job_name": self.job_name})
