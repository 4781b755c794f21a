"""The app: a Cloud Run v2 service that only API Gateway may invoke.

Why ingress is ``INGRESS_TRAFFIC_ALL`` and not internal: API Gateway is a Google-managed
proxy outside the project's VPC; it calls the backend at its public ``*.run.app`` URL
(``x-google-backend``), and Cloud Run counts such requests as external. With internal
ingress (or "internal and Cloud Load Balancing") every gateway request would get a 404
from Cloud Run's front end. The service is still closed: Cloud Run checks IAM on every
request, there is no ``allUsers`` invoker, and ``roles/run.invoker`` is bound on this
service to the gateway's service account alone, which API Gateway uses to sign the ID
token (audience = the service URL) it adds to each request. A caller who finds the URL
gets a 403 without a token from that account. (Only a serverless NEG behind an external
Application Load Balancer would allow "internal and Cloud Load Balancing" ingress; API
Gateway offers no such backend.)

API Gateway moves the caller's own ``Authorization`` header to
``X-Forwarded-Authorization`` before adding its token, and passes the verified claims in
``X-Apigateway-Api-Userinfo``; the app verifies the caller's JWT itself as well.

Probes: the startup and liveness probes ask ``/livez``, which answers 200 once the app
serves. Not ``/health``: it answers 503 until a model is loaded, and Cloud Run counts only
2xx, so a probe on it would keep a new stack, whose registry is still empty, from ever
starting (the first model is trained through the API) and restart every instance whose
champion failed to load (the watcher retries that load in place).

Example::

    app = AppService("app", AppServiceArgs(project="p", region="europe-west1",
        image=images.app_image, service_account=app_email,
        environment=env, invokers=[gateway_member]))
    app.url  # https://app-service-....run.app
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import pulumi
from pulumi_gcp import cloudrunv2

from infra.gcp.cloud_run import INGRESS_ALL, VpcEgress, bind_invokers, limits, vpc_egress
from infra.gcp.foundation import child_opts
from infra.gcp.secrets import EnvValue, container_envs
from infra.gcp.sizes import check_size

APP_PORT = 8000  # MLOPS_PORT in docker/app.Dockerfile
LIVENESS_PATH = "/livez"


@dataclass
class AppServiceArgs:
    project: str
    region: str
    image: pulumi.Input[str]
    # Email of the app's service account.
    service_account: pulumi.Input[str]
    environment: Mapping[str, EnvValue] = field(default_factory=dict)
    # Members given roles/run.invoker on the service: the gateway's account, nobody else.
    invokers: Sequence[pulumi.Input[str]] = ()
    egress: VpcEgress | None = None
    cpu: int = 1
    memory_mib: int = 2048
    min_instances: int = 1
    max_instances: int = 4
    concurrency: int = 40
    timeout_seconds: int = 60
    deletion_protection: bool = True
    labels: dict[str, str] = field(default_factory=dict)
    depends_on: Sequence[pulumi.Resource] = ()

    def __post_init__(self) -> None:
        problem = check_size(self.cpu, self.memory_mib, "app")
        if problem:
            raise ValueError(problem)
        if not 0 <= self.min_instances <= self.max_instances:
            raise ValueError("app instances need 0 <= min_instances <= max_instances.")
        if not 1 <= self.concurrency <= 1000:
            raise ValueError("concurrency must be 1-1000 requests per instance.")


class AppService(pulumi.ComponentResource):
    url: pulumi.Output[str]
    service_name: pulumi.Output[str]

    def __init__(
        self, name: str, args: AppServiceArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("mlops:gcp:AppService", name, None, opts)
        child = child_opts(self, opts)
        template: cloudrunv2.ServiceTemplateArgsDict = {
            "service_account": args.service_account,
            "max_instance_request_concurrency": args.concurrency,
            "timeout": f"{args.timeout_seconds}s",
            "scaling": {
                "min_instance_count": args.min_instances,
                "max_instance_count": args.max_instances,
            },
            "vpc_access": vpc_egress(args.egress),
            "containers": [
                {
                    "image": args.image,
                    "ports": {"container_port": APP_PORT},
                    "resources": {
                        "limits": limits(args.cpu, args.memory_mib),
                        # CPU between requests: the app polls the registry and
                        # retrains in background threads.
                        "cpu_idle": False,
                        "startup_cpu_boost": True,
                    },
                    "envs": container_envs(args.environment),
                    "startup_probe": {
                        "http_get": {"path": LIVENESS_PATH, "port": APP_PORT},
                        "period_seconds": 5,
                        "timeout_seconds": 3,
                        # Up to 4 minutes: the first start downloads and loads a model.
                        "failure_threshold": 48,
                    },
                    "liveness_probe": {
                        "http_get": {"path": LIVENESS_PATH, "port": APP_PORT},
                        "period_seconds": 30,
                        "timeout_seconds": 5,
                        "failure_threshold": 10,
                    },
                }
            ],
        }
        service = cloudrunv2.Service(
            f"{name}-service",
            project=args.project,
            location=args.region,
            ingress=INGRESS_ALL,  # see the module docstring: API Gateway calls the public URL
            deletion_protection=args.deletion_protection,
            template=template,
            labels=args.labels,
            opts=child.merge(pulumi.ResourceOptions(depends_on=list(args.depends_on))),
        )
        bind_invokers(
            name, service, args.invokers, project=args.project, region=args.region, opts=child
        )
        self.url = service.uri
        self.service_name = service.name
        self.register_outputs({"url": self.url, "service_name": self.service_name})
