"""The OCR worker: an Azure Function App (Linux, custom container) on an Elastic Premium plan.

Why a container on Elastic Premium: the OCR runs tesseract, an apt package the Functions
Python images lack, so the function ships as its own image
(docker/azure-function.Dockerfile). Neither Flex Consumption nor the Linux Consumption
plan runs custom containers; Elastic Premium does,
scales on Event Grid load and keeps one warm instance (no cold start per upload). The
alternative, RapidOCR (pip-only) on Flex Consumption, would drop the container but change
the OCR engine the other clouds use.

The function host's own storage (``AzureWebJobsStorage``: locks, keys) is a separate
account reached with the OCR identity (``__accountName``/``__credential``/``__clientId``),
shared-key access off. The container carries the code, so no Azure Files content share
(``WEBSITE_CONTENTAZUREFILECONNECTIONSTRING``, which needs an account key) is used. The
host needs Storage Blob Data Owner on that account (host locks use blob leases); the
account holds nothing else.

Example::

    ocr = OcrFunction("ocr", OcrFunctionArgs(resource_group_name=rg, location=loc,
        suffix=base.suffix, subscription_id=sub, identity=base.identities["ocr"],
        registry_server=images.login_server, image=images.ocr_image, environment=env,
        app_insights_connection_string=base.app_insights_connection_string))
    ocr.function_app_id  # Event Grid delivers to <id>/functions/on_blob_created
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import pulumi
from pulumi_azure_native import web

from infra.azure.config import ocr_lease_seconds
from infra.azure.foundation import Identity
from infra.azure.roles import STORAGE_BLOB_DATA_OWNER, assign_role
from infra.azure.storage_accounts import storage_account
from infra.azure.workloads import Environment, app_settings, waits_for

PLAN_SKUS = ("EP1", "EP2", "EP3")


@dataclass
class OcrFunctionArgs:
    resource_group_name: pulumi.Input[str]
    location: pulumi.Input[str]
    suffix: pulumi.Input[str]
    subscription_id: pulumi.Input[str]
    identity: Identity
    registry_server: pulumi.Input[str]
    image: pulumi.Input[str]
    environment: Environment
    app_insights_connection_string: pulumi.Input[str]
    plan_sku: str = "EP1"
    max_instances: int = 3
    # Created after these (the identity's AcrPull grant).
    depends_on: Sequence[pulumi.Resource] = ()
    tags: dict[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.plan_sku not in PLAN_SKUS:
            raise ValueError(f"plan_sku must be one of {', '.join(PLAN_SKUS)}")
        if not 1 <= self.max_instances <= 100:
            raise ValueError("max_instances must be from 1 to 100")


def host_settings(
    account_name: pulumi.Input[str], client_id: pulumi.Input[str]
) -> dict[str, pulumi.Input[str]]:
    """The Functions host's settings: identity-based AzureWebJobsStorage, no content share."""
    return {
        "FUNCTIONS_EXTENSION_VERSION": "~4",
        "FUNCTIONS_WORKER_RUNTIME": "python",
        "AzureWebJobsStorage__accountName": account_name,
        "AzureWebJobsStorage__credential": "managedidentity",
        "AzureWebJobsStorage__clientId": client_id,
        # The image holds the code: no shared $HOME, no Azure Files.
        "WEBSITES_ENABLE_APP_SERVICE_STORAGE": "false",
    }


class OcrFunction(pulumi.ComponentResource):
    function_app_id: pulumi.Output[str]
    function_app_name: pulumi.Output[str]
    host_storage_account: pulumi.Output[str]

    def __init__(
        self, name: str, args: OcrFunctionArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("mlops:azure:OcrFunction", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        identity = args.identity
        host = storage_account(
            f"{name}-host",
            name_prefix="mlopsfunc",
            suffix=args.suffix,
            resource_group_name=args.resource_group_name,
            location=args.location,
            sku="Standard_LRS",
            tags=args.tags,
            opts=child,
        )
        host_access = assign_role(
            f"{name}-host-owner",
            role=STORAGE_BLOB_DATA_OWNER,
            scope=host.id,
            principal_id=identity.principal_id,
            subscription_id=args.subscription_id,
            opts=child,
        )
        plan = web.AppServicePlan(
            f"{name}-plan",
            resource_group_name=args.resource_group_name,
            location=args.location,
            kind="elastic",
            reserved=True,  # Linux
            sku={"name": args.plan_sku, "tier": "ElasticPremium"},
            maximum_elastic_worker_count=args.max_instances,
            tags=args.tags,
            opts=child,
        )
        env = {
            **host_settings(host.name, identity.client_id),
            "APPLICATIONINSIGHTS_CONNECTION_STRING": args.app_insights_connection_string,
            **args.environment,
            "AZURE_CLIENT_ID": identity.client_id,
            # A retry may take a document over once the invocation is surely over.
            "MLOPS_OCR_LEASE_SECONDS": str(ocr_lease_seconds()),
        }
        function_app = web.WebApp(
            f"{name}-app",
            resource_group_name=args.resource_group_name,
            location=args.location,
            kind="functionapp,linux,container",
            reserved=True,
            server_farm_id=plan.id,
            https_only=True,
            identity=web.ManagedServiceIdentityArgs(
                type=web.ManagedServiceIdentityType.USER_ASSIGNED,
                user_assigned_identities=[identity.id],
            ),
            key_vault_reference_identity=identity.id,
            site_config=web.SiteConfigArgs(
                linux_fx_version=pulumi.Output.concat("DOCKER|", args.image),
                acr_use_managed_identity_creds=True,
                acr_user_managed_identity_id=identity.client_id,
                app_settings=app_settings(env),
                ftps_state=web.FtpsState.DISABLED,
                min_tls_version=web.SupportedTlsVersions.SUPPORTED_TLS_VERSIONS_1_2,
                http20_enabled=True,
                function_app_scale_limit=args.max_instances,
                minimum_elastic_instance_count=1,
            ),
            tags=args.tags,
            opts=pulumi.ResourceOptions(
                parent=self, depends_on=waits_for(env, host_access, *args.depends_on)
            ),
        )
        self.function_app_id = function_app.id
        self.function_app_name = function_app.name
        self.host_storage_account = host.name
        self.register_outputs(
            {"function_app_id": self.function_app_id, "host_storage_account": host.name}
        )
