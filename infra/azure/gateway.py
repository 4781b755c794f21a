"""The public entry: API Management (Consumption) in front of the app.

The API is built from the app's OpenAPI (openapi.py): one APIM operation per route, so
each carries its own policy. Every operation but ``GET /health`` validates the caller's
JWT (``validate-jwt``: signature from the issuer's OpenID configuration, issuer and
audience from config; Entra ID of the tenant by default). The app checks the same token
again: its ingress is public (Consumption APIM has no fixed outbound address to allow),
and its admin routes read the token's roles.

Throttling: the Consumption tier has no ``rate-limit-by-key`` (per caller), and its
``rate-limit`` counts per APIM subscription, which callers holding tokens rather than
subscription keys do not have; how it counts keyless calls is not documented, so it is
kept as a ceiling for the API as a whole, not relied on. What works per caller on every
tier is ``limit-concurrency`` with a key expression: the backend section forwards at most
``concurrent_per_caller`` requests of one client address at a time, and answers 429 to
the rest. A tier with ``rate-limit-by-key`` (Basic v2 and up) could key a rate on the
token's subject instead.

Example::

    gw = Gateway("gateway", GatewayArgs(resource_group_name=rg, location=loc,
        suffix=base.suffix, backend_url=app.url, issuer=issuer, audiences=[audience],
        publisher_email="ops@example.com"))
    gw.url  # https://mlops-apim-xxxx.azure-api.net
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from xml.sax.saxutils import escape, quoteattr

import pulumi
from pulumi_azure_native import apimanagement

from infra.azure.openapi import Operation, load_operations

PUBLIC_OPERATIONS = ("GET /health",)
API_ID = "mlops"
# APIM's renewal period is at most 300 s.
MAX_RENEWAL_SECONDS = 300


def jwt_policy(issuer: str, audiences: Sequence[str]) -> str:
    """An operation policy: the inherited API policy, then ``validate-jwt``."""
    audience_xml = "".join(f"<audience>{escape(a)}</audience>" for a in audiences)
    openid = quoteattr(issuer.rstrip("/") + "/.well-known/openid-configuration")
    return (
        "<policies><inbound><base />"
        '<validate-jwt header-name="Authorization" require-scheme="Bearer" '
        'failed-validation-httpcode="401" '
        'failed-validation-error-message="No bearer token, or one that does not verify.">'
        f"<openid-config url={openid} />"
        f"<audiences>{audience_xml}</audiences>"
        f"<issuers><issuer>{escape(issuer)}</issuer></issuers>"
        "</validate-jwt></inbound>"
        "<backend><base /></backend><outbound><base /></outbound>"
        "<on-error><base /></on-error></policies>"
    )


def api_policy(
    calls: int, renewal_seconds: int, cors_origins: Sequence[str], concurrent_per_caller: int
) -> str:
    """The API-wide policy: CORS (when origins are given), the rate limit, and at most
    ``concurrent_per_caller`` requests in flight per client address."""
    cors = ""
    if cors_origins:
        origins = "".join(f"<origin>{escape(o)}</origin>" for o in cors_origins)
        cors = (
            '<cors allow-credentials="false">'
            f"<allowed-origins>{origins}</allowed-origins>"
            "<allowed-methods><method>*</method></allowed-methods>"
            "<allowed-headers><header>authorization</header><header>content-type</header>"
            "</allowed-headers></cors>"
        )
    return (
        "<policies><inbound><base />"
        f"{cors}"
        f'<rate-limit calls="{calls}" renewal-period="{renewal_seconds}" />'
        "</inbound><backend>"
        '<limit-concurrency key="@(context.Request.IpAddress)" '
        f'max-count="{concurrent_per_caller}">'
        "<forward-request /></limit-concurrency>"
        "</backend><outbound><base /></outbound>"
        "<on-error><base /></on-error></policies>"
    )


@dataclass
class GatewayArgs:
    resource_group_name: pulumi.Input[str]
    location: pulumi.Input[str]
    suffix: pulumi.Input[str]
    backend_url: pulumi.Input[str]
    issuer: pulumi.Input[str]
    audiences: pulumi.Input[Sequence[str]]
    publisher_email: str
    publisher_name: str = "mlops-multicloud"
    operations: Sequence[Operation] = field(default_factory=load_operations)
    rate_limit_calls: int = 100
    rate_limit_seconds: int = 60
    concurrent_per_caller: int = 10
    cors_origins: Sequence[str] = ()
    tags: dict[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not self.publisher_email or "@" not in self.publisher_email:
            raise ValueError("publisher_email must be an email address")
        if self.rate_limit_calls < 1 or not 1 <= self.rate_limit_seconds <= MAX_RENEWAL_SECONDS:
            raise ValueError(
                f"rate_limit_calls must be >= 1 and rate_limit_seconds 1-{MAX_RENEWAL_SECONDS}"
            )
        if self.concurrent_per_caller < 1:
            raise ValueError("concurrent_per_caller must be >= 1")
        keys = [op.key for op in self.operations]
        if len(set(keys)) != len(keys):
            raise ValueError("operations must be unique by method and path")


class Gateway(pulumi.ComponentResource):
    url: pulumi.Output[str]
    service_name: pulumi.Output[str]
    operations: list[str]

    def __init__(
        self, name: str, args: GatewayArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("mlops:azure:Gateway", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        service = apimanagement.ApiManagementService(
            f"{name}-apim",
            service_name=pulumi.Output.concat("mlops-apim-", args.suffix),
            resource_group_name=args.resource_group_name,
            location=args.location,
            sku={"name": "Consumption", "capacity": 0},
            publisher_email=args.publisher_email,
            publisher_name=args.publisher_name,
            tags=args.tags,
            opts=child,
        )
        api = apimanagement.Api(
            f"{name}-api",
            api_id=API_ID,
            service_name=service.name,
            resource_group_name=args.resource_group_name,
            display_name="mlops-multicloud document API",
            # The API at the gateway's root: the app's paths unchanged (/health, /v1/...).
            path="",
            protocols=["https"],
            service_url=args.backend_url,
            # Callers authenticate with Entra ID tokens, not APIM subscription keys.
            subscription_required=False,
            api_type="http",
            opts=child,
        )
        # Children of the API name it by its id (API_ID), so they wait for it explicitly.
        after_api = pulumi.ResourceOptions(parent=self, depends_on=[api])
        apimanagement.ApiPolicy(
            f"{name}-api-policy",
            api_id=API_ID,
            service_name=service.name,
            resource_group_name=args.resource_group_name,
            policy_id="policy",
            format="rawxml",
            value=api_policy(
                args.rate_limit_calls,
                args.rate_limit_seconds,
                args.cors_origins,
                args.concurrent_per_caller,
            ),
            opts=after_api,
        )
        self.operations = self._build_operations(name, args, service, after_api)
        self.url = service.gateway_url.apply(lambda u: u or "")
        self.service_name = service.name
        self.register_outputs({"url": self.url, "operations": self.operations})

    def _build_operations(
        self,
        name: str,
        args: GatewayArgs,
        service: apimanagement.ApiManagementService,
        after_api: pulumi.ResourceOptions,
    ) -> list[str]:
        """One operation per app route, each but the public ones validating a JWT; returns
        their keys (``GET /health``)."""
        protected = pulumi.Output.all(args.issuer, args.audiences).apply(
            lambda values: jwt_policy(values[0], values[1])
        )
        keys: list[str] = []
        for op in args.operations:
            operation = apimanagement.ApiOperation(
                f"{name}-op-{op.operation_id}",
                api_id=API_ID,
                service_name=service.name,
                resource_group_name=args.resource_group_name,
                operation_id=op.operation_id,
                display_name=op.summary or op.key,
                method=op.method,
                url_template=op.url_template,
                template_parameters=[
                    {"name": p, "type": "string", "required": True} for p in op.path_parameters
                ],
                opts=after_api,
            )
            keys.append(op.key)
            if op.key in PUBLIC_OPERATIONS:
                continue
            apimanagement.ApiOperationPolicy(
                f"{name}-op-{op.operation_id}-jwt",
                api_id=API_ID,
                service_name=service.name,
                resource_group_name=args.resource_group_name,
                operation_id=op.operation_id,
                policy_id="policy",
                format="rawxml",
                value=protected,
                opts=pulumi.ResourceOptions(parent=self, depends_on=[operation]),
            )
        return keys
