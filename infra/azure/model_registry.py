"""The MLflow tracking server: a Container App with a PostgreSQL backend and basic auth.

Created only when ``mlflowTrackingUri`` is empty. The server runs the app image
(``mlflow server --app-name basic-auth ... --no-serve-artifacts --static-prefix
/mlflow``). Clients write artifacts straight to
``wasbs://artifacts@<account>.blob.core.windows.net/mlflow`` with their own identity;
the server only reads them (its UI's artifact browser).

Ingress (``mlflowIngress``):

- ``external`` (default): HTTPS on the environment's public address, so the OCR Function
  (Elastic Premium, outside the Container Apps environment) reaches it too, as do admins
  for the UI. An internal ingress is reachable only from inside the environment.
- ``internal``: only the app and the training job reach it; the OCR Function then cannot
  load the champion (use it with a VNet set up outside this program).

Either way every request needs MLflow's basic auth: one ``admin`` user whose password is
generated here, kept in Key Vault and handed to the server and to each client by Key
Vault reference (``MLFLOW_TRACKING_USERNAME``/``MLFLOW_TRACKING_PASSWORD``, which the
MLflow client and app/adapters/mlflow_rest.py read). The user store is a SQLite file
recreated at each start from that secret: rotating the secret and restarting rotates the
password. The basic-auth app needs Flask-WTF (``mlflow[auth]``) in the image.

The backend is Azure Database for PostgreSQL Flexible Server (Burstable). Its
administrator password is generated (pulumi-random), kept in Key Vault and read by the
server as a Key Vault secret reference (``PGPASSWORD``, never on a command line or in a
plain setting). The server accepts connections from Azure services only (the Container
Apps environment has no fixed outbound address without a VNet) and requires TLS.

Example::

    mlflow = ModelRegistry("mlflow", ModelRegistryArgs(resource_group_name=rg,
        location=loc, environment_id=apps.environment_id,
        environment_domain=apps.default_domain, identity=ids["mlflow"],
        registry_server=images.login_server, image=images.app_image,
        artifact_root=docs.artifact_root, vault=vault,
        clients={"app": ids["app"].principal_id}))
    mlflow.tracking_uri        # https://mlflow-xxxx.<domain>/mlflow
    mlflow.client_environment  # MLFLOW_TRACKING_USERNAME / _PASSWORD (a reference)
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import pulumi
import pulumi_random as random
from pulumi_azure_native import app as containerapps
from pulumi_azure_native import dbforpostgresql

from infra.azure.foundation import Identity
from infra.azure.secrets import Secrets
from infra.azure.workloads import Environment, Setting, container_workload, ingress_fqdn

MLFLOW_PORT = 5000
STATIC_PREFIX = "/mlflow"
HEALTH_PATH = f"{STATIC_PREFIX}/health"
DB_NAME = "mlflow"
DB_ADMIN = "mlflow"
DB_PORT = 5432
PASSWORD_SECRET = "mlflow-db-password"
ADMIN_SECRET = "mlflow-admin-password"
FLASK_SECRET = "mlflow-flask-secret-key"
ADMIN_USER = "admin"
INGRESS_MODES = ("external", "internal")
AUTH_CONFIG = "/tmp/mlflow-auth.ini"
# The auth app's settings, written at start (the admin password comes from Key Vault).
_AUTH_INI = (
    "[mlflow]\\n"
    "default_permission = READ\\n"
    "database_uri = sqlite:////tmp/mlflow-auth.db\\n"
    "admin_username = %s\\n"
    "admin_password = %s\\n"
    "authorization_function = mlflow.server.auth:authenticate_request_basic_auth\\n"
)
# Azure's rule for "allow public access from any Azure service".
AZURE_SERVICES = "0.0.0.0"
SERVER_COMMAND = " ".join(
    [
        f'printf \'{_AUTH_INI}\' "$MLFLOW_TRACKING_USERNAME" "$MLFLOW_ADMIN_PASSWORD"'
        f" > {AUTH_CONFIG} &&",
        "exec mlflow server --app-name basic-auth",
        f"--host 0.0.0.0 --port {MLFLOW_PORT} --static-prefix {STATIC_PREFIX}",
        # libpq takes the password from PGPASSWORD.
        '--backend-store-uri "postgresql://${DB_USER}@${DB_HOST}:'
        + str(DB_PORT)
        + '/${DB_NAME}?sslmode=require"',
        '--default-artifact-root "${ARTIFACT_ROOT}"',
        "--no-serve-artifacts",
    ]
)


@dataclass
class ModelRegistryArgs:
    resource_group_name: pulumi.Input[str]
    location: pulumi.Input[str]
    environment_id: pulumi.Input[str]
    environment_domain: pulumi.Input[str]
    identity: Identity
    registry_server: pulumi.Input[str]
    image: pulumi.Input[str]
    artifact_root: pulumi.Input[str]
    vault: Secrets
    # Workload -> principal id of the MLflow clients (they read the admin password).
    clients: Mapping[str, pulumi.Input[str]] = field(default_factory=dict)
    ingress: str = "external"
    db_sku: str = "Standard_B1ms"
    db_storage_gb: int = 32
    db_version: str = "16"
    backup_retention_days: int = 7
    deletion_protection: bool = True
    # Created after these (the identity's AcrPull grant).
    depends_on: Sequence[pulumi.Resource] = ()
    tags: dict[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.ingress not in INGRESS_MODES:
            raise ValueError(f"ingress must be one of {', '.join(INGRESS_MODES)}")
        if not self.db_sku.startswith("Standard_B"):
            raise ValueError("db_sku must be a Burstable size (Standard_B...)")
        if self.db_storage_gb not in (32, 64, 128, 256, 512, 1024):
            raise ValueError("db_storage_gb must be 32, 64, 128, 256, 512 or 1024")


class ModelRegistry(pulumi.ComponentResource):
    tracking_uri: pulumi.Output[str]
    server_fqdn: pulumi.Output[str]
    # What each client adds to its environment to sign in.
    client_environment: dict[str, Setting]

    def __init__(
        self, name: str, args: ModelRegistryArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("mlops:azure:ModelRegistry", name, None, opts)
        password = self._password(f"{name}-db-password")
        server, database = self._build_database(name, args, password)
        env = self._server_environment(name, args, server, password)
        mlflow = self._build_app(name, args, env, database)
        self.server_fqdn = ingress_fqdn(mlflow)
        self.tracking_uri = self.server_fqdn.apply(lambda f: f"https://{f}{STATIC_PREFIX}")
        self.register_outputs({"tracking_uri": self.tracking_uri})

    def _build_database(
        self, name: str, args: ModelRegistryArgs, password: pulumi.Output[str]
    ) -> tuple[dbforpostgresql.Server, dbforpostgresql.Database]:
        """A Burstable PostgreSQL Flexible Server that admits Azure's services, and its
        database."""
        child = pulumi.ResourceOptions(parent=self)
        server = dbforpostgresql.Server(
            f"{name}-pg",
            resource_group_name=args.resource_group_name,
            location=args.location,
            version=args.db_version,
            sku={"name": args.db_sku, "tier": "Burstable"},
            storage={"storage_size_gb": args.db_storage_gb, "auto_grow": "Enabled"},
            backup={
                "backup_retention_days": args.backup_retention_days,
                "geo_redundant_backup": "Disabled",
            },
            high_availability={"mode": "Disabled"},
            administrator_login=DB_ADMIN,
            administrator_login_password=password,
            auth_config={"password_auth": "Enabled", "active_directory_auth": "Disabled"},
            network={"public_network_access": "Enabled"},
            tags=args.tags,
            opts=pulumi.ResourceOptions(parent=self, protect=args.deletion_protection),
        )
        dbforpostgresql.FirewallRule(
            f"{name}-pg-azure",
            resource_group_name=args.resource_group_name,
            server_name=server.name,
            firewall_rule_name="AllowAzureServices",
            start_ip_address=AZURE_SERVICES,
            end_ip_address=AZURE_SERVICES,
            opts=child,
        )
        database = dbforpostgresql.Database(
            f"{name}-db",
            resource_group_name=args.resource_group_name,
            server_name=server.name,
            database_name=DB_NAME,
            charset="UTF8",
            collation="en_US.utf8",
            opts=child,
        )
        return server, database

    def _server_environment(
        self,
        name: str,
        args: ModelRegistryArgs,
        server: dbforpostgresql.Server,
        password: pulumi.Output[str],
    ) -> Environment:
        """The server's settings, its passwords as Key Vault references; also sets
        :attr:`client_environment`, what the clients sign in with."""
        child = pulumi.ResourceOptions(parent=self)
        identity = args.identity
        secret = args.vault.secret(
            PASSWORD_SECRET, password, readers={"mlflow": identity.principal_id}, opts=child
        )
        admin = args.vault.secret(
            ADMIN_SECRET,
            self._password(f"{name}-admin-password"),
            readers={"mlflow": identity.principal_id, **args.clients},
            opts=child,
        )
        flask_key = args.vault.secret(
            FLASK_SECRET,
            self._password(f"{name}-flask-secret-key"),
            readers={"mlflow": identity.principal_id},
            opts=child,
        )
        self.client_environment = {
            "MLFLOW_TRACKING_USERNAME": ADMIN_USER,
            "MLFLOW_TRACKING_PASSWORD": admin,
        }
        return {
            "MLFLOW_TRACKING_USERNAME": ADMIN_USER,
            "MLFLOW_ADMIN_PASSWORD": admin,
            "MLFLOW_AUTH_CONFIG_PATH": AUTH_CONFIG,
            "MLFLOW_FLASK_SERVER_SECRET_KEY": flask_key,
            "DB_HOST": server.fully_qualified_domain_name.apply(lambda h: h or ""),
            "DB_NAME": DB_NAME,
            "DB_USER": DB_ADMIN,
            "PGPASSWORD": secret,
            "ARTIFACT_ROOT": args.artifact_root,
            "MLFLOW_SERVER_ALLOWED_HOSTS": pulumi.Output.concat(
                "*.", args.environment_domain, ",localhost,localhost:*,127.0.0.1:*"
            ),
        }

    def _build_app(
        self,
        name: str,
        args: ModelRegistryArgs,
        env: Environment,
        database: dbforpostgresql.Database,
    ) -> containerapps.ContainerApp:
        """One MLflow server on the environment, started once its database exists."""
        run = container_workload(args.identity, args.registry_server, env, args.depends_on)
        health = containerapps.ContainerAppProbeHttpGetArgs(path=HEALTH_PATH, port=MLFLOW_PORT)
        return containerapps.ContainerApp(
            f"{name}-app",
            resource_group_name=args.resource_group_name,
            location=args.location,
            managed_environment_id=args.environment_id,
            identity=run.identity,
            configuration=containerapps.ConfigurationArgs(
                active_revisions_mode=containerapps.ActiveRevisionsMode.SINGLE,
                ingress=containerapps.IngressArgs(
                    external=args.ingress == "external",
                    target_port=MLFLOW_PORT,
                    transport=containerapps.IngressTransportMethod.HTTP,
                    allow_insecure=False,
                ),
                registries=run.registries,
                secrets=run.secrets,
            ),
            template=containerapps.TemplateArgs(
                containers=[
                    containerapps.ContainerArgs(
                        name="mlflow",
                        image=args.image,
                        command=["sh", "-c", SERVER_COMMAND],
                        resources=containerapps.ContainerResourcesArgs(cpu=0.5, memory="1Gi"),
                        env=run.env,
                        probes=[
                            containerapps.ContainerAppProbeArgs(
                                type=containerapps.Type.READINESS,
                                http_get=health,
                                period_seconds=15,
                            ),
                            containerapps.ContainerAppProbeArgs(
                                type=containerapps.Type.LIVENESS,
                                http_get=health,
                                initial_delay_seconds=30,
                                period_seconds=30,
                            ),
                        ],
                    )
                ],
                # One server: the registry is small, and a second one buys nothing here.
                scale=containerapps.ScaleArgs(min_replicas=1, max_replicas=1),
            ),
            tags=args.tags,
            opts=pulumi.ResourceOptions(parent=self, depends_on=[database, *run.depends_on]),
        )

    def _password(self, name: str) -> pulumi.Output[str]:
        """A random secret; letters and digits only (it lands in a URI-free ini and env)."""
        result = random.RandomPassword(
            name, length=32, special=False, opts=pulumi.ResourceOptions(parent=self)
        ).result
        return pulumi.Output.secret(result)  # type: ignore[arg-type]
