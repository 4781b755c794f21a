"""The Azure program: wire the components and export the stack's outputs.

Order: foundation (group, logs, identities) -> registry and Key Vault -> storage and
Cosmos DB -> the Container Apps environment -> MLflow (unless external) -> the training
job, the app, the OCR Function -> upload events -> API Management.

Every workload gets the same ``MLOPS_*`` settings (app/settings.py) plus its own
``AZURE_CLIENT_ID``; an external MLflow URI is a Key Vault secret read by reference.

Example::

    azure_program(AzureStackConfig(apim_publisher_email="ops@example.com",
                                   auth_audience="<api client id>"))
"""

from __future__ import annotations

import pulumi

from infra.azure.app import (
    AppService,
    AppServiceArgs,
    ContainerEnvironment,
    ContainerEnvironmentArgs,
)
from infra.azure.config import AzureStackConfig
from infra.azure.documents import (
    DEADLETTER,
    UPLOADS,
    Documents,
    DocumentsArgs,
    UploadEvents,
    UploadEventsArgs,
)
from infra.azure.foundation import WORKLOADS, Foundation, FoundationArgs
from infra.azure.gateway import Gateway, GatewayArgs
from infra.azure.model_registry import ModelRegistry, ModelRegistryArgs
from infra.azure.ocr_function import OcrFunction, OcrFunctionArgs
from infra.azure.records import Records, RecordsArgs
from infra.azure.registry import Registry, RegistryArgs
from infra.azure.secrets import Secrets, SecretsArgs
from infra.azure.training import TrainingJob, TrainingJobArgs
from infra.azure.workloads import Setting

TRACKING_URI_SECRET = "mlflow-tracking-uri"


def entra_issuer(tenant_id: str) -> str:
    """The issuer of Entra ID v2 access tokens of ``tenant_id``."""
    return f"https://login.microsoftonline.com/{tenant_id}/v2.0"


def entra_jwks(tenant_id: str) -> str:
    """Entra ID's signing keys (not at ``<issuer>/.well-known/jwks.json``)."""
    return f"https://login.microsoftonline.com/{tenant_id}/discovery/v2.0/keys"


def azure_program(c: AzureStackConfig) -> None:
    missing = c.missing()
    if missing:
        raise pulumi.RunError(" ".join(missing))
    tags = {"project": pulumi.get_project(), "stack": pulumi.get_stack(), **c.tags}
    workloads = WORKLOADS if c.create_mlflow else tuple(w for w in WORKLOADS if w != "mlflow")
    base = Foundation(
        "base",
        FoundationArgs(workloads=workloads, log_retention_days=c.log_retention_days, tags=tags),
    )
    rg, loc, sub = base.resource_group_name, base.location, base.subscription_id
    ids = base.identities
    principals = {workload: identity.principal_id for workload, identity in ids.items()}

    images = Registry(
        "images",
        RegistryArgs(
            resource_group_name=rg,
            location=loc,
            suffix=base.suffix,
            subscription_id=sub,
            pullers=principals,
            app_image=c.app_image or None,
            ocr_image=c.ocr_image or None,
            sku=c.acr_sku,
            tags=tags,
        ),
    )
    vault = Secrets(
        "secrets",
        SecretsArgs(
            resource_group_name=rg,
            location=loc,
            suffix=base.suffix,
            tenant_id=base.tenant_id,
            subscription_id=sub,
            purge_protection=c.key_vault_purge_protection,
            tags=tags,
        ),
    )
    documents = Documents(
        "documents",
        DocumentsArgs(
            resource_group_name=rg,
            location=loc,
            suffix=base.suffix,
            subscription_id=sub,
            principals=principals,
            cors_origins=c.cors_origins,
            upload_expiration_days=c.upload_expiration_days,
            tags=tags,
        ),
    )
    clients = {w: p for w, p in principals.items() if w != "mlflow"}
    records = Records(
        "records", RecordsArgs(resource_group_name=rg, location=loc, principals=clients, tags=tags)
    )
    apps = ContainerEnvironment(
        "apps",
        ContainerEnvironmentArgs(
            resource_group_name=rg,
            location=loc,
            workspace_customer_id=base.workspace_customer_id,
            workspace_shared_key=base.workspace_shared_key,
            tags=tags,
        ),
    )

    tracking_uri: Setting
    mlflow_sign_in: dict[str, Setting] = {}
    if c.mlflow_tracking_uri is None:
        mlflow = ModelRegistry(
            "mlflow",
            ModelRegistryArgs(
                resource_group_name=rg,
                location=loc,
                environment_id=apps.environment_id,
                environment_domain=apps.default_domain,
                identity=ids["mlflow"],
                registry_server=images.login_server,
                image=images.app_image,
                artifact_root=documents.artifact_root,
                vault=vault,
                clients=clients,
                ingress=c.mlflow_ingress,
                db_sku=c.mlflow_db_sku,
                db_storage_gb=c.mlflow_db_storage_gb,
                deletion_protection=c.deletion_protection,
                depends_on=[images.pull_grants["mlflow"]],
                tags=tags,
            ),
        )
        tracking_uri = mlflow.tracking_uri
        if c.mlflow_ingress == "internal":
            pulumi.log.warn(
                "mlops:mlflowIngress is internal: the OCR Function runs outside the Container "
                "Apps environment and cannot reach MLflow to load the model."
            )
        mlflow_sign_in = mlflow.client_environment
    else:
        tracking_uri = vault.secret(TRACKING_URI_SECRET, c.mlflow_tracking_uri, readers=clients)

    issuer = (
        pulumi.Output.from_input(c.auth_issuer)
        if c.auth_issuer
        else base.tenant_id.apply(entra_issuer)
    )
    environment: dict[str, Setting] = {
        "MLOPS_CLOUD": "azure",
        "MLOPS_UPLOADS_BUCKET": UPLOADS,
        "MLOPS_AZURE_STORAGE_ACCOUNT_URL": documents.blob_endpoint,
        "MLOPS_AZURE_COSMOS_ENDPOINT": records.endpoint,
        "MLOPS_AZURE_COSMOS_DATABASE": records.database,
        "MLOPS_AZURE_SUBSCRIPTION_ID": sub,
        "MLOPS_AZURE_RESOURCE_GROUP": rg,
        "MLOPS_AZURE_LOG_WORKSPACE_ID": base.workspace_customer_id,
        "MLOPS_MLFLOW_TRACKING_URI": tracking_uri,
        "MLOPS_MLFLOW_ARTIFACT_ROOT": documents.artifact_root,
        "MLOPS_AUTH_ISSUER": issuer,
        "MLOPS_AUTH_AUDIENCE": ",".join(c.audiences),
        # Training is a job in the cloud, never a side effect of an empty registry.
        "MLOPS_TRAIN_ON_EMPTY_REGISTRY": "false",
        **mlflow_sign_in,
    }
    if not c.auth_issuer:
        environment["MLOPS_AUTH_JWKS_URL"] = base.tenant_id.apply(entra_jwks)

    training = TrainingJob(
        "training",
        TrainingJobArgs(
            resource_group_name=rg,
            location=loc,
            environment_id=apps.environment_id,
            identity=ids["training"],
            registry_server=images.login_server,
            image=images.app_image,
            environment=environment,
            subscription_id=sub,
            starter_principal_id=ids["app"].principal_id,
            workspace_id=base.workspace_id,
            cpu=c.azure_training_cpu,
            memory=c.azure_training_memory,
            timeout_minutes=c.training_timeout_minutes,
            depends_on=[images.pull_grants["training"]],
            tags=tags,
        ),
    )
    app = AppService(
        "app",
        AppServiceArgs(
            resource_group_name=rg,
            location=loc,
            environment_id=apps.environment_id,
            identity=ids["app"],
            registry_server=images.login_server,
            image=images.app_image,
            environment={**environment, "MLOPS_AZURE_TRAINING_JOB": training.job_name},
            cpu=c.azure_app_cpu,
            memory=c.azure_app_memory,
            min_replicas=c.app_min_replicas,
            max_replicas=c.app_max_replicas,
            concurrent_requests=c.app_concurrent_requests,
            cors_origins=c.cors_origins,
            depends_on=[images.pull_grants["app"]],
            tags=tags,
        ),
    )
    ocr = OcrFunction(
        "ocr",
        OcrFunctionArgs(
            resource_group_name=rg,
            location=loc,
            suffix=base.suffix,
            subscription_id=sub,
            identity=ids["ocr"],
            registry_server=images.login_server,
            image=images.ocr_image,
            environment=environment,
            app_insights_connection_string=base.app_insights_connection_string,
            plan_sku=c.ocr_plan_sku,
            max_instances=c.ocr_max_instances,
            depends_on=[images.pull_grants["ocr"]],
            tags=tags,
        ),
    )
    UploadEvents(
        "uploads",
        UploadEventsArgs(
            resource_group_name=rg,
            location=loc,
            subscription_id=sub,
            account_id=documents.account_id,
            deadletter_container_id=documents.container_ids[DEADLETTER],
            function_app_id=ocr.function_app_id,
            max_delivery_attempts=c.event_max_delivery_attempts,
            event_ttl_minutes=c.event_ttl_minutes,
            tags=tags,
        ),
    )
    gateway = Gateway(
        "gateway",
        GatewayArgs(
            resource_group_name=rg,
            location=loc,
            suffix=base.suffix,
            backend_url=app.url,
            issuer=issuer,
            audiences=c.audiences,
            publisher_email=c.apim_publisher_email,
            publisher_name=c.apim_publisher_name,
            rate_limit_calls=c.apim_rate_limit_calls,
            rate_limit_seconds=c.apim_rate_limit_seconds,
            concurrent_per_caller=c.apim_concurrent_per_caller,
            cors_origins=c.cors_origins,
            tags=tags,
        ),
    )

    pulumi.export("api_url", gateway.url)
    pulumi.export("app_url", app.url)
    pulumi.export("uploads_bucket", UPLOADS)
    pulumi.export("storage_account", documents.account_name)
    pulumi.export("registry_url", images.login_server)
    pulumi.export("resource_group", rg)
    pulumi.export("auth_issuer", issuer)
    pulumi.export("auth_audience", ",".join(c.audiences))
    pulumi.export("cosmos_endpoint", records.endpoint)
    pulumi.export("training_job", training.job_name)
    pulumi.export("ocr_function_app", ocr.function_app_name)
    pulumi.export("key_vault", vault.vault_name)
    if c.create_mlflow:
        # For admins (the UI, the MLflow client); the password is Key Vault's mlflow-admin-password.
        pulumi.export("mlflow_tracking_url", tracking_uri)
