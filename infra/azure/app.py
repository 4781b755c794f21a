"""The Container Apps environment and the app (the HTTP API) in it.

- The environment ships container logs to the stack's Log Analytics workspace.
- The app: external HTTPS ingress on port 8000 (APIM is the public entry; the ingress is
  its backend), revisions mode ``Multiple`` with all traffic on the latest revision, so a
  new model version can later get a share of traffic by revision; min/max replicas and an
  HTTP concurrency scale rule; pulls its image from ACR and reads secrets from Key Vault
  with its own identity (``AZURE_CLIENT_ID``).
- Probes: liveness and readiness are ``GET /livez`` (the process serves). Container Apps
  counts only 2xx, and ``/health`` answers 503 until a model is loaded, while in the
  cloud the first model is trained through this very API: a probe on ``/health`` would
  never let the first replica take traffic. ``/health`` stays the gateway's public
  status route.

Example::

    env = ContainerEnvironment("apps", ContainerEnvironmentArgs(resource_group_name=rg,
        location=loc, workspace_customer_id=base.workspace_customer_id,
        workspace_shared_key=base.workspace_shared_key))
    app = AppService("app", AppServiceArgs(environment_id=env.environment_id, ...))
    app.url  # https://<app>.<env domain>
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import pulumi
from pulumi_azure_native import app as containerapps

from infra.azure.foundation import Identity
from infra.azure.sizes import check_size
from infra.azure.workloads import Environment, container_workload, ingress_fqdn

APP_PORT = 8000
LIVENESS_PATH = "/livez"


@dataclass
class ContainerEnvironmentArgs:
    resource_group_name: pulumi.Input[str]
    location: pulumi.Input[str]
    workspace_customer_id: pulumi.Input[str]
    workspace_shared_key: pulumi.Input[str]
    tags: dict[str, str] = field(default_factory=dict)


class ContainerEnvironment(pulumi.ComponentResource):
    environment_id: pulumi.Output[str]
    default_domain: pulumi.Output[str]

    def __init__(
        self, name: str, args: ContainerEnvironmentArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("mlops:azure:ContainerEnvironment", name, None, opts)
        environment = containerapps.ManagedEnvironment(
            f"{name}-env",
            resource_group_name=args.resource_group_name,
            location=args.location,
            app_logs_configuration={
                "destination": "log-analytics",
                "log_analytics_configuration": {
                    "customer_id": args.workspace_customer_id,
                    "shared_key": args.workspace_shared_key,
                },
            },
            zone_redundant=False,
            tags=args.tags,
            opts=pulumi.ResourceOptions(parent=self),
        )
        self.environment_id = environment.id
        self.default_domain = environment.default_domain
        self.register_outputs({"environment_id": self.environment_id})


@dataclass
class AppServiceArgs:
    resource_group_name: pulumi.Input[str]
    location: pulumi.Input[str]
    environment_id: pulumi.Input[str]
    identity: Identity
    registry_server: pulumi.Input[str]
    image: pulumi.Input[str]
    environment: Environment
    cpu: float = 1.0
    memory: str = "2Gi"
    min_replicas: int = 1
    max_replicas: int = 4
    # In-flight requests per replica before another one starts.
    concurrent_requests: int = 20
    cors_origins: Sequence[str] = ()
    # Created after these (the identity's AcrPull grant).
    depends_on: Sequence[pulumi.Resource] = ()
    tags: dict[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        check_size(self.cpu, self.memory, "app")
        if not 0 <= self.min_replicas <= self.max_replicas <= 300 or self.max_replicas < 1:
            raise ValueError("replicas need 0 <= min_replicas <= max_replicas <= 300, max >= 1")
        if self.concurrent_requests < 1:
            raise ValueError("concurrent_requests must be at least 1")


class AppService(pulumi.ComponentResource):
    app_id: pulumi.Output[str]
    fqdn: pulumi.Output[str]
    url: pulumi.Output[str]

    def __init__(
        self, name: str, args: AppServiceArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("mlops:azure:AppService", name, None, opts)
        run = container_workload(
            args.identity, args.registry_server, args.environment, args.depends_on
        )
        container_app = containerapps.ContainerApp(
            f"{name}-app",
            resource_group_name=args.resource_group_name,
            location=args.location,
            managed_environment_id=args.environment_id,
            identity=run.identity,
            configuration=containerapps.ConfigurationArgs(
                active_revisions_mode=containerapps.ActiveRevisionsMode.MULTIPLE,
                ingress=containerapps.IngressArgs(
                    external=True,
                    target_port=APP_PORT,
                    transport=containerapps.IngressTransportMethod.AUTO,
                    allow_insecure=False,
                    traffic=[containerapps.TrafficWeightArgs(latest_revision=True, weight=100)],
                    cors_policy=_cors(args.cors_origins),
                ),
                registries=run.registries,
                secrets=run.secrets,
            ),
            template=containerapps.TemplateArgs(
                containers=[
                    containerapps.ContainerArgs(
                        name="app",
                        image=args.image,
                        resources=containerapps.ContainerResourcesArgs(
                            cpu=args.cpu, memory=args.memory
                        ),
                        env=run.env,
                        probes=_probes(),
                    )
                ],
                scale=containerapps.ScaleArgs(
                    min_replicas=args.min_replicas,
                    max_replicas=args.max_replicas,
                    rules=[
                        containerapps.ScaleRuleArgs(
                            name="http-concurrency",
                            http=containerapps.HttpScaleRuleArgs(
                                metadata={"concurrentRequests": str(args.concurrent_requests)}
                            ),
                        )
                    ],
                ),
            ),
            tags=args.tags,
            opts=pulumi.ResourceOptions(parent=self, depends_on=run.depends_on),
        )
        self.app_id = container_app.id
        self.fqdn = ingress_fqdn(container_app)
        self.url = self.fqdn.apply(lambda fqdn: f"https://{fqdn}")
        self.register_outputs({"url": self.url})


def _cors(origins: Sequence[str]) -> containerapps.CorsPolicyArgs | None:
    """The browser origins the app answers (the UI's), or None: no CORS."""
    if not origins:
        return None
    return containerapps.CorsPolicyArgs(
        allowed_origins=list(origins),
        allowed_methods=["DELETE", "GET", "OPTIONS", "PATCH", "POST", "PUT"],
        allowed_headers=["authorization", "content-type"],
        max_age=3600,
    )


def _probes() -> list[containerapps.ContainerAppProbeArgs]:
    """Startup (a slow first start allowed), readiness and liveness, all on the same path."""
    live = containerapps.ContainerAppProbeHttpGetArgs(path=LIVENESS_PATH, port=APP_PORT)
    return [
        containerapps.ContainerAppProbeArgs(
            type=containerapps.Type.STARTUP,
            http_get=live,
            # Up to 5 minutes for imports and the model load at start
            # (Container Apps caps the threshold at 10, the period at 240 s).
            period_seconds=30,
            failure_threshold=10,
        ),
        containerapps.ContainerAppProbeArgs(
            type=containerapps.Type.READINESS,
            http_get=live,
            period_seconds=10,
            failure_threshold=3,
        ),
        containerapps.ContainerAppProbeArgs(
            type=containerapps.Type.LIVENESS,
            http_get=live,
            period_seconds=15,
            failure_threshold=4,
        ),
    ]
