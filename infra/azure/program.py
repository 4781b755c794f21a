"""The Azure program: wire the components and export the stack's outputs.

Stages: foundation (group, logs, identities, registry, Key Vault) -> data (storage and
Cosmos DB) -> compute (the Container Apps environment, MLflow unless external, the
training job, the app, the OCR Function and its upload events) -> edge (API Management,
the outputs).

Every workload gets the same ``MLOPS_*`` settings (app/settings.py) plus its own
``AZURE_CLIENT_ID``; an external MLflow URI is a Key Vault secret read by reference.

Example::

    azure_program(AzureStackConfig(apim_publisher_email="ops@example.com",
                                   auth_audience="<api client id>"))
"""

from __future__ import annotations

from dataclasses import dataclass

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


@dataclass(frozen=True)
class FoundationStage:
    tags: dict[str, str]
    base: Foundation
    images: Registry
    vault: Secrets
    principals: dict[str, pulumi.Output[str]]  # workload -> its identity's principal id
    clients: dict[str, pulumi.Output[str]]  # the same, MLflow's own identity left out


@dataclass(frozen=True)
class DataStage:
    documents: Documents
    records: Records


@dataclass(frozen=True)
class ComputeStage:
    app: AppService
    training: TrainingJob
    ocr: OcrFunction
    issuer: pulumi.Input[str]
    tracking_uri: Setting


def azure_program(c: AzureStackConfig) -> None:
    missing = c.missing()
    if missing:
        raise pulumi.RunError(" ".join(missing))
    ground = foundation(c)
    stored = data(c, ground)
    workloads = compute(c, ground, stored)
    edge(c, ground, stored, workloads)


def foundation(c: AzureStackConfig) -> FoundationStage:
    """The resource group, logs and identities; the image registry; Key Vault."""
    tags = {"project": pulumi.get_project(), "stack": pulumi.get_stack(), **c.tags}
    workloads = WORKLOADS if c.create_mlflow else tuple(w for w in WORKLOADS if w != "mlflow")
    base = Foundation(
        "base",
        FoundationArgs(workloads=workloads, log_retention_days=c.log_retention_days, tags=tags),
    )
    rg, loc, sub = base.resource_group_name, base.location, base.subscription_id
    principals = {workload: identity.principal_id for workload, identity in base.identities.items()}
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
    clients = {w: p for w, p in principals.items() if w != "mlflow"}
    return FoundationStage(tags, base, images, vault, principals, clients)


def data(c: AzureStackConfig, ground: FoundationStage) -> DataStage:
    """Blob Storage (uploads, artifacts, dead letters) and the Cosmos DB records."""
    base = ground.base
    documents = Documents(
        "documents",
        DocumentsArgs(
            resource_group_name=base.resource_group_name,
            location=base.location,
            suffix=base.suffix,
            subscription_id=base.subscription_id,
            principals=ground.principals,
            cors_origins=c.cors_origins,
            upload_expiration_days=c.upload_expiration_days,
            tags=ground.tags,
        ),
    )
    records = Records(
        "records",
        RecordsArgs(
            resource_group_name=base.resource_group_name,
            location=base.location,
            principals=ground.clients,
            tags=ground.tags,
        ),
    )
    return DataStage(documents, records)


def compute(c: AzureStackConfig, ground: FoundationStage, stored: DataStage) -> ComputeStage:
    """The Container Apps environment, MLflow (unless external), the training job, the
    app, the OCR Function and the upload events that start it."""
    base = ground.base
    apps = ContainerEnvironment(
        "apps",
        ContainerEnvironmentArgs(
            resource_group_name=base.resource_group_name,
            location=base.location,
            workspace_customer_id=base.workspace_customer_id,
            workspace_shared_key=base.workspace_shared_key,
            tags=ground.tags,
        ),
    )
    tracking_uri, mlflow_sign_in = _model_registry(c, ground, stored, apps)
    issuer = (
        pulumi.Output.from_input(c.auth_issuer)
        if c.auth_issuer
        else base.tenant_id.apply(entra_issuer)
    )
    environment = _environment(c, ground, stored, tracking_uri, issuer, mlflow_sign_in)
    training = _training_job(c, ground, apps, environment)
    app = _app_service(c, ground, apps, environment, training)
    ocr = _ocr_function(c, ground, environment)
    UploadEvents(
        "uploads",
        UploadEventsArgs(
            resource_group_name=base.resource_group_name,
            location=base.location,
            subscription_id=base.subscription_id,
            account_id=stored.documents.account_id,
            deadletter_container_id=stored.documents.container_ids[DEADLETTER],
            function_app_id=ocr.function_app_id,
            max_delivery_attempts=c.event_max_delivery_attempts,
            event_ttl_minutes=c.event_ttl_minutes,
            tags=ground.tags,
        ),
    )
    return ComputeStage(app, training, ocr, issuer, tracking_uri)


def edge(
    c: AzureStackConfig, ground: FoundationStage, stored: DataStage, workloads: ComputeStage
) -> None:
    """API Management in front of the app, and the stack's outputs."""
    base = ground.base
    app, documents = workloads.app, stored.documents
    gateway = Gateway(
        "gateway",
        GatewayArgs(
            resource_group_name=base.resource_group_name,
            location=base.location,
            suffix=base.suffix,
            backend_url=app.url,
            issuer=workloads.issuer,
            audiences=c.audiences,
            publisher_email=c.apim_publisher_email,
            publisher_name=c.apim_publisher_name,
            rate_limit_calls=c.apim_rate_limit_calls,
            rate_limit_seconds=c.apim_rate_limit_seconds,
            concurrent_per_caller=c.apim_concurrent_per_caller,
            cors_origins=c.cors_origins,
            tags=ground.tags,
        ),
    )

    pulumi.export("api_url", gateway.url)
    pulumi.export("app_url", app.url)
    pulumi.export("uploads_bucket", UPLOADS)
    pulumi.export("storage_account", documents.account_name)
    pulumi.export("registry_url", ground.images.login_server)
    pulumi.export("resource_group", base.resource_group_name)
    pulumi.export("auth_issuer", workloads.issuer)
    pulumi.export("auth_audience", ",".join(c.audiences))
    pulumi.export("cosmos_endpoint", stored.records.endpoint)
    pulumi.export("training_job", workloads.training.job_name)
    pulumi.export("ocr_function_app", workloads.ocr.function_app_name)
    pulumi.export("key_vault", ground.vault.vault_name)
    if c.create_mlflow:
        # For admins (the UI, the MLflow client); the password is Key Vault's mlflow-admin-password.
        pulumi.export("mlflow_tracking_url", workloads.tracking_uri)


def _model_registry(
    c: AzureStackConfig, ground: FoundationStage, stored: DataStage, apps: ContainerEnvironment
) -> tuple[Setting, dict[str, Setting]]:
    """MLflow's tracking URI and the settings its clients sign in with: the stack's own
    server, or the external one's URI as a Key Vault secret (no sign-in settings)."""
    if c.mlflow_tracking_uri is not None:
        uri = ground.vault.secret(
            TRACKING_URI_SECRET, c.mlflow_tracking_uri, readers=ground.clients
        )
        return uri, {}
    base, images = ground.base, ground.images
    mlflow = ModelRegistry(
        "mlflow",
        ModelRegistryArgs(
            resource_group_name=base.resource_group_name,
            location=base.location,
            environment_id=apps.environment_id,
            environment_domain=apps.default_domain,
            identity=base.identities["mlflow"],
            registry_server=images.login_server,
            image=images.app_image,
            artifact_root=stored.documents.artifact_root,
            vault=ground.vault,
            clients=ground.clients,
            ingress=c.mlflow_ingress,
            db_sku=c.mlflow_db_sku,
            db_storage_gb=c.mlflow_db_storage_gb,
            deletion_protection=c.deletion_protection,
            depends_on=[images.pull_grants["mlflow"]],
            tags=ground.tags,
        ),
    )
    if c.mlflow_ingress == "internal":
        pulumi.log.warn(
            "mlops:mlflowIngress is internal: the OCR Function runs outside the Container "
            "Apps environment and cannot reach MLflow to load the model."
        )
    return mlflow.tracking_uri, mlflow.client_environment


def _environment(
    c: AzureStackConfig,
    ground: FoundationStage,
    stored: DataStage,
    tracking_uri: Setting,
    issuer: pulumi.Input[str],
    mlflow_sign_in: dict[str, Setting],
) -> dict[str, Setting]:
    """The ``MLOPS_*`` settings every workload gets."""
    base, documents, records = ground.base, stored.documents, stored.records
    environment: dict[str, Setting] = {
        "MLOPS_CLOUD": "azure",
        "MLOPS_UPLOADS_BUCKET": UPLOADS,
        "MLOPS_AZURE_STORAGE_ACCOUNT_URL": documents.blob_endpoint,
        "MLOPS_AZURE_COSMOS_ENDPOINT": records.endpoint,
        "MLOPS_AZURE_COSMOS_DATABASE": records.database,
        "MLOPS_AZURE_SUBSCRIPTION_ID": base.subscription_id,
        "MLOPS_AZURE_RESOURCE_GROUP": base.resource_group_name,
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
    return environment


def _training_job(
    c: AzureStackConfig,
    ground: FoundationStage,
    apps: ContainerEnvironment,
    environment: dict[str, Setting],
) -> TrainingJob:
    base, images = ground.base, ground.images
    return TrainingJob(
        "training",
        TrainingJobArgs(
            resource_group_name=base.resource_group_name,
            location=base.location,
            environment_id=apps.environment_id,
            identity=base.identities["training"],
            registry_server=images.login_server,
            image=images.app_image,
            environment=environment,
            subscription_id=base.subscription_id,
            starter_principal_id=base.identities["app"].principal_id,
            workspace_id=base.workspace_id,
            cpu=c.azure_training_cpu,
            memory=c.azure_training_memory,
            timeout_minutes=c.training_timeout_minutes,
            depends_on=[images.pull_grants["training"]],
            tags=ground.tags,
        ),
    )


def _app_service(
    c: AzureStackConfig,
    ground: FoundationStage,
    apps: ContainerEnvironment,
    environment: dict[str, Setting],
    training: TrainingJob,
) -> AppService:
    base, images = ground.base, ground.images
    return AppService(
        "app",
        AppServiceArgs(
            resource_group_name=base.resource_group_name,
            location=base.location,
            environment_id=apps.environment_id,
            identity=base.identities["app"],
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
            tags=ground.tags,
        ),
    )


def _ocr_function(
    c: AzureStackConfig, ground: FoundationStage, environment: dict[str, Setting]
) -> OcrFunction:
    base, images = ground.base, ground.images
    return OcrFunction(
        "ocr",
        OcrFunctionArgs(
            resource_group_name=base.resource_group_name,
            location=base.location,
            suffix=base.suffix,
            subscription_id=base.subscription_id,
            identity=base.identities["ocr"],
            registry_server=images.login_server,
            image=images.ocr_image,
            environment=environment,
            app_insights_connection_string=base.app_insights_connection_string,
            plan_sku=c.ocr_plan_sku,
            max_instances=c.ocr_max_instances,
            depends_on=[images.pull_grants["ocr"]],
            tags=ground.tags,
        ),
    )
