"""The MLflow tracking server: a private Fargate service on Aurora Serverless v2 PostgreSQL.

Clients reach it as ``http://mlflow.<namespace>:5000/mlflow`` (Cloud Map); the API
reaches it through the NLB when ``load_balancer_arn`` is given. MLflow serves no
artifacts (``--no-serve-artifacts``): clients read and write ``s3://<artifacts>/mlflow``
themselves, so only they hold write access to the bucket.

The database password never leaves AWS: RDS generates it and keeps it in Secrets
Manager (``manage_master_user_password``), ECS injects it as ``PGPASSWORD``, and libpq
reads it from there, so it is neither in the task definition nor on a command line.

Example::

    registry = ModelRegistry("registry", ModelRegistryArgs(
        vpc_id=net.vpc_id, vpc_cidr=net.vpc_cidr, private_subnet_ids=net.private_subnet_ids,
        cluster_arn=cluster.arn, cluster_name=cluster.name,
        namespace_id=ns.id, namespace_name=ns.name, image=app_image,
        artifacts_bucket_name=docs.artifacts_bucket_name,
        artifacts_bucket_arn=docs.artifacts_bucket_arn,
        client_security_group_ids=[app_sg.id, docs.ocr_security_group_id, job.security_group_id],
        load_balancer_arn=nlb.arn, load_balancer_security_group_id=nlb_sg.id,
    ))
    tracking_uri = registry.tracking_uri
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import pulumi
from pulumi_aws import cloudwatch, ec2, ecs, get_region_output, lb, rds, servicediscovery, vpc

from infra.aws.ecs_tasks import ECS_TASKS_SERVICE, awslogs, execution_role_policy
from infra.aws.fargate_sizes import check_fargate_size
from infra.aws.iam import Statement, policy_document, workload_role

MLFLOW_PORT = 5000
DB_PORT = 5432
STATIC_PREFIX = "/mlflow"
# Registered by mlflow.server under --static-prefix (mlflow/server/__init__.py: the
# ``_add_static_prefix("/health")`` route); the bare /health does not exist then.
HEALTH_PATH = f"{STATIC_PREFIX}/health"
ARTIFACT_PREFIX = "mlflow"
CONTAINER_NAME = "mlflow"
SERVICE_NAME = "mlflow"
DB_NAME = "mlflow"
DB_USER = "mlflow"

# MLflow >= 3.5 refuses requests whose Host header it does not know (DNS-rebinding
# protection). Setting MLFLOW_SERVER_ALLOWED_HOSTS replaces its defaults, so they are
# repeated here: loopback and the private ranges (health checks, direct task IPs).
_DEFAULT_ALLOWED_HOSTS = [
    "localhost",
    "localhost:*",
    "127.0.0.1",
    "127.0.0.1:*",
    "10.*",
    "192.168.*",
    *[f"172.{i}.*" for i in range(16, 32)],
]


@dataclass
class ModelRegistryArgs:
    vpc_id: pulumi.Input[str]
    vpc_cidr: pulumi.Input[str]
    private_subnet_ids: pulumi.Input[Sequence[pulumi.Input[str]]]
    cluster_arn: pulumi.Input[str]
    cluster_name: pulumi.Input[str]
    namespace_id: pulumi.Input[str]
    namespace_name: pulumi.Input[str]
    image: pulumi.Input[str]
    artifacts_bucket_name: pulumi.Input[str]
    artifacts_bucket_arn: pulumi.Input[str]
    # Tasks and functions that talk to MLflow (the app, the OCR Lambda, training).
    client_security_group_ids: list[pulumi.Input[str]] = field(default_factory=list)
    # The internal NLB: this component adds the port-5000 listener, because ECS refuses
    # a service whose target group no listener uses yet.
    load_balancer_arn: pulumi.Input[str] | None = None
    # The NLB's own security group: when given, it alone (not the whole VPC CIDR) may
    # reach port 5000 on the load balancer's behalf, health checks included.
    load_balancer_security_group_id: pulumi.Input[str] | None = None
    # Extra Host headers MLflow accepts (a custom API domain); API Gateway and NLB
    # hostnames of the region are accepted already.
    allowed_hosts: list[str] = field(default_factory=list)
    log_retention_days: int = 30
    min_capacity: float = 0.5
    max_capacity: float = 2
    cpu: int = 512
    memory: int = 1024
    desired_count: int = 1
    engine_version: str = "16.6"
    backup_retention_days: int = 7
    deletion_protection: bool = True
    tags: dict[str, str] | None = None

    def __post_init__(self) -> None:
        check_fargate_size(self.cpu, self.memory)
        if not 0 <= self.min_capacity <= self.max_capacity <= 256:
            raise ValueError(
                "Aurora capacity needs 0 <= min_capacity <= max_capacity <= 256 ACUs,"
                f" not {self.min_capacity}-{self.max_capacity}."
            )
        if not 1 <= self.backup_retention_days <= 35:
            raise ValueError("backup_retention_days must be 1-35 (RDS).")


class ModelRegistry(pulumi.ComponentResource):
    tracking_uri: pulumi.Output[str]
    target_group_arn: pulumi.Output[str] | None
    listener_arn: pulumi.Output[str] | None
    security_group_id: pulumi.Output[str]
    port: int
    db_secret_arn: pulumi.Output[str]

    def __init__(
        self, name: str, args: ModelRegistryArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("mlops:aws:ModelRegistry", name, None, opts)
        self._name = name
        self._args = args
        self._child = pulumi.ResourceOptions(parent=self)

        server_sg = self._build_server_security_group()
        db = self._build_database(server_sg)
        self.db_secret_arn = db.master_user_secrets.apply(_secret_arn)
        discovery = self._build_discovery()
        balancing = self._build_load_balancing()
        task_definition = self._build_task_definition(db)
        self._build_service(task_definition, server_sg, discovery, balancing)

        self.tracking_uri = pulumi.Output.concat(
            f"http://{SERVICE_NAME}.", args.namespace_name, f":{MLFLOW_PORT}{STATIC_PREFIX}"
        )
        self.target_group_arn = balancing[0].arn if balancing else None
        self.listener_arn = balancing[1].arn if balancing else None
        self.security_group_id = server_sg.id
        self.port = MLFLOW_PORT
        self.register_outputs(
            {
                "tracking_uri": self.tracking_uri,
                "target_group_arn": self.target_group_arn,
                "listener_arn": self.listener_arn,
                "security_group_id": self.security_group_id,
                "port": self.port,
                "db_secret_arn": self.db_secret_arn,
            }
        )

    # Network -----------------------------------------------------------------------------

    def _build_server_security_group(self) -> ec2.SecurityGroup:
        args = self._args
        group = ec2.SecurityGroup(
            f"{self._name}-mlflow-sg",
            vpc_id=args.vpc_id,
            description=f"MLflow tracking server: {MLFLOW_PORT} from its clients and the NLB",
            tags=args.tags,
            opts=self._child,
        )
        for index, source in enumerate(args.client_security_group_ids):
            vpc.SecurityGroupIngressRule(
                f"{self._name}-mlflow-from-client-{index}",
                security_group_id=group.id,
                referenced_security_group_id=source,
                ip_protocol="tcp",
                from_port=MLFLOW_PORT,
                to_port=MLFLOW_PORT,
                description="MLflow clients",
                opts=self._child,
            )
        if args.load_balancer_security_group_id is not None:
            vpc.SecurityGroupIngressRule(
                f"{self._name}-mlflow-from-nlb",
                security_group_id=group.id,
                referenced_security_group_id=args.load_balancer_security_group_id,
                ip_protocol="tcp",
                from_port=MLFLOW_PORT,
                to_port=MLFLOW_PORT,
                description="The internal NLB and its health checks",
                opts=self._child,
            )
        else:
            # An NLB without a security group: IP targets see its VPC addresses as source.
            vpc.SecurityGroupIngressRule(
                f"{self._name}-mlflow-from-vpc",
                security_group_id=group.id,
                cidr_ipv4=args.vpc_cidr,
                ip_protocol="tcp",
                from_port=MLFLOW_PORT,
                to_port=MLFLOW_PORT,
                description="The internal NLB and its health checks",
                opts=self._child,
            )
        vpc.SecurityGroupEgressRule(
            f"{self._name}-mlflow-egress",
            security_group_id=group.id,
            cidr_ipv4="0.0.0.0/0",
            ip_protocol="-1",
            description="PostgreSQL, S3, ECR, Secrets Manager and logs",
            opts=self._child,
        )
        return group

    # Database ----------------------------------------------------------------------------

    def _snapshot_identifier(self) -> str:
        raw = f"{pulumi.get_project()}-{pulumi.get_stack()}-{self._name}-final"
        cleaned = re.sub(r"-+", "-", re.sub(r"[^a-z0-9-]", "-", raw.lower())).strip("-")
        return ("mlflow-" + cleaned if not cleaned[:1].isalpha() else cleaned)[:255]

    def _build_database(self, server_sg: ec2.SecurityGroup) -> rds.Cluster:
        args = self._args
        db_sg = ec2.SecurityGroup(
            f"{self._name}-db-sg",
            vpc_id=args.vpc_id,
            description=f"MLflow database: {DB_PORT} from the MLflow server only",
            tags=args.tags,
            opts=self._child,
        )
        vpc.SecurityGroupIngressRule(
            f"{self._name}-db-from-mlflow",
            security_group_id=db_sg.id,
            referenced_security_group_id=server_sg.id,
            ip_protocol="tcp",
            from_port=DB_PORT,
            to_port=DB_PORT,
            description="The MLflow tracking server",
            opts=self._child,
        )
        subnet_group = rds.SubnetGroup(
            f"{self._name}-db-subnets",
            subnet_ids=args.private_subnet_ids,
            description="MLflow database: private subnets",
            tags=args.tags,
            opts=self._child,
        )
        cluster = rds.Cluster(
            f"{self._name}-db",
            engine=rds.EngineType.AURORA_POSTGRESQL,
            engine_mode="provisioned",
            engine_version=args.engine_version,
            database_name=DB_NAME,
            master_username=DB_USER,
            manage_master_user_password=True,
            port=DB_PORT,
            storage_encrypted=True,
            db_subnet_group_name=subnet_group.name,
            vpc_security_group_ids=[db_sg.id],
            serverlessv2_scaling_configuration=rds.ClusterServerlessv2ScalingConfigurationArgs(
                min_capacity=args.min_capacity, max_capacity=args.max_capacity
            ),
            backup_retention_period=args.backup_retention_days,
            copy_tags_to_snapshot=True,
            deletion_protection=args.deletion_protection,
            skip_final_snapshot=False,
            final_snapshot_identifier=self._snapshot_identifier(),
            enabled_cloudwatch_logs_exports=["postgresql"],
            tags=args.tags,
            opts=self._child,
        )
        rds.ClusterInstance(
            f"{self._name}-db-writer",
            cluster_identifier=cluster.id,
            instance_class="db.serverless",
            engine=rds.EngineType.AURORA_POSTGRESQL,
            engine_version=cluster.engine_version,
            db_subnet_group_name=subnet_group.name,
            publicly_accessible=False,
            tags=args.tags,
            opts=self._child,
        )
        return cluster

    # Discovery and load balancing --------------------------------------------------------

    def _build_discovery(self) -> servicediscovery.Service:
        return servicediscovery.Service(
            f"{self._name}-mlflow-discovery",
            name=SERVICE_NAME,
            dns_config=servicediscovery.ServiceDnsConfigArgs(
                namespace_id=self._args.namespace_id,
                dns_records=[servicediscovery.ServiceDnsConfigDnsRecordArgs(ttl=10, type="A")],
                routing_policy="MULTIVALUE",
            ),
            # ECS reports task health to Cloud Map.
            health_check_custom_config=servicediscovery.ServiceHealthCheckCustomConfigArgs(),
            tags=self._args.tags,
            opts=self._child,
        )

    def _build_load_balancing(self) -> tuple[lb.TargetGroup, lb.Listener] | None:
        """A target group and the NLB's port-5000 listener; ``None`` without an NLB."""
        if self._args.load_balancer_arn is None:
            return None
        target_group = lb.TargetGroup(
            f"{self._name}-mlflow-tg",
            port=MLFLOW_PORT,
            protocol="TCP",
            target_type="ip",
            vpc_id=self._args.vpc_id,
            deregistration_delay=30,
            health_check=lb.TargetGroupHealthCheckArgs(
                protocol="HTTP",
                path=HEALTH_PATH,
                port="traffic-port",
                matcher="200",
                interval=30,
                healthy_threshold=2,
                unhealthy_threshold=3,
            ),
            tags=self._args.tags,
            opts=self._child,
        )
        listener = lb.Listener(
            f"{self._name}-mlflow-listener",
            load_balancer_arn=self._args.load_balancer_arn,
            port=MLFLOW_PORT,
            protocol="TCP",
            default_actions=[
                lb.ListenerDefaultActionArgs(type="forward", target_group_arn=target_group.arn)
            ],
            tags=self._args.tags,
            opts=self._child,
        )
        return target_group, listener

    # Task --------------------------------------------------------------------------------

    def _allowed_hosts(self, region: pulumi.Output[str]) -> pulumi.Output[str]:
        args = self._args
        return pulumi.Output.all(args.namespace_name, region).apply(
            lambda values: ",".join(
                [
                    f"{SERVICE_NAME}.{values[0]}",
                    f"{SERVICE_NAME}.{values[0]}:{MLFLOW_PORT}",
                    f"*.execute-api.{values[1]}.amazonaws.com",
                    f"*.elb.{values[1]}.amazonaws.com",
                    f"*.elb.{values[1]}.amazonaws.com:{MLFLOW_PORT}",
                    *_DEFAULT_ALLOWED_HOSTS,
                    *args.allowed_hosts,
                ]
            )
        )

    def _build_task_definition(self, db: rds.Cluster) -> ecs.TaskDefinition:
        args = self._args
        region = get_region_output(opts=pulumi.InvokeOptions(parent=self)).region
        log_group = cloudwatch.LogGroup(
            f"{self._name}-mlflow-logs",
            retention_in_days=args.log_retention_days,
            tags=args.tags,
            opts=self._child,
        )
        execution_role, execution_policy = workload_role(
            f"{self._name}-mlflow-execution",
            service=ECS_TASKS_SERVICE,
            policy=execution_role_policy(args.image, log_group.arn, [self.db_secret_arn]),
            tags=args.tags,
            opts=self._child,
        )
        # Read-only: the UI's artifact browser lists and reads run artifacts through the
        # server even with --no-serve-artifacts; writes come from the clients alone.
        task_role, task_policy = workload_role(
            f"{self._name}-mlflow-task",
            service=ECS_TASKS_SERVICE,
            policy=policy_document(
                [
                    Statement(
                        actions=["s3:GetObject"],
                        resources=[
                            pulumi.Output.concat(args.artifacts_bucket_arn, f"/{ARTIFACT_PREFIX}/*")
                        ],
                    ),
                    Statement(
                        actions=["s3:ListBucket"],
                        resources=[args.artifacts_bucket_arn],
                        conditions={
                            "StringLike": {"s3:prefix": [ARTIFACT_PREFIX, f"{ARTIFACT_PREFIX}/*"]}
                        },
                    ),
                ]
            ),
            tags=args.tags,
            opts=self._child,
        )
        container = self._container(db, region, log_group)
        return ecs.TaskDefinition(
            f"{self._name}-mlflow",
            family=f"{self._name}-mlflow",
            cpu=str(args.cpu),
            memory=str(args.memory),
            network_mode="awsvpc",
            requires_compatibilities=["FARGATE"],
            runtime_platform=ecs.TaskDefinitionRuntimePlatformArgs(
                operating_system_family="LINUX", cpu_architecture="X86_64"
            ),
            execution_role_arn=execution_role.arn,
            task_role_arn=task_role.arn,
            container_definitions=pulumi.Output.json_dumps([container]),
            tags=args.tags,
            # The service starts tasks at once: the image pull and the password need the
            # execution policy in place, not just the role.
            opts=pulumi.ResourceOptions(parent=self, depends_on=[execution_policy, task_policy]),
        )

    def _container(
        self, db: rds.Cluster, region: pulumi.Output[str], log_group: cloudwatch.LogGroup
    ) -> dict[str, Any]:
        """The MLflow server's container definition."""
        args = self._args
        # The password is not in the URI: libpq takes it from PGPASSWORD.
        server = " ".join(
            [
                "exec mlflow server",
                f"--host 0.0.0.0 --port {MLFLOW_PORT} --static-prefix {STATIC_PREFIX}",
                '--backend-store-uri "postgresql://${DB_USER}@${DB_HOST}:${DB_PORT}/${DB_NAME}'
                '?sslmode=require"',
                '--default-artifact-root "s3://${ARTIFACTS_BUCKET}/' + ARTIFACT_PREFIX + '"',
                "--no-serve-artifacts",
            ]
        )
        health = (
            'python -c "import urllib.request; urllib.request.urlopen('
            f"'http://localhost:{MLFLOW_PORT}{HEALTH_PATH}', timeout=4)\""
        )
        return {
            "name": CONTAINER_NAME,
            "image": args.image,
            "essential": True,
            "command": ["sh", "-c", server],
            "portMappings": [{"containerPort": MLFLOW_PORT, "protocol": "tcp"}],
            "environment": [
                {"name": "DB_HOST", "value": db.endpoint},
                {"name": "DB_PORT", "value": str(DB_PORT)},
                {"name": "DB_NAME", "value": DB_NAME},
                {"name": "DB_USER", "value": DB_USER},
                {"name": "ARTIFACTS_BUCKET", "value": args.artifacts_bucket_name},
                {"name": "MLFLOW_SERVER_ALLOWED_HOSTS", "value": self._allowed_hosts(region)},
            ],
            "secrets": [
                {
                    "name": "PGPASSWORD",
                    "valueFrom": pulumi.Output.concat(self.db_secret_arn, ":password::"),
                }
            ],
            "healthCheck": {
                "command": ["CMD-SHELL", f"{health} || exit 1"],
                "interval": 30,
                "timeout": 5,
                "retries": 3,
                "startPeriod": 60,
            },
            "logConfiguration": awslogs(log_group.name, region, CONTAINER_NAME),
        }

    def _build_service(
        self,
        task_definition: ecs.TaskDefinition,
        server_sg: ec2.SecurityGroup,
        discovery: servicediscovery.Service,
        balancing: tuple[lb.TargetGroup, lb.Listener] | None,
    ) -> ecs.Service:
        args = self._args
        return ecs.Service(
            f"{self._name}-mlflow",
            cluster=args.cluster_arn,
            task_definition=task_definition.arn,
            desired_count=args.desired_count,
            launch_type="FARGATE",
            network_configuration=ecs.ServiceNetworkConfigurationArgs(
                subnets=args.private_subnet_ids,
                security_groups=[server_sg.id],
                assign_public_ip=False,
            ),
            service_registries=ecs.ServiceServiceRegistriesArgs(registry_arn=discovery.arn),
            load_balancers=(
                [
                    ecs.ServiceLoadBalancerArgs(
                        target_group_arn=balancing[0].arn,
                        container_name=CONTAINER_NAME,
                        container_port=MLFLOW_PORT,
                    )
                ]
                if balancing
                else None
            ),
            # The first start creates MLflow's tables before /mlflow/health answers.
            health_check_grace_period_seconds=300 if balancing else None,
            deployment_circuit_breaker=ecs.ServiceDeploymentCircuitBreakerArgs(
                enable=True, rollback=True
            ),
            propagate_tags="SERVICE",
            enable_ecs_managed_tags=True,
            tags=args.tags,
            # ECS refuses a target group that no listener forwards to yet.
            opts=pulumi.ResourceOptions(
                parent=self, depends_on=[balancing[1]] if balancing else []
            ),
        )


def _secret_arn(secrets: Sequence[Any] | None) -> str:
    if not secrets:
        raise ValueError("RDS returned no master user secret; is manage_master_user_password on?")
    first = secrets[0]
    return first["secret_arn"] if isinstance(first, dict) else first.secret_arn
