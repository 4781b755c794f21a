"""The project's ground floor: the Google APIs the stack uses, and one service account
per workload.

Every API is enabled with ``disable_on_destroy=False``: destroying one stack must not
switch an API off under another stack (or anything else) in the same project.

Each workload runs as its own service account, so a role granted to one is never
granted to another. Roles are bound by the components that own the resources, at the
resource (bucket, secret, service, job) wherever GCP allows it; this module binds
nothing. Primitive roles (``PRIMITIVE_ROLES``) are never granted; tests/infra/gcp checks
every binding of the program against them.

Example::

    base = Foundation("base", FoundationArgs(project="my-proj", prefix="mlops-dev"))
    base.accounts["app"].email   # mlops-dev-app@my-proj.iam.gserviceaccount.com
    Bucket(..., opts=pulumi.ResourceOptions(depends_on=base.apis))
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Sequence
from dataclasses import dataclass, field

import pulumi
from pulumi_gcp import projects, serviceaccount

# The APIs the program's resources and the workloads' clients call.
REQUIRED_APIS = (
    "apigateway.googleapis.com",
    "artifactregistry.googleapis.com",
    "cloudresourcemanager.googleapis.com",  # project-level IAM bindings
    "eventarc.googleapis.com",
    "firestore.googleapis.com",
    "iam.googleapis.com",
    "iamcredentials.googleapis.com",  # signBlob for V4 signed upload URLs
    "logging.googleapis.com",  # training job log tails
    "pubsub.googleapis.com",  # Eventarc's transport and the dead letters
    "run.googleapis.com",
    "secretmanager.googleapis.com",
    "servicecontrol.googleapis.com",  # API Gateway
    "servicemanagement.googleapis.com",  # API Gateway
    "storage.googleapis.com",
)
# Only when the stack runs MLflow: Cloud SQL and the VPC its clients reach it through.
MLFLOW_APIS = ("compute.googleapis.com", "sqladmin.googleapis.com")

# One service account per workload (key -> what runs as it).
WORKLOADS = {
    "app": "the API (Cloud Run service)",
    "ocr": "the OCR worker (Cloud Run service behind Eventarc)",
    "training": "training runs (Cloud Run job)",
    "mlflow": "the MLflow tracking server (Cloud Run service)",
    "gateway": "API Gateway calling the app",
    "trigger": "the Eventarc trigger delivering upload events",
}
PRIMITIVE_ROLES = frozenset({"roles/owner", "roles/editor", "roles/viewer"})


def short_id(*parts: str, limit: int, sep: str = "-") -> str:
    """Join ``parts`` into an id of at most ``limit`` characters ([a-z0-9] and ``sep``).

    A name that does not fit keeps its end (the role) and gets a short hash of the whole,
    so two long stack names still give two ids.

    >>> short_id("mlops-dev", "app", limit=30)
    'mlops-dev-app'
    >>> len(short_id("mlops-a-very-long-stack-name-indeed", "training", limit=30))
    30
    """
    joined = sep.join(parts)
    cleaned = re.sub(rf"[^a-z0-9{re.escape(sep)}]+", sep, joined.lower()).strip(sep)
    if not cleaned[:1].isalpha():
        cleaned = f"m{sep}{cleaned}"
    if len(cleaned) <= limit:
        return cleaned
    digest = hashlib.sha256(joined.encode()).hexdigest()[:6]
    tail = f"{sep}{digest}{sep}{parts[-1]}"
    return cleaned[: limit - len(tail)].rstrip(sep) + tail


@dataclass
class FoundationArgs:
    project: str
    # Stack-unique prefix of project-wide ids (service accounts): "mlops-<stack>".
    prefix: str
    apis: Sequence[str] = REQUIRED_APIS
    workloads: dict[str, str] = field(default_factory=lambda: dict(WORKLOADS))


class Foundation(pulumi.ComponentResource):
    apis: list[projects.Service]
    accounts: dict[str, serviceaccount.Account]

    def __init__(
        self, name: str, args: FoundationArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("mlops:gcp:Foundation", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        self.apis = [
            projects.Service(
                f"{name}-{api.split('.')[0]}",
                project=args.project,
                service=api,
                disable_on_destroy=False,
                opts=child,
            )
            for api in args.apis
        ]
        after_apis = pulumi.ResourceOptions(parent=self, depends_on=self.apis)
        self.accounts = {
            role: serviceaccount.Account(
                f"{name}-{role}",
                project=args.project,
                account_id=short_id(args.prefix, role, limit=30),
                display_name=f"{args.prefix} {role}",
                description=f"Runs {what}.",
                opts=after_apis,
            )
            for role, what in args.workloads.items()
        }
        self.register_outputs(
            {
                "apis": [api.service for api in self.apis],
                "accounts": {role: account.email for role, account in self.accounts.items()},
            }
        )

    def member(self, role: str) -> pulumi.Output[str]:
        """``serviceAccount:<email>`` of one workload's account."""
        return self.accounts[role].email.apply(lambda email: f"serviceAccount:{email}")


def child_opts(
    parent: pulumi.Resource, opts: pulumi.ResourceOptions | None
) -> pulumi.ResourceOptions:
    """Options of a component's children: parented, and after what the component waits for
    (the enabled APIs), which Pulumi does not pass from a component to its children."""
    depends_on = opts.depends_on if opts is not None else None
    if depends_on is None:
        after: list = []
    elif isinstance(depends_on, list | tuple):
        after = list(depends_on)
    else:
        after = [depends_on]
    return pulumi.ResourceOptions(parent=parent, depends_on=after)
