"""The GCP program: wire the components for one stack's settings and export its outputs.

Stages: foundation (APIs, service accounts, images) -> data (buckets, Firestore) ->
compute (the model registry or the external MLflow's URL as a secret, the training job,
the app, the OCR pipeline) -> edge (the gateway, the outputs). Who may do what is
decided here, in one place (the members each stage gives its components); each
component binds its part on the resources it owns.

Example (infra/__main__.py)::

    gcp_program(read_stack_config().gcp)
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import pulumi

from infra.config import ConfigError
from infra.gcp.app import AppService, AppServiceArgs
from infra.gcp.cloud_run import VpcEgress
from infra.gcp.config import GcpStackConfig, gcp_project, gcp_region
from infra.gcp.documents import Buckets, BucketsArgs, OcrPipeline, OcrPipelineArgs
from infra.gcp.foundation import MLFLOW_APIS, REQUIRED_APIS, Foundation, FoundationArgs, short_id
from infra.gcp.gateway import FIREBASE_JWK_SET_URI, FIREBASE_JWKS_URI, Gateway, GatewayArgs
from infra.gcp.model_registry import ModelRegistry, ModelRegistryArgs, artifact_root
from infra.gcp.network import Network, NetworkArgs
from infra.gcp.records import Records, RecordsArgs
from infra.gcp.registry import Registry, RegistryArgs
from infra.gcp.secrets import EnvValue, Secrets, SecretsArgs, SecretSpec
from infra.gcp.training import TrainingJob, TrainingJobArgs

TRACKING_URI_SECRET = "mlflow-tracking-uri"


@dataclass(frozen=True)
class FoundationStage:
    project: str
    region: str
    prefix: str  # of the stack's resource ids
    labels: dict[str, str]
    base: Foundation
    after_apis: pulumi.ResourceOptions
    images: Registry

    def email(self, role: str) -> pulumi.Output[str]:
        """The email of ``role``'s service account."""
        return self.base.accounts[role].email

    def member(self, role: str) -> pulumi.Output[str]:
        """``serviceAccount:<email>`` of ``role``'s service account."""
        return self.base.member(role)


@dataclass(frozen=True)
class DataStage:
    buckets: Buckets
    records: Records


@dataclass(frozen=True)
class ModelRegistryStage:
    tracking_uri: EnvValue
    # How MLflow's clients reach it (None: MLflow is external, no VPC).
    egress: VpcEgress | None
    # What the workloads wait for (the external MLflow's secret, readable).
    workload_ready: list[pulumi.Resource]


@dataclass(frozen=True)
class ComputeStage:
    app: AppService
    training: TrainingJob
    ocr: OcrPipeline
    tracking_uri: EnvValue


def gcp_program(c: GcpStackConfig) -> None:
    try:
        project, region = gcp_project(), gcp_region()
    except ConfigError as exc:
        raise pulumi.RunError(str(exc)) from None
    ground = foundation(c, project, region)
    stored = data(c, ground)
    workloads = compute(c, ground, stored)
    edge(c, ground, stored, workloads)


def foundation(c: GcpStackConfig, project: str, region: str) -> FoundationStage:
    """The project's APIs and the service accounts; the image repository."""
    stack = pulumi.get_stack()
    prefix = short_id("mlops", stack, limit=20)
    labels = gcp_labels({"project": pulumi.get_project(), "stack": stack, **c.tags})
    base = Foundation(
        "base",
        FoundationArgs(
            project=project,
            prefix=prefix,
            apis=REQUIRED_APIS + (MLFLOW_APIS if c.create_mlflow else ()),
        ),
    )
    after_apis = pulumi.ResourceOptions(depends_on=base.apis)
    images = Registry(
        "images",
        RegistryArgs(
            project=project,
            region=region,
            repository_id=short_id(prefix, "images", limit=63),
            app_image=c.app_image or None,
            ocr_image=c.ocr_image or None,
            labels=labels,
        ),
        opts=after_apis,
    )
    return FoundationStage(project, region, prefix, labels, base, after_apis, images)


def data(c: GcpStackConfig, ground: FoundationStage) -> DataStage:
    """The upload and artifact buckets, and the Firestore records."""
    app_sa, ocr_sa = ground.member("app"), ground.member("ocr")
    training_sa, mlflow_sa = ground.member("training"), ground.member("mlflow")
    buckets = Buckets(
        "documents",
        BucketsArgs(
            project=ground.project,
            region=ground.region,
            upload_expiration_days=c.upload_expiration_days,
            cors_origins=c.cors_origins,
            # Signed PUTs are authorised as the app's account, which signs them.
            uploads_writers=[app_sa],
            uploads_readers=[app_sa, ocr_sa],
            artifacts_readers=[app_sa, ocr_sa] + ([mlflow_sa] if c.create_mlflow else []),
            artifacts_writers=[training_sa],
            deletion_protection=c.deletion_protection,
            labels=ground.labels,
        ),
        opts=ground.after_apis,
    )
    records = Records(
        "records",
        RecordsArgs(
            project=ground.project,
            location=c.gcp_firestore_location or ground.region,
            database=c.gcp_firestore_database,
            users=[app_sa, ocr_sa, training_sa],
            deletion_protection=c.deletion_protection,
        ),
        opts=ground.after_apis,
    )
    return DataStage(buckets, records)


def compute(c: GcpStackConfig, ground: FoundationStage, stored: DataStage) -> ComputeStage:
    """MLflow (or the external one's URL), the training job, the app, the OCR pipeline."""
    registry = _model_registry(c, ground, stored)
    environment = _environment(c, ground, stored, registry.tracking_uri)
    training = _training_job(c, ground, registry, environment)
    app = _app_service(c, ground, registry, environment, training)
    _allow_self_signing(ground.base, ground.project, "app")
    ocr = OcrPipeline(
        "ocr",
        OcrPipelineArgs(
            project=ground.project,
            region=ground.region,
            image=ground.images.ocr_image,
            service_account=ground.email("ocr"),
            trigger_account=ground.email("trigger"),
            uploads_bucket=stored.buckets.uploads_bucket,
            environment=environment,
            egress=registry.egress,
            cpu=c.gcp_ocr_cpu,
            memory_mib=c.gcp_ocr_memory,
            max_instances=c.ocr_max_concurrency,
            dead_letter_retention_days=c.gcp_dead_letter_retention_days,
            deletion_protection=c.deletion_protection,
            labels=ground.labels,
            depends_on=registry.workload_ready,
        ),
        opts=ground.after_apis,
    )
    return ComputeStage(app, training, ocr, registry.tracking_uri)


def edge(
    c: GcpStackConfig, ground: FoundationStage, stored: DataStage, workloads: ComputeStage
) -> None:
    """API Gateway in front of the app, and the stack's outputs."""
    project = ground.project
    issuer, audiences = c.token_issuer(project), c.token_audiences(project)
    gateway = Gateway(
        "api",
        GatewayArgs(
            project=project,
            region=c.gcp_gateway_region or ground.region,
            api_id=short_id(ground.prefix, "api", limit=50),
            backend_url=workloads.app.url,
            service_account=ground.email("gateway"),
            issuer=issuer,
            jwks_uri=FIREBASE_JWKS_URI if c.uses_firebase else c.auth_jwks_uri,
            audiences=audiences,
            allow_cors=bool(c.cors_origins),
            labels=ground.labels,
        ),
        opts=ground.after_apis,
    )

    buckets, ocr = stored.buckets, workloads.ocr
    if c.create_mlflow:
        pulumi.export("mlflow_tracking_url", workloads.tracking_uri)
    pulumi.export("api_url", gateway.url)
    pulumi.export("app_url", workloads.app.url)
    pulumi.export("uploads_bucket", buckets.uploads_bucket)
    pulumi.export("artifacts_bucket", buckets.artifacts_bucket)
    pulumi.export("registry_url", ground.images.registry_url)
    pulumi.export("auth_issuer", issuer)
    pulumi.export("auth_audience", ",".join(audiences))
    pulumi.export("firestore_database", stored.records.database_name)
    pulumi.export("training_job", workloads.training.job_name)
    pulumi.export("ocr_service", ocr.service_name)
    pulumi.export("eventarc_subscription", ocr.eventarc_subscription)
    pulumi.export("ocr_dead_letter_topic", ocr.dead_letter_topic)
    pulumi.export("ocr_dead_letter_subscription", ocr.dead_letter_subscription)
    pulumi.export("gateway_service_account", ground.email("gateway"))


def _model_registry(
    c: GcpStackConfig, ground: FoundationStage, stored: DataStage
) -> ModelRegistryStage:
    """The model registry: in the stack (internal Cloud Run + Cloud SQL, reached through
    the VPC), or external, its URL kept in Secret Manager."""
    project, region = ground.project, ground.region
    if c.mlflow_tracking_uri is None:
        network = Network(
            "network",
            NetworkArgs(project=project, region=region, cidr=c.gcp_vpc_cidr),
            opts=ground.after_apis,
        )
        mlflow = ModelRegistry(
            "mlflow",
            ModelRegistryArgs(
                project=project,
                region=region,
                prefix=ground.prefix,
                image=ground.images.app_image,
                service_account=ground.email("mlflow"),
                artifacts_bucket=stored.buckets.artifacts_bucket,
                db_tier=c.gcp_mlflow_db_tier,
                deletion_protection=c.deletion_protection,
                labels=ground.labels,
            ),
            opts=ground.after_apis,
        )
        return ModelRegistryStage(mlflow.tracking_uri, network.egress, [])
    readers = [ground.member("app"), ground.member("ocr"), ground.member("training")]
    config_secrets = Secrets(
        "config",
        SecretsArgs(
            project=project,
            prefix=ground.prefix,
            secrets={TRACKING_URI_SECRET: SecretSpec(value=c.mlflow_tracking_uri, readers=readers)},
            labels=ground.labels,
        ),
        opts=ground.after_apis,
    )
    return ModelRegistryStage(config_secrets.ref(TRACKING_URI_SECRET), None, config_secrets.ready)


def _environment(
    c: GcpStackConfig, ground: FoundationStage, stored: DataStage, tracking_uri: EnvValue
) -> dict[str, EnvValue]:
    """The ``MLOPS_*`` settings every workload gets."""
    project = ground.project
    return {
        "MLOPS_CLOUD": "gcp",
        "MLOPS_GCP_PROJECT": project,
        "MLOPS_GCP_REGION": ground.region,
        "MLOPS_GCP_FIRESTORE_DATABASE": stored.records.database_name,
        "MLOPS_UPLOADS_BUCKET": stored.buckets.uploads_bucket,
        "MLOPS_MLFLOW_TRACKING_URI": tracking_uri,
        "MLOPS_MLFLOW_ARTIFACT_ROOT": artifact_root(stored.buckets.artifacts_bucket),
        # Every process checks settings the same way, so all get the issuer.
        "MLOPS_AUTH_ISSUER": c.token_issuer(project),
        "MLOPS_AUTH_AUDIENCE": ",".join(c.token_audiences(project)),
        "MLOPS_AUTH_JWKS_URL": FIREBASE_JWK_SET_URI if c.uses_firebase else c.auth_jwks_uri,
        # API Gateway authenticates to Cloud Run with its own token in Authorization and
        # moves the caller's here (the app verifies it again).
        "MLOPS_AUTH_HEADER": "x-forwarded-authorization",
        # Training is a job in the cloud, never a side effect of an empty registry.
        "MLOPS_TRAIN_ON_EMPTY_REGISTRY": "false",
    }


def _training_job(
    c: GcpStackConfig,
    ground: FoundationStage,
    registry: ModelRegistryStage,
    environment: dict[str, EnvValue],
) -> TrainingJob:
    return TrainingJob(
        "training",
        TrainingJobArgs(
            project=ground.project,
            region=ground.region,
            prefix=ground.prefix,
            image=ground.images.app_image,
            service_account=ground.email("training"),
            environment=environment,
            launchers=[ground.member("app")],
            egress=registry.egress,
            cpu=c.gcp_training_cpu,
            memory_mib=c.gcp_training_memory,
            timeout_minutes=c.gcp_training_timeout_minutes,
            deletion_protection=c.deletion_protection,
            labels=ground.labels,
            depends_on=registry.workload_ready,
        ),
        opts=ground.after_apis,
    )


def _app_service(
    c: GcpStackConfig,
    ground: FoundationStage,
    registry: ModelRegistryStage,
    environment: dict[str, EnvValue],
    training: TrainingJob,
) -> AppService:
    return AppService(
        "app",
        AppServiceArgs(
            project=ground.project,
            region=ground.region,
            image=ground.images.app_image,
            service_account=ground.email("app"),
            environment={
                **environment,
                "MLOPS_GCP_TRAINING_JOB": training.job_name,
                "MLOPS_GCP_SIGNING_SERVICE_ACCOUNT": ground.email("app"),
            },
            invokers=[ground.member("gateway")],
            egress=registry.egress,
            cpu=c.gcp_app_cpu,
            memory_mib=c.gcp_app_memory,
            min_instances=c.gcp_app_min_instances,
            max_instances=c.gcp_app_max_instances,
            concurrency=c.gcp_app_concurrency,
            deletion_protection=c.deletion_protection,
            labels=ground.labels,
            depends_on=registry.workload_ready,
        ),
        opts=ground.after_apis,
    )


def _allow_self_signing(base: Foundation, project: str, role: str) -> None:
    """The app signs V4 upload URLs through IAM signBlob as itself (its Cloud Run
    credentials hold no private key): Token Creator on its own account, nothing wider."""
    from pulumi_gcp import serviceaccount

    serviceaccount.IAMMember(
        f"{role}-signs-as-itself",
        service_account_id=pulumi.Output.concat(
            "projects/", project, "/serviceAccounts/", base.accounts[role].email
        ),
        role="roles/iam.serviceAccountTokenCreator",
        member=base.member(role),
        opts=pulumi.ResourceOptions(parent=base),
    )


def gcp_labels(tags: dict[str, str]) -> dict[str, str]:
    """Tags as GCP labels: lowercase keys and values of [a-z0-9_-], at most 63 characters,
    keys starting with a letter.

    >>> gcp_labels({"Project": "mlops-multicloud", "Owner": "MLOps Team"})
    {'project': 'mlops-multicloud', 'owner': 'mlops-team'}
    """

    def clean(text: str) -> str:
        return re.sub(r"[^a-z0-9_-]+", "-", text.lower()).strip("-")[:63]

    labels = {}
    for key, value in tags.items():
        name = clean(key)
        if name and not name[0].isalpha():
            name = f"k-{name}"[:63]
        if name:
            labels[name] = clean(value)
    return labels
