"""Whole-program runs of ``infra/__main__`` for ``mlops:cloud=gcp`` under mocks, shared by
the GCP stack tests (one run per configuration, cached)."""

from __future__ import annotations

import base64
import json
from collections.abc import Mapping
from functools import cache
from typing import Any

import pulumi

from infra.__main__ import main
from tests.infra.mocks import Resource, Stack, run_program

PROJECT_ID = "test-project"
PROJECT_NUMBER = "123456789012"
REGION = "europe-west1"
APP_IMAGE = f"{REGION}-docker.pkg.dev/ci-project/images/app:1.4.0"
OCR_IMAGE = f"{REGION}-docker.pkg.dev/ci-project/images/ocr:1.4.0"
EXTERNAL_MLFLOW = "https://mlflow.example.com"
GCS_AGENT = f"service-{PROJECT_NUMBER}@gs-project-accounts.iam.gserviceaccount.com"
PUBSUB_AGENT = f"serviceAccount:service-{PROJECT_NUMBER}@gcp-sa-pubsub.iam.gserviceaccount.com"
REQUIRED_OUTPUTS = (
    "api_url",
    "app_url",
    "uploads_bucket",
    "artifacts_bucket",
    "registry_url",
    "auth_issuer",
    "auth_audience",
    "training_job",
    "eventarc_subscription",
    "ocr_dead_letter_topic",
)

SERVICE = "gcp:cloudrunv2/service:Service"
JOB = "gcp:cloudrunv2/job:Job"
BUCKET = "gcp:storage/bucket:Bucket"
TRIGGER = "gcp:eventarc/trigger:Trigger"
API_CONFIG = "gcp:apigateway/apiConfig:ApiConfig"


def _account(name: str, inputs: dict[str, Any]) -> dict[str, Any]:
    email = f"{inputs['accountId']}@{PROJECT_ID}.iam.gserviceaccount.com"
    return {"email": email, "member": f"serviceAccount:{email}"}


STATES = {
    SERVICE: lambda name, inputs: {"uri": f"https://{name}-a1b2c3-ew.a.run.app"},
    "gcp:serviceaccount/account:Account": _account,
    "gcp:apigateway/api:Api": lambda name, inputs: {
        "managedService": f"{inputs['apiId']}-0a1b2c.apigateway.{PROJECT_ID}.cloud.goog"
    },
    "gcp:apigateway/gateway:Gateway": lambda name, inputs: {
        "defaultHostname": f"{inputs['gatewayId']}-4d5e6f.ew.gateway.dev"
    },
    "gcp:sql/databaseInstance:DatabaseInstance": lambda name, inputs: {
        "connectionName": f"{PROJECT_ID}:{REGION}:{name}"
    },
    TRIGGER: lambda name, inputs: {
        "transport": {
            "pubsub": {
                "topic": f"projects/{PROJECT_ID}/topics/eventarc-{REGION}-{name}-123",
                "subscription": (
                    f"projects/{PROJECT_ID}/subscriptions/eventarc-{REGION}-{name}-sub-123"
                ),
            }
        }
    },
    "random:index/randomPassword:RandomPassword": lambda name, inputs: {"result": "p" * 32},
}

CALLS = {
    "gcp:storage/getProjectServiceAccount:getProjectServiceAccount": lambda args: {
        "emailAddress": GCS_AGENT,
        "member": f"serviceAccount:{GCS_AGENT}",
        "project": PROJECT_ID,
        "id": PROJECT_ID,
    },
    "gcp:organizations/getProject:getProject": lambda args: {
        "number": PROJECT_NUMBER,
        "projectId": PROJECT_ID,
        "name": PROJECT_ID,
        "id": f"projects/{PROJECT_ID}",
    },
    "gcp:organizations/getClientConfig:getClientConfig": lambda args: {
        "accessToken": "ya29.mock-token",
        "project": PROJECT_ID,
        "region": REGION,
        "id": PROJECT_ID,
    },
}


def run_gcp(
    program: Any = main,
    *,
    provider: Mapping[str, str] | None = None,
    settings: Mapping[str, str] | None = None,
) -> Stack:
    """Run ``program`` with ``mlops:cloud=gcp``, ``mlops:<key>`` settings and the provider's
    settings (default: the test project and region)."""
    if provider is None:
        provider = {"gcp:project": PROJECT_ID, "gcp:region": REGION}
    config = {
        **provider,
        **{f"mlops:{key}": value for key, value in {"cloud": "gcp", **(settings or {})}.items()},
    }
    return run_program(program, config=config, calls=CALLS, states=STATES)


@cache
def stack(name: str) -> Stack:
    """One program run per named configuration, shared by every test module."""
    return run_gcp(settings=CONFIGURATIONS[name])


CONFIGURATIONS: dict[str, dict[str, str]] = {
    # Defaults: images built here, MLflow in the stack, Firebase tokens.
    "default": {},
    # CI-built images, an external MLflow, a custom OIDC issuer, a dev stack.
    "external": {
        "appImage": APP_IMAGE,
        "ocrImage": OCR_IMAGE,
        "mlflowTrackingUri": EXTERNAL_MLFLOW,
        "authIssuer": "https://accounts.google.com",
        "authJwksUri": "https://www.googleapis.com/oauth2/v3/certs",
        "authAudience": "mlops-api",
        "corsOrigins": json.dumps(["https://ui.example.com"]),
        "deletionProtection": "false",
    },
}


def run_failing(*, provider: dict[str, str] | None = None, **settings: str) -> tuple[Stack, str]:
    """Run a program expected to stop; return what it registered and its error."""
    errors: list[str] = []

    def program() -> None:
        try:
            main()
        except pulumi.RunError as exc:
            errors.append(str(exc))

    registered = run_gcp(program, provider=provider, settings=settings)
    assert errors, "the program was expected to stop with a RunError"
    return registered, errors[0]


# -- reading resources -------------------------------------------------------------------


def reveal(value: Any) -> Any:
    """An input with Pulumi's secret wrappers removed, at any depth."""
    from pulumi.runtime import rpc

    if isinstance(value, dict) and value.get(rpc._special_sig_key) == rpc._special_secret_sig:
        return reveal(value["value"])
    if isinstance(value, dict):
        return {k: reveal(v) for k, v in value.items()}
    if isinstance(value, list):
        return [reveal(v) for v in value]
    return value


def openapi(resource: Resource) -> dict[str, Any]:
    """The OpenAPI document of an API config, decoded."""
    documents = reveal(resource.inputs["openapiDocuments"])
    assert len(documents) == 1
    return json.loads(base64.b64decode(documents[0]["document"]["contents"]))


def env(resource: Resource) -> dict[str, Any]:
    """The first container's environment of a service or job: name -> value or secret ref."""
    template = reveal(resource.inputs["template"])
    if resource.type == JOB:
        template = template["template"]
    result: dict[str, Any] = {}
    for item in template["containers"][0].get("envs", []):
        result[item["name"]] = item.get("value", item.get("valueSource"))
    return result


def service_named(stack_: Stack, prefix: str) -> Resource:
    found = [r for r in stack_.of_type(SERVICE) if r.name.startswith(prefix)]
    assert len(found) == 1, f"expected one service named {prefix}*, found {[r.name for r in found]}"
    return found[0]


def iam_members(stack_: Stack) -> list[tuple[Resource, str, str]]:
    """Every (resource, role, member) an IAM member resource binds."""
    found = []
    for resource in stack_.resources:
        if resource.type.split(":")[-1].lower().endswith("iammember"):
            inputs = reveal(resource.inputs)
            found.append((resource, inputs.get("role", ""), inputs.get("member", "")))
    return found
