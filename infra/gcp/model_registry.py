"""The MLflow tracking server: an internal Cloud Run service on Cloud SQL for PostgreSQL.

Clients (the app, the OCR worker, training) use ``<service URL>/mlflow``. The service's
ingress is internal: it answers only requests that come from the project's VPC (the
clients send all their traffic through it, see infra/gcp/network.py) or from Google
services of the project. Its invoker IAM check is off (``invoker_iam_disabled``) because
MLflow's clients send no Google ID tokens; the network boundary is the control here, and
no ``allUsers`` binding exists. MLflow serves no artifacts (``--no-serve-artifacts``):
clients read and write ``gs://<artifacts>/mlflow`` with their own service accounts.

The database: PostgreSQL 16 on Cloud SQL (Enterprise edition, so the small shared-core
tiers are available), reached through the Cloud SQL connector Cloud Run mounts at
``/cloudsql`` (a Unix socket; IAM-authorised by ``roles/cloudsql.client``, TLS inside).
The instance has a public IP with no authorised network and ``connector_enforcement =
REQUIRED``, so only connectors can open a connection: no VPC peering or private services
access to pay for. The password comes from pulumi-random, lives in Secret Manager and
reaches the container as ``PGPASSWORD`` by reference, which libpq reads, so it is in no
URI, command line or service definition.

With ``mlflowTrackingUri`` set none of this is created (infra/gcp/program.py).

Example::

    registry = ModelRegistry("mlflow", ModelRegistryArgs(project="p", region="europe-west1",
        prefix="mlops-dev", image=images.app_image, service_account=mlflow_email,
        artifacts_bucket=buckets.artifacts_bucket))
    registry.tracking_uri  # https://mlflow-server-....run.app/mlflow
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pulumi
import pulumi_random as random
from pulumi_gcp import cloudrunv2, projects, sql

from infra.gcp.cloud_run import INGRESS_INTERNAL, limits
from infra.gcp.foundation import child_opts
from infra.gcp.secrets import EnvValue, SecretRef, Secrets, SecretsArgs, SecretSpec, container_envs
from infra.gcp.sizes import check_size

MLFLOW_PORT = 5000
STATIC_PREFIX = "/mlflow"
# mlflow.server registers /health under --static-prefix (as infra/aws/model_registry.py).
HEALTH_PATH = f"{STATIC_PREFIX}/health"
ARTIFACT_PREFIX = "mlflow"
DB_NAME = "mlflow"
DB_USER = "mlflow"
SOCKET_DIR = "/cloudsql"
PASSWORD_SECRET = "mlflow-db-password"
# MLflow >= 3.5 checks the Host header; setting the list replaces its defaults.
ALLOWED_HOSTS = ("*.run.app", "localhost", "localhost:*", "127.0.0.1", "127.0.0.1:*")


def artifact_root(bucket: pulumi.Input[str]) -> pulumi.Output[str]:
    """``gs://<bucket>/mlflow``: where runs and models go."""
    return pulumi.Output.concat("gs://", bucket, f"/{ARTIFACT_PREFIX}")


def server_command() -> str:
    """The shell command of the server; the database password is libpq's PGPASSWORD."""
    return " ".join(
        [
            "exec mlflow server",
            f"--host 0.0.0.0 --port {MLFLOW_PORT} --static-prefix {STATIC_PREFIX} --workers 2",
            f'--backend-store-uri "postgresql://{DB_USER}@/{DB_NAME}'
            f'?host={SOCKET_DIR}/${{CLOUDSQL_INSTANCE}}"',
            f'--default-artifact-root "gs://${{ARTIFACTS_BUCKET}}/{ARTIFACT_PREFIX}"',
            "--no-serve-artifacts",
        ]
    )


@dataclass
class ModelRegistryArgs:
    project: str
    region: str
    # Stack-unique prefix of project-wide ids (the password secret).
    prefix: str
    image: pulumi.Input[str]
    # Email of the server's service account.
    service_account: pulumi.Input[str]
    artifacts_bucket: pulumi.Input[str]
    db_tier: str = "db-f1-micro"
    db_disk_gb: int = 10
    cpu: int = 1
    memory_mib: int = 2048
    max_instances: int = 2
    deletion_protection: bool = True
    labels: dict[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        problem = check_size(self.cpu, self.memory_mib, "MLflow server")
        if problem:
            raise ValueError(problem)


class ModelRegistry(pulumi.ComponentResource):
    tracking_uri: pulumi.Output[str]
    service_name: pulumi.Output[str]
    instance_connection_name: pulumi.Output[str]

    def __init__(
        self, name: str, args: ModelRegistryArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("mlops:gcp:ModelRegistry", name, None, opts)
        self._name = name
        self._args = args
        self._child = child_opts(self, opts)
        member = pulumi.Output.concat("serviceAccount:", args.service_account)

        password = random.RandomPassword(
            f"{name}-db-password", length=32, special=False, opts=self._child
        )
        secrets = Secrets(
            f"{name}-secrets",
            SecretsArgs(
                project=args.project,
                prefix=args.prefix,
                secrets={PASSWORD_SECRET: SecretSpec(value=password.result, readers=[member])},
                labels=args.labels,
            ),
            opts=self._child,
        )
        instance = self._build_database(password)
        connect = projects.IAMMember(
            f"{name}-sql-client",
            project=args.project,
            role="roles/cloudsql.client",
            member=member,
            condition=projects.IAMMemberConditionArgs(
                title="mlflow-database",
                description="The MLflow database instance only",
                expression=instance.name.apply(
                    lambda instance_name: (
                        f'resource.name == "projects/{args.project}/instances/{instance_name}"'
                    )
                ),
            ),
            opts=self._child,
        )
        service = self._build_service(
            instance, secrets.ref(PASSWORD_SECRET), depends_on=[*secrets.ready, connect]
        )

        self.tracking_uri = pulumi.Output.concat(service.uri, STATIC_PREFIX)
        self.service_name = service.name
        self.instance_connection_name = instance.connection_name
        self.register_outputs(
            {
                "tracking_uri": self.tracking_uri,
                "service_name": self.service_name,
                "instance_connection_name": self.instance_connection_name,
            }
        )

    def _build_database(self, password: random.RandomPassword) -> sql.DatabaseInstance:
        args = self._args
        instance = sql.DatabaseInstance(
            f"{self._name}-db",
            project=args.project,
            region=args.region,
            database_version="POSTGRES_16",
            deletion_protection=args.deletion_protection,
            settings={
                "tier": args.db_tier,
                "edition": "ENTERPRISE",
                "availability_type": "ZONAL",
                "disk_size": args.db_disk_gb,
                "disk_autoresize": True,
                "deletion_protection_enabled": args.deletion_protection,
                "connector_enforcement": "REQUIRED",
                "ip_configuration": {"ipv4_enabled": True, "ssl_mode": "ENCRYPTED_ONLY"},
                "backup_configuration": {
                    "enabled": True,
                    "point_in_time_recovery_enabled": True,
                    "transaction_log_retention_days": 7,
                    "backup_retention_settings": {"retained_backups": 7},
                },
                "user_labels": args.labels,
            },
            opts=self._child,
        )
        sql.Database(
            f"{self._name}-db-mlflow",
            project=args.project,
            instance=instance.name,
            name=DB_NAME,
            # MLflow's tables are owned by its user, whose connections may still be open:
            # the database and user go with the instance rather than one by one.
            deletion_policy="ABANDON",
            opts=self._child,
        )
        sql.User(
            f"{self._name}-db-user",
            project=args.project,
            instance=instance.name,
            name=DB_USER,
            password=password.result,
            deletion_policy="ABANDON",  # Postgres refuses to drop a user who owns objects
            opts=self._child,
        )
        return instance

    def _build_service(
        self,
        instance: sql.DatabaseInstance,
        password: SecretRef,
        depends_on: list[pulumi.Resource],
    ) -> cloudrunv2.Service:
        args = self._args
        environment: dict[str, EnvValue] = {
            "CLOUDSQL_INSTANCE": instance.connection_name,
            "ARTIFACTS_BUCKET": args.artifacts_bucket,
            "MLFLOW_SERVER_ALLOWED_HOSTS": ",".join(ALLOWED_HOSTS),
            "PGPASSWORD": password,
        }
        template: cloudrunv2.ServiceTemplateArgsDict = {
            "service_account": args.service_account,
            "scaling": {"min_instance_count": 0, "max_instance_count": args.max_instances},
            "volumes": [
                {
                    "name": "cloudsql",
                    "cloud_sql_instance": {"instances": [instance.connection_name]},
                }
            ],
            "containers": [
                {
                    "image": args.image,
                    "commands": ["sh", "-c"],
                    "args": [server_command()],
                    "ports": {"container_port": MLFLOW_PORT},
                    "resources": {"limits": limits(args.cpu, args.memory_mib)},
                    "envs": container_envs(environment),
                    "volume_mounts": [{"name": "cloudsql", "mount_path": SOCKET_DIR}],
                    # The first start creates MLflow's tables: up to 4 minutes, the
                    # longest startup probe Cloud Run takes (threshold x period <= 240 s).
                    "startup_probe": {
                        "http_get": {"path": HEALTH_PATH, "port": MLFLOW_PORT},
                        "timeout_seconds": 5,
                        "period_seconds": 10,
                        "failure_threshold": 24,
                    },
                    "liveness_probe": {
                        "http_get": {"path": HEALTH_PATH, "port": MLFLOW_PORT},
                        "timeout_seconds": 5,
                        "period_seconds": 30,
                        "failure_threshold": 3,
                    },
                }
            ],
        }
        return cloudrunv2.Service(
            f"{self._name}-server",
            project=args.project,
            location=args.region,
            ingress=INGRESS_INTERNAL,
            invoker_iam_disabled=True,  # see the module docstring
            deletion_protection=args.deletion_protection,
            template=template,
            labels=args.labels,
            opts=self._child.merge(pulumi.ResourceOptions(depends_on=depends_on)),
        )
