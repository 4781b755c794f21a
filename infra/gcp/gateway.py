"""The public entry: API Gateway in front of the app, checking a JWT on every route but
``/health``.

API Gateway takes an OpenAPI 2.0 document. :func:`openapi_document` writes it from
:data:`ROUTES`, the app's HTTP contract (``/metrics`` and the local-mode
``/v1/uploads/{token}`` are deliberately absent; a test compares the table with the
app's own OpenAPI). Each route goes to the Cloud Run URL (``x-google-backend``, path
appended); the gateway signs an ID token for it as ``gateway_service_account``, the only
member with ``roles/run.invoker`` on the app (see infra/gcp/app.py).

Tokens: by default the issuer is Firebase Authentication / Identity Platform of the
project (``https://securetoken.google.com/<project>``, audience = the project id, keys
at Google's x509 endpoint for ``securetoken@system.gserviceaccount.com``); any OIDC
issuer works by config (issuer, JWKS URI, audiences). Requests without a valid token
get a 401 from the gateway and never reach Cloud Run.

The API config is immutable: a change creates a new one (``api_config_id_prefix``), the
gateway moves to it, then the old one goes (Pulumi's create-before-delete).

Example::

    gateway = Gateway("api", GatewayArgs(project="p", region="europe-west1",
        api_id="mlops-dev", backend_url=app.url, service_account=gateway_email,
        issuer="https://securetoken.google.com/p", jwks_uri=FIREBASE_JWKS_URI,
        audiences=["p"]))
    gateway.url  # https://mlops-dev-gw-xxxx.ew.gateway.dev
"""

from __future__ import annotations

import base64
import json
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import pulumi
from pulumi_gcp import apigateway, projects

from infra.gcp.foundation import child_opts

FIREBASE_ISSUER_PREFIX = "https://securetoken.google.com/"
# What API Gateway reads (x509 certificates, one of the formats it accepts).
FIREBASE_JWKS_URI = (
    "https://www.googleapis.com/service_accounts/v1/metadata/x509/"
    "securetoken@system.gserviceaccount.com"
)
# The same keys as a JWK set, the format the app's verifier (PyJWKClient) reads.
FIREBASE_JWK_SET_URI = (
    "https://www.googleapis.com/service_accounts/v1/jwk/securetoken@system.gserviceaccount.com"
)
SECURITY_SCHEME = "jwt"
PUBLIC_ROUTES = frozenset({("GET", "/health")})
# Every route of the app's API (app/api/routes), as (method, path template).
ROUTES: tuple[tuple[str, str], ...] = (
    ("GET", "/health"),
    ("POST", "/v1/predict"),
    ("POST", "/v1/documents"),
    ("POST", "/v1/documents/upload-url"),
    ("GET", "/v1/documents/{document_id}"),
    ("POST", "/v1/documents/{document_id}/feedback"),
    ("POST", "/v1/predictions/{prediction_id}/feedback"),
    ("GET", "/v1/models"),
    ("POST", "/v1/models/{name}/aliases/champion"),
    ("POST", "/v1/training-jobs"),
    ("GET", "/v1/training-jobs"),
    ("GET", "/v1/training-jobs/{job_id}"),
    ("GET", "/v1/monitoring"),
)
# API Gateway gives up on the backend after this long (its default is 15 s).
BACKEND_DEADLINE_SECONDS = 60.0


def firebase_issuer(project: str) -> str:
    return f"{FIREBASE_ISSUER_PREFIX}{project}"


def operation_id(method: str, path: str) -> str:
    """``POST /v1/documents/{document_id}`` -> ``post_v1_documents_document_id``."""
    return "_".join([method.lower(), *re.findall(r"[a-z0-9]+", path.lower())])


def openapi_document(
    *,
    title: str,
    backend_url: str,
    issuer: str,
    jwks_uri: str,
    audiences: Sequence[str],
    routes: Sequence[tuple[str, str]] = ROUTES,
    public_routes: frozenset[tuple[str, str]] = PUBLIC_ROUTES,
    managed_service: str = "",
    allow_cors: bool = False,
) -> dict[str, Any]:
    """The OpenAPI 2.0 document API Gateway serves: every route to ``backend_url``,
    JWT-checked unless listed in ``public_routes``.

    >>> doc = openapi_document(title="t", backend_url="https://b.run.app", issuer="i",
    ...                        jwks_uri="j", audiences=["a"])
    >>> doc["paths"]["/health"]["get"]["security"], doc["paths"]["/v1/models"]["get"]["security"]
    ([], [{'jwt': []}])
    """
    paths: dict[str, dict[str, Any]] = {}
    for method, path in routes:
        operation: dict[str, Any] = {
            "operationId": operation_id(method, path),
            "security": [] if (method, path) in public_routes else [{SECURITY_SCHEME: []}],
            "responses": {"default": {"description": "The app's response."}},
        }
        parameters = [
            {"in": "path", "name": name, "required": True, "type": "string"}
            for name in re.findall(r"{([^}]+)}", path)
        ]
        if parameters:
            operation["parameters"] = parameters
        paths.setdefault(path, {})[method.lower()] = operation
    document: dict[str, Any] = {
        "swagger": "2.0",
        "info": {"title": title, "version": "1.0.0"},
        "schemes": ["https"],
        "produces": ["application/json"],
        "x-google-backend": {
            "address": backend_url,
            "jwt_audience": backend_url,
            "path_translation": "APPEND_PATH_TO_ADDRESS",
            "deadline": BACKEND_DEADLINE_SECONDS,
        },
        "securityDefinitions": {
            SECURITY_SCHEME: {
                "type": "oauth2",
                "flow": "implicit",
                "authorizationUrl": "",
                "x-google-issuer": issuer,
                "x-google-jwks_uri": jwks_uri,
                "x-google-audiences": ",".join(audiences),
            }
        },
        "paths": paths,
    }
    if allow_cors and managed_service:
        # Preflight OPTIONS requests go to the app unauthenticated.
        document["x-google-endpoints"] = [{"name": managed_service, "allowCors": True}]
    return document


@dataclass
class GatewayArgs:
    project: str
    # An API Gateway region (not every Cloud Run region has one).
    region: str
    # Project-wide id of the API (stack-unique), 1-63 characters [a-z0-9-].
    api_id: str
    backend_url: pulumi.Input[str]
    # Email of the account the gateway signs backend ID tokens as.
    service_account: pulumi.Input[str]
    issuer: str
    jwks_uri: str
    audiences: Sequence[str]
    routes: Sequence[tuple[str, str]] = ROUTES
    allow_cors: bool = False
    labels: dict[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not self.audiences:
            raise ValueError("GatewayArgs.audiences: name at least one token audience.")


class Gateway(pulumi.ComponentResource):
    url: pulumi.Output[str]
    api_id: pulumi.Output[str]
    managed_service: pulumi.Output[str]

    def __init__(
        self, name: str, args: GatewayArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("mlops:gcp:Gateway", name, None, opts)
        child = child_opts(self, opts)
        api = apigateway.Api(
            f"{name}-api",
            project=args.project,
            api_id=args.api_id,
            display_name=args.api_id,
            labels=args.labels,
            opts=child,
        )
        # Each API is a managed service of its own, to be enabled like any API.
        enabled = projects.Service(
            f"{name}-managed-service",
            project=args.project,
            service=api.managed_service,
            disable_on_destroy=False,
            opts=child,
        )
        contents = pulumi.Output.all(args.backend_url, api.managed_service).apply(
            lambda values: _encoded(
                openapi_document(
                    title=args.api_id,
                    backend_url=values[0],
                    issuer=args.issuer,
                    jwks_uri=args.jwks_uri,
                    audiences=args.audiences,
                    routes=args.routes,
                    managed_service=values[1] or "",
                    allow_cors=args.allow_cors,
                )
            )
        )
        config = apigateway.ApiConfig(
            f"{name}-config",
            project=args.project,
            api=api.api_id,
            api_config_id_prefix=f"{args.api_id}-",
            openapi_documents=[{"document": {"path": "openapi.yaml", "contents": contents}}],
            gateway_config={"backend_config": {"google_service_account": args.service_account}},
            labels=args.labels,
            opts=child,
        )
        gateway = apigateway.Gateway(
            f"{name}-gateway",
            project=args.project,
            region=args.region,
            gateway_id=f"{args.api_id}-gw"[:63],
            api_config=config.id,
            display_name=args.api_id,
            labels=args.labels,
            opts=child.merge(pulumi.ResourceOptions(depends_on=[enabled])),
        )
        self.url = gateway.default_hostname.apply(lambda host: f"https://{host}")
        self.api_id = api.api_id
        self.managed_service = api.managed_service
        self.register_outputs(
            {"url": self.url, "api_id": self.api_id, "managed_service": self.managed_service}
        )


def _encoded(document: dict[str, Any]) -> str:
    """Base64 of the document (JSON is YAML, and API Gateway reads either)."""
    return base64.b64encode(json.dumps(document, indent=2).encode()).decode()
