"""The app's compute: a Fargate service behind an internal NLB, or a container Lambda.

Two components, because the model registry sits between them: ``AppNetworking`` makes
the app's security group and the internal NLB, which the MLflow server admits and
listens on; ``AppService`` then runs the app, which needs MLflow's address.

Example::

    edge = AppNetworking("app", AppNetworkingArgs(vpc_id, cidr, subnets, serve_app=True))
    app = AppService("app", AppServiceArgs(
        compute="fargate", security_group_id=edge.app_security_group_id,
        load_balancer_arn=edge.load_balancer_arn, ...))
    app.app_listener_arn  # what the HTTP API's VPC link integration targets
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import pulumi
from pulumi_aws import appautoscaling, cloudwatch, ec2, ecs, get_region_output, iam, lambda_, lb
from pulumi_aws import vpc as vpc_rules

from infra.aws.choices import COMPUTE_MODES
from infra.aws.documents import DYNAMODB_ITEM_ACTIONS, LAMBDA_VPC_ACTIONS
from infra.aws.ecs_tasks import ECS_TASKS_SERVICE, awslogs, execution_role_policy, log_writing
from infra.aws.fargate_sizes import validate_fargate_size
from infra.aws.iam import Statement, assume_role_policy, policy_document

APP_PORT = 8000
APP_LISTENER_PORT = 80
MLFLOW_PORT = 5000
CONTAINER_NAME = "app"
LAMBDA_ALIAS = "live"
LAMBDA_DATA_DIR = "/tmp/mlops"
LAMBDA_ENTRY_POINT = ["python", "-m", "awslambdaric"]
LAMBDA_HANDLER = "app.lambda_handler.handler"
# /health answers 503 until a champion is loaded, and in the cloud the first model is
# trained by a job started through this very API: 503 is alive, not broken.
HEALTHY_CODES = "200,503"
_HEALTH_PROBE = (
    "import http.client as h, sys; c = h.HTTPConnection('127.0.0.1', 8000, timeout=4); "
    "c.request('GET', '/health'); sys.exit(c.getresponse().status not in (200, 503))"
)


def app_environment(
    *,
    uploads_bucket: pulumi.Input[str],
    records_table: pulumi.Input[str],
    tracking_uri: pulumi.Input[str],
    auth_issuer: pulumi.Input[str],
    auth_audience: pulumi.Input[str],
    cluster_arn: pulumi.Input[str],
    training_family: pulumi.Input[str],
    training_container: pulumi.Input[str],
    training_subnet_ids: pulumi.Input[Sequence[str]],
    training_security_group_ids: pulumi.Input[Sequence[str]],
) -> dict[str, pulumi.Input[str]]:
    """The settings every app process reads in the cloud (``MLOPS_*``, see app/settings.py)."""

    def joined(ids: pulumi.Input[Sequence[str]]) -> pulumi.Output[str]:
        return pulumi.Output.from_input(ids).apply(lambda values: ",".join(values))

    return {
        "MLOPS_CLOUD": "aws",
        "MLOPS_UPLOADS_BUCKET": uploads_bucket,
        "MLOPS_RECORDS_TABLE": records_table,
        "MLOPS_MLFLOW_TRACKING_URI": tracking_uri,
        "MLOPS_AUTH_ISSUER": auth_issuer,
        "MLOPS_AUTH_AUDIENCE": auth_audience,
        "MLOPS_AWS_ECS_CLUSTER": cluster_arn,
        "MLOPS_AWS_TRAINING_TASK_DEFINITION": training_family,
        "MLOPS_AWS_TRAINING_CONTAINER": training_container,
        "MLOPS_AWS_TRAINING_SUBNETS": joined(training_subnet_ids),
        "MLOPS_AWS_TRAINING_SECURITY_GROUPS": joined(training_security_group_ids),
        # Training is a job in the cloud, never a side effect of an empty registry.
        "MLOPS_TRAIN_ON_EMPTY_REGISTRY": "false",
    }


def _task_definition_any_revision(arn: str) -> str:
    """``...:task-definition/family:3`` -> ``...:task-definition/family:*``: RunTask by family."""
    match = re.fullmatch(r"(arn:[^:]+:ecs:[^:]+:\d+:task-definition/[\w-]+):\d+", arn)
    if match is None:
        raise ValueError(f"not an ECS task definition ARN: {arn}")
    return f"{match[1]}:*"


def _cluster_tasks(cluster_arn: str) -> str:
    """``...:cluster/name`` -> ``...:task/name/*``: the tasks of that cluster only."""
    match = re.fullmatch(r"(arn:[^:]+:ecs:[^:]+:\d+:)cluster/([\w-]+)", cluster_arn)
    if match is None:
        raise ValueError(f"not an ECS cluster ARN: {cluster_arn}")
    return f"{match[1]}task/{match[2]}/*"


def _log_streams(cluster_arn: str, log_group: str) -> str:
    """The streams of ``log_group``, in the cluster's account and region."""
    match = re.fullmatch(r"arn:([^:]+):ecs:([^:]+):(\d+):cluster/[\w-]+", cluster_arn)
    if match is None:
        raise ValueError(f"not an ECS cluster ARN: {cluster_arn}")
    partition, region, account = match.groups()
    return f"arn:{partition}:logs:{region}:{account}:log-group:{log_group}:log-stream:*"


# ---------------------------------------------------------------------------------------
# Security groups and the internal load balancer.


@dataclass
class AppNetworkingArgs:
    vpc_id: pulumi.Input[str]
    vpc_cidr: str
    private_subnet_ids: pulumi.Input[Sequence[str]]
    # The app behind the NLB (compute=fargate) and/or MLflow behind it (when created).
    serve_app: bool = True
    serve_mlflow: bool = False
    tags: dict[str, str] = field(default_factory=dict)


class AppNetworking(pulumi.ComponentResource):
    app_security_group_id: pulumi.Output[str]
    load_balancer_security_group_id: pulumi.Output[str] | None
    load_balancer_arn: pulumi.Output[str] | None

    def __init__(
        self, name: str, args: AppNetworkingArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("mlops:aws:AppNetworking", name, None, opts)
        self._name = name
        self._args = args
        self._child = pulumi.ResourceOptions(parent=self)

        app_sg = ec2.SecurityGroup(
            f"{name}-app-sg",
            vpc_id=args.vpc_id,
            # EC2 refuses an apostrophe (or any character outside a-zA-Z0-9 ._-:/()#,@[]+=&;{}!$*).
            description="The app tasks or functions",
            tags=args.tags,
            opts=self._child,
        )
        vpc_rules.SecurityGroupEgressRule(
            f"{name}-app-egress",
            security_group_id=app_sg.id,
            ip_protocol="-1",
            cidr_ipv4="0.0.0.0/0",
            description="AWS APIs through the NAT, MLflow, the Cognito JWKS",
            opts=self._child,
        )
        self.app_security_group_id = app_sg.id
        self.load_balancer_security_group_id = None
        self.load_balancer_arn = None
        if args.serve_app or args.serve_mlflow:
            self._build_load_balancer(app_sg)
        self.register_outputs(
            {
                "app_security_group_id": self.app_security_group_id,
                "load_balancer_arn": self.load_balancer_arn,
            }
        )

    def _build_load_balancer(self, app_sg: ec2.SecurityGroup) -> None:
        name, args = self._name, self._args
        ports = ([(APP_LISTENER_PORT, APP_PORT)] if args.serve_app else []) + (
            [(MLFLOW_PORT, MLFLOW_PORT)] if args.serve_mlflow else []
        )
        nlb_sg = ec2.SecurityGroup(
            f"{name}-nlb-sg",
            vpc_id=args.vpc_id,
            description="Internal NLB: reached by the API VPC link inside the VPC",
            tags=args.tags,
            opts=self._child,
        )
        for listener_port, target_port in ports:
            vpc_rules.SecurityGroupIngressRule(
                f"{name}-nlb-in-{listener_port}",
                security_group_id=nlb_sg.id,
                ip_protocol="tcp",
                from_port=listener_port,
                to_port=listener_port,
                cidr_ipv4=args.vpc_cidr,
                description="VPC link ENIs in the private subnets",
                opts=self._child,
            )
            vpc_rules.SecurityGroupEgressRule(
                f"{name}-nlb-out-{target_port}",
                security_group_id=nlb_sg.id,
                ip_protocol="tcp",
                from_port=target_port,
                to_port=target_port,
                cidr_ipv4=args.vpc_cidr,
                description="Targets in the private subnets",
                opts=self._child,
            )
        if args.serve_app:
            vpc_rules.SecurityGroupIngressRule(
                f"{name}-app-in",
                security_group_id=app_sg.id,
                ip_protocol="tcp",
                from_port=APP_PORT,
                to_port=APP_PORT,
                referenced_security_group_id=nlb_sg.id,
                description="Only the internal NLB reaches the app",
                opts=self._child,
            )
        balancer = lb.LoadBalancer(
            f"{name}-nlb",
            internal=True,
            load_balancer_type="network",
            subnets=args.private_subnet_ids,
            security_groups=[nlb_sg.id],
            enable_cross_zone_load_balancing=True,
            tags=args.tags,
            opts=self._child,
        )
        self.load_balancer_security_group_id = nlb_sg.id
        self.load_balancer_arn = balancer.arn


# ---------------------------------------------------------------------------------------
# The app itself.


@dataclass
class AppServiceArgs:
    compute: str
    image: pulumi.Input[str]
    vpc_id: pulumi.Input[str]
    private_subnet_ids: pulumi.Input[Sequence[str]]
    security_group_id: pulumi.Input[str]
    cluster_arn: pulumi.Input[str]
    cluster_name: pulumi.Input[str]
    environment: Mapping[str, pulumi.Input[str]]
    uploads_bucket_arn: pulumi.Input[str]
    artifacts_bucket_arn: pulumi.Input[str]
    table_arn: pulumi.Input[str]
    training_task_definition_arn: pulumi.Input[str]
    training_task_role_arn: pulumi.Input[str]
    training_execution_role_arn: pulumi.Input[str]
    # The training container's awslogs group (a name; may end in ``*``): the launcher reads
    # the job's report from it.
    training_log_group: pulumi.Input[str]
    # The internal NLB of AppNetworking; compute=fargate puts the app's listener on it.
    load_balancer_arn: pulumi.Input[str] | None = None
    log_retention_days: int = 30
    # compute=fargate
    cpu: int = 512
    memory: int = 1024
    min_count: int = 1
    max_count: int = 4
    cpu_target_percent: int = 60
    # compute=lambda
    lambda_memory: int = 2048
    lambda_timeout: int = 30
    reserved_concurrency: int = -1
    provisioned_concurrency: int = 0
    tags: dict[str, str] = field(default_factory=dict)


class AppService(pulumi.ComponentResource):
    role_arn: pulumi.Output[str]
    # compute=fargate: what the HTTP API's VPC link integration targets.
    app_listener_arn: pulumi.Output[str] | None
    service_name: pulumi.Output[str] | None
    # compute=lambda: API Gateway invokes the alias, where provisioned concurrency lives.
    function_name: pulumi.Output[str] | None
    function_invoke_arn: pulumi.Output[str] | None

    def __init__(
        self, name: str, args: AppServiceArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        # Every check runs before the component registers: a bad setting creates nothing.
        self._validate(args)
        super().__init__("mlops:aws:AppService", name, None, opts)
        self._name = name
        self._args = args
        self._child = pulumi.ResourceOptions(parent=self)

        self.app_listener_arn = None
        self.service_name = None
        self.function_name = None
        self.function_invoke_arn = None
        log_group = cloudwatch.LogGroup(
            f"{name}-logs",
            retention_in_days=args.log_retention_days,
            tags=args.tags,
            opts=self._child,
        )
        if args.compute == "fargate":
            self._build_fargate(log_group)
        else:
            self._build_lambda(log_group)
        self.register_outputs(
            {
                "role_arn": self.role_arn,
                "app_listener_arn": self.app_listener_arn,
                "service_name": self.service_name,
                "function_name": self.function_name,
                "function_invoke_arn": self.function_invoke_arn,
            }
        )

    @staticmethod
    def _validate(args: AppServiceArgs) -> None:
        if args.compute not in COMPUTE_MODES:
            raise ValueError(f"compute must be one of {COMPUTE_MODES}, got {args.compute!r}")
        if args.compute == "fargate":
            validate_fargate_size(args.cpu, args.memory, what="app")
            if args.load_balancer_arn is None:
                raise ValueError("compute=fargate needs the internal NLB (load_balancer_arn)")
            if not 1 <= args.min_count <= args.max_count:
                raise ValueError(
                    f"need 1 <= min_count <= max_count, got {args.min_count} and {args.max_count}"
                )
            if not 1 <= args.cpu_target_percent <= 100:
                raise ValueError(f"cpu_target_percent must be 1-100, not {args.cpu_target_percent}")
            return
        if not 128 <= args.lambda_memory <= 10240:
            raise ValueError(f"lambda_memory must be 128-10240 MB, not {args.lambda_memory}")
        if not 1 <= args.lambda_timeout <= 30:
            raise ValueError(
                f"lambda_timeout must be 1-30 s (API Gateway waits 30 s), not {args.lambda_timeout}"
            )
        if args.reserved_concurrency == 0 or args.reserved_concurrency < -1:
            raise ValueError("reserved_concurrency must be -1 (none) or at least 1")
        if args.provisioned_concurrency < 0:
            raise ValueError("provisioned_concurrency must be 0 (off) or more")
        if 0 < args.reserved_concurrency < args.provisioned_concurrency:
            raise ValueError(
                f"provisioned_concurrency ({args.provisioned_concurrency}) cannot exceed "
                f"reserved_concurrency ({args.reserved_concurrency})"
            )

    # -- permissions ------------------------------------------------------------------

    def _app_policy(self) -> pulumi.Output[str]:
        """What the app does: documents, records, model artifacts, training jobs."""
        args = self._args
        uploads = pulumi.Output.concat(args.uploads_bucket_arn, "/uploads/*")
        artifacts = pulumi.Output.concat(args.artifacts_bucket_arn, "/*")
        indexes = pulumi.Output.concat(args.table_arn, "/index/*")
        task_definitions = pulumi.Output.from_input(args.training_task_definition_arn).apply(
            _task_definition_any_revision
        )

        training_logs = pulumi.Output.all(args.cluster_arn, args.training_log_group).apply(
            lambda values: _log_streams(*values)
        )

        # Conditions hold plain values, so the document is built once the cluster ARN is known.
        def document(cluster: str) -> pulumi.Output[str]:
            on_cluster = {"ArnEquals": {"ecs:cluster": cluster}}
            return policy_document(
                [
                    Statement(
                        actions=["s3:DeleteObject", "s3:GetObject", "s3:PutObject"],
                        resources=[uploads],
                    ),
                    # Models are loaded straight from the store (MLflow serves no artifacts).
                    Statement(actions=["s3:GetObject"], resources=[artifacts]),
                    Statement(actions=["s3:ListBucket"], resources=[args.artifacts_bucket_arn]),
                    Statement(actions=DYNAMODB_ITEM_ACTIONS, resources=[args.table_arn, indexes]),
                    # Retraining: start the job by family, follow and stop it on our cluster.
                    Statement(
                        actions=["ecs:RunTask"],
                        resources=[task_definitions],
                        conditions=on_cluster,
                    ),
                    Statement(
                        actions=["ecs:DescribeTasks", "ecs:StopTask"],
                        resources=[_cluster_tasks(cluster)],
                        conditions=on_cluster,
                    ),
                    # A job whose RunTask answer was lost is found again by startedBy.
                    Statement(
                        actions=["ecs:ListTasks"],
                        resources=["*"],
                        conditions=on_cluster,
                        wildcard_reason="ecs:ListTasks names no task; ecs:cluster narrows it",
                    ),
                    # Where the job logs, read from its task definition, then the log itself.
                    Statement(
                        actions=["ecs:DescribeTaskDefinition"],
                        resources=["*"],
                        wildcard_reason="ecs:DescribeTaskDefinition has no resource-level control",
                    ),
                    Statement(actions=["logs:GetLogEvents"], resources=[training_logs]),
                    Statement(
                        actions=["iam:PassRole"],
                        resources=[
                            args.training_task_role_arn,
                            args.training_execution_role_arn,
                        ],
                        conditions={"StringEquals": {"iam:PassedToService": ECS_TASKS_SERVICE}},
                    ),
                ]
            )

        return pulumi.Output.from_input(args.cluster_arn).apply(document)

    def _build_role(
        self, role: str, service: str, policies: dict[str, pulumi.Input[str]]
    ) -> tuple[iam.Role, list[iam.RolePolicy]]:
        """A role for one workload and its inline policies (``{name: document}``)."""
        resource = iam.Role(
            f"{self._name}-{role}-role",
            assume_role_policy=assume_role_policy(service),
            tags=self._args.tags,
            opts=self._child,
        )
        attached = [
            iam.RolePolicy(
                f"{self._name}-{role}-{purpose}",
                role=resource.id,
                policy=document,
                opts=self._child,
            )
            for purpose, document in policies.items()
        ]
        return resource, attached

    # -- compute=fargate --------------------------------------------------------------

    def _build_fargate(self, log_group: cloudwatch.LogGroup) -> None:
        args = self._args
        task_role, task_policies = self._build_role(
            "task", ECS_TASKS_SERVICE, {"app": self._app_policy()}
        )
        execution_role, execution_policies = self._build_role(
            "execution",
            ECS_TASKS_SERVICE,
            {"pull-and-log": execution_role_policy(args.image, log_group.arn)},
        )
        task = self._build_task_definition(
            log_group, task_role, execution_role, [*task_policies, *execution_policies]
        )
        listener, target_group = self._build_listener()
        service = self._build_service(task, listener, target_group)
        self._build_autoscaling(service)
        self.role_arn = task_role.arn
        self.app_listener_arn = listener.arn
        self.service_name = service.name

    def _build_task_definition(
        self,
        log_group: cloudwatch.LogGroup,
        task_role: iam.Role,
        execution_role: iam.Role,
        role_policies: Sequence[pulumi.Resource],
    ) -> ecs.TaskDefinition:
        name, args = self._name, self._args
        region = get_region_output(opts=pulumi.InvokeOutputOptions(parent=self)).region
        environment = {**args.environment, "MLOPS_HOST": "0.0.0.0", "MLOPS_PORT": str(APP_PORT)}
        container = {
            "name": CONTAINER_NAME,
            "image": args.image,
            "essential": True,
            "portMappings": [{"containerPort": APP_PORT, "protocol": "tcp"}],
            "environment": [{"name": k, "value": v} for k, v in sorted(environment.items())],
            "healthCheck": {
                "command": ["CMD", "python", "-c", _HEALTH_PROBE],
                "interval": 30,
                "timeout": 5,
                "retries": 3,
                "startPeriod": 90,
            },
            "logConfiguration": awslogs(log_group.name, region, CONTAINER_NAME),
        }
        return ecs.TaskDefinition(
            f"{name}-task",
            family=f"{pulumi.get_project()}-{pulumi.get_stack()}-{name}",
            requires_compatibilities=["FARGATE"],
            network_mode="awsvpc",
            cpu=str(args.cpu),
            memory=str(args.memory),
            runtime_platform={"operating_system_family": "LINUX", "cpu_architecture": "X86_64"},
            task_role_arn=task_role.arn,
            execution_role_arn=execution_role.arn,
            container_definitions=pulumi.Output.json_dumps([container]),
            tags=args.tags,
            # The roles' ARNs exist before their policies: without this the service could
            # start tasks that cannot pull the image yet and trip the circuit breaker.
            opts=pulumi.ResourceOptions(parent=self, depends_on=role_policies),
        )

    def _build_listener(self) -> tuple[lb.Listener, lb.TargetGroup]:
        """The app's listener on the internal NLB, forwarding to its tasks' addresses."""
        name, args = self._name, self._args
        target_group = lb.TargetGroup(
            f"{name}-tg",
            port=APP_PORT,
            protocol="TCP",
            target_type="ip",
            vpc_id=args.vpc_id,
            deregistration_delay=30,
            health_check={
                "protocol": "HTTP",
                "path": "/health",
                "port": "traffic-port",
                "matcher": HEALTHY_CODES,
                "interval": 15,
                "healthy_threshold": 3,
                "unhealthy_threshold": 3,
            },
            tags=args.tags,
            opts=self._child,
        )
        listener = lb.Listener(
            f"{name}-listener",
            load_balancer_arn=args.load_balancer_arn,
            port=APP_LISTENER_PORT,
            protocol="TCP",
            default_actions=[{"type": "forward", "target_group_arn": target_group.arn}],
            tags=args.tags,
            opts=self._child,
        )
        return listener, target_group

    def _build_service(
        self, task: ecs.TaskDefinition, listener: lb.Listener, target_group: lb.TargetGroup
    ) -> ecs.Service:
        name, args = self._name, self._args
        return ecs.Service(
            f"{name}-service",
            cluster=args.cluster_arn,
            task_definition=task.arn,
            launch_type="FARGATE",
            desired_count=args.min_count,
            network_configuration={
                "subnets": args.private_subnet_ids,
                "security_groups": [args.security_group_id],
                "assign_public_ip": False,
            },
            load_balancers=[
                {
                    "target_group_arn": target_group.arn,
                    "container_name": CONTAINER_NAME,
                    "container_port": APP_PORT,
                }
            ],
            deployment_circuit_breaker={"enable": True, "rollback": True},
            deployment_minimum_healthy_percent=100,
            deployment_maximum_percent=200,
            health_check_grace_period_seconds=120,
            propagate_tags="SERVICE",
            enable_ecs_managed_tags=True,
            tags=args.tags,
            opts=pulumi.ResourceOptions(
                parent=self,
                # ECS refuses a target group no listener uses yet.
                depends_on=[listener],
                # The autoscaler owns the count once the service runs.
                ignore_changes=["desired_count"],
            ),
        )

    def _build_autoscaling(self, service: ecs.Service) -> None:
        args = self._args
        target = appautoscaling.Target(
            f"{self._name}-scaling",
            service_namespace="ecs",
            scalable_dimension="ecs:service:DesiredCount",
            resource_id=pulumi.Output.concat("service/", args.cluster_name, "/", service.name),
            min_capacity=args.min_count,
            max_capacity=args.max_count,
            tags=args.tags,
            opts=self._child,
        )
        appautoscaling.Policy(
            f"{self._name}-cpu-scaling",
            policy_type="TargetTrackingScaling",
            service_namespace=target.service_namespace,
            scalable_dimension=target.scalable_dimension,
            resource_id=target.resource_id,
            target_tracking_scaling_policy_configuration={
                "predefined_metric_specification": {
                    "predefined_metric_type": "ECSServiceAverageCPUUtilization"
                },
                "target_value": args.cpu_target_percent,
                "scale_in_cooldown": 300,
                "scale_out_cooldown": 60,
            },
            opts=self._child,
        )

    # -- compute=lambda ---------------------------------------------------------------

    def _build_lambda(self, log_group: cloudwatch.LogGroup) -> None:
        name, args = self._name, self._args
        vpc_and_logs = policy_document(
            [
                log_writing(log_group.arn),
                Statement(
                    actions=LAMBDA_VPC_ACTIONS,
                    resources=["*"],
                    wildcard_reason=(
                        "Lambda creates and describes its VPC network interfaces before they"
                        " exist; EC2 describe calls have no resource-level permissions"
                    ),
                ),
            ]
        )
        role, policies = self._build_role(
            "function",
            "lambda.amazonaws.com",
            {"app": self._app_policy(), "vpc-and-logs": vpc_and_logs},
        )
        function = lambda_.Function(
            f"{name}-function",
            package_type="Image",
            image_uri=args.image,
            image_config={"entry_points": LAMBDA_ENTRY_POINT, "commands": [LAMBDA_HANDLER]},
            role=role.arn,
            memory_size=args.lambda_memory,
            timeout=args.lambda_timeout,
            publish=True,
            reserved_concurrent_executions=args.reserved_concurrency,
            environment={
                "variables": {**args.environment, "MLOPS_DATA_DIR": LAMBDA_DATA_DIR},
            },
            vpc_config={
                "subnet_ids": args.private_subnet_ids,
                "security_group_ids": [args.security_group_id],
            },
            logging_config={"log_format": "Text", "log_group": log_group.name},
            tags=args.tags,
            # Lambda checks the role may create network interfaces when the function is made.
            opts=pulumi.ResourceOptions(parent=self, depends_on=policies),
        )
        alias = lambda_.Alias(
            f"{name}-alias",
            name=LAMBDA_ALIAS,
            function_name=function.name,
            function_version=function.version,
            opts=self._child,
        )
        if args.provisioned_concurrency > 0:
            lambda_.ProvisionedConcurrencyConfig(
                f"{name}-provisioned",
                function_name=function.name,
                qualifier=alias.name,
                provisioned_concurrent_executions=args.provisioned_concurrency,
                opts=self._child,
            )
        self.role_arn = role.arn
        self.function_name = function.name
        self.function_invoke_arn = alias.invoke_arn
