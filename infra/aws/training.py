"""The training job: a Fargate task definition the app starts with ECS RunTask.

Nothing runs until the app's ``EcsJobRunner`` asks; it needs the family, the container
name, the subnets and the security group (``MLOPS_AWS_TRAINING_*``), all outputs here.
The app's role must also be allowed ``ecs:RunTask`` on the family and ``iam:PassRole``
on both roles below.

Example::

    training = TrainingJob("training", TrainingJobArgs(
        image=app_image, vpc_id=net.vpc_id, private_subnet_ids=net.private_subnet_ids,
        uploads_bucket_arn=docs.uploads_bucket_arn,
        artifacts_bucket_name=docs.artifacts_bucket_name,
        artifacts_bucket_arn=docs.artifacts_bucket_arn,
        table_name=docs.table_name, table_arn=docs.table_arn,
        environment={"MLOPS_MLFLOW_TRACKING_URI": registry.tracking_uri},
    ))
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import pulumi
from pulumi_aws import cloudwatch, ec2, ecs, get_region_output, iam

from infra.aws.documents import DYNAMODB_ITEM_ACTIONS
from infra.aws.ecs_tasks import ECS_TASKS_SERVICE, awslogs, execution_role_policy
from infra.aws.fargate_sizes import check_fargate_size
from infra.aws.iam import Statement, policy_document, workload_role

CONTAINER_NAME = "train"
# --quiet: progress bars are carriage-return redraws, noise in a log stream.
COMMAND = ["mlops", "train", "--with-feedback", "--quiet"]


@dataclass
class TrainingJobArgs:
    image: pulumi.Input[str]
    vpc_id: pulumi.Input[str]
    private_subnet_ids: pulumi.Input[Sequence[pulumi.Input[str]]]
    # Named in the environment (settings require it with MLOPS_CLOUD=aws) but not
    # granted: training reads feedback texts from the table, never the uploaded files.
    uploads_bucket_arn: pulumi.Input[str] | None
    # The MLflow server names the artifact root; the job only needs the bucket's ARN.
    artifacts_bucket_name: pulumi.Input[str]
    artifacts_bucket_arn: pulumi.Input[str]
    table_name: pulumi.Input[str]
    table_arn: pulumi.Input[str]
    environment: dict[str, pulumi.Input[str]] = field(default_factory=dict)
    log_retention_days: int = 30
    cpu: int = 2048
    memory: int = 4096
    ephemeral_storage_gib: int = 21
    tags: dict[str, str] | None = None

    def __post_init__(self) -> None:
        check_fargate_size(self.cpu, self.memory)
        if not 21 <= self.ephemeral_storage_gib <= 200:
            raise ValueError("ephemeral_storage_gib must be 21-200 (Fargate).")


class TrainingJob(pulumi.ComponentResource):
    task_definition_arn: pulumi.Output[str]
    family: pulumi.Output[str]
    container_name: str
    task_role_arn: pulumi.Output[str]
    execution_role_arn: pulumi.Output[str]
    security_group_id: pulumi.Output[str]

    def __init__(
        self, name: str, args: TrainingJobArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("mlops:aws:TrainingJob", name, None, opts)
        self._name = name
        self._args = args
        self._child = pulumi.ResourceOptions(parent=self)

        log_group = cloudwatch.LogGroup(
            f"{name}-logs",
            retention_in_days=args.log_retention_days,
            tags=args.tags,
            opts=self._child,
        )
        execution_role = self._build_execution_role(log_group)
        task_role = self._build_task_role()
        security_group = ec2.SecurityGroup(
            f"{name}-sg",
            vpc_id=args.vpc_id,
            description="Training job: no inbound; out to AWS APIs and MLflow",
            egress=[
                ec2.SecurityGroupEgressArgs(
                    protocol="-1", from_port=0, to_port=0, cidr_blocks=["0.0.0.0/0"]
                )
            ],
            tags=args.tags,
            opts=self._child,
        )
        task_definition = self._build_task_definition(log_group, execution_role, task_role)

        self.task_definition_arn = task_definition.arn
        self.family = task_definition.family
        self.container_name = CONTAINER_NAME
        self.task_role_arn = task_role.arn
        self.execution_role_arn = execution_role.arn
        self.security_group_id = security_group.id
        self.register_outputs(
            {
                "task_definition_arn": self.task_definition_arn,
                "family": self.family,
                "container_name": self.container_name,
                "task_role_arn": self.task_role_arn,
                "execution_role_arn": self.execution_role_arn,
                "security_group_id": self.security_group_id,
            }
        )

    def _build_execution_role(self, log_group: cloudwatch.LogGroup) -> iam.Role:
        role, _ = workload_role(
            f"{self._name}-execution",
            service=ECS_TASKS_SERVICE,
            policy=execution_role_policy(self._args.image, log_group.arn),
            tags=self._args.tags,
            opts=self._child,
        )
        return role

    def _build_task_role(self) -> iam.Role:
        args = self._args
        role, _ = workload_role(
            f"{self._name}-task",
            service=ECS_TASKS_SERVICE,
            policy=policy_document(
                [
                    # MLflow clients write run artifacts and models straight to the store.
                    Statement(
                        actions=["s3:AbortMultipartUpload", "s3:GetObject", "s3:PutObject"],
                        resources=[pulumi.Output.concat(args.artifacts_bucket_arn, "/*")],
                    ),
                    Statement(actions=["s3:ListBucket"], resources=[args.artifacts_bucket_arn]),
                    # Feedback texts in, the job's own record updated.
                    Statement(
                        actions=DYNAMODB_ITEM_ACTIONS,
                        resources=[
                            args.table_arn,
                            pulumi.Output.concat(args.table_arn, "/index/*"),
                        ],
                    ),
                ]
            ),
            tags=args.tags,
            opts=self._child,
        )
        return role

    def _build_task_definition(
        self, log_group: cloudwatch.LogGroup, execution_role: iam.Role, task_role: iam.Role
    ) -> ecs.TaskDefinition:
        args = self._args
        region = get_region_output(opts=pulumi.InvokeOptions(parent=self)).region
        environment = {
            "MLOPS_CLOUD": "aws",
            "MLOPS_RECORDS_TABLE": args.table_name,
            "MLOPS_TRAIN_ON_EMPTY_REGISTRY": "false",
        }
        if args.uploads_bucket_arn is not None:
            environment["MLOPS_UPLOADS_BUCKET"] = pulumi.Output.from_input(
                args.uploads_bucket_arn
            ).apply(_bucket_name)
        environment.update(args.environment)
        container = {
            "name": CONTAINER_NAME,
            "image": args.image,
            "essential": True,
            "command": COMMAND,
            "environment": [{"name": k, "value": v} for k, v in sorted(environment.items())],
            "logConfiguration": awslogs(log_group.name, region, CONTAINER_NAME),
        }
        return ecs.TaskDefinition(
            self._name,
            # Task definition families are account- and region-wide, and the app runs the
            # family's latest revision: a bare "training" would be shared by every stack
            # of the account (one stack would start another's job, with its roles).
            family=f"{pulumi.get_project()}-{pulumi.get_stack()}-{self._name}",
            cpu=str(args.cpu),
            memory=str(args.memory),
            network_mode="awsvpc",
            requires_compatibilities=["FARGATE"],
            runtime_platform=ecs.TaskDefinitionRuntimePlatformArgs(
                operating_system_family="LINUX", cpu_architecture="X86_64"
            ),
            ephemeral_storage=(
                ecs.TaskDefinitionEphemeralStorageArgs(size_in_gib=args.ephemeral_storage_gib)
                if args.ephemeral_storage_gib > 21
                else None
            ),
            execution_role_arn=execution_role.arn,
            task_role_arn=task_role.arn,
            container_definitions=pulumi.Output.json_dumps([container]),
            tags=args.tags,
            opts=self._child,
        )


def _bucket_name(arn: str) -> str:
    """``arn:aws:s3:::name`` -> ``name``."""
    return arn.rsplit(":", 1)[-1]
