"""The GCP program: wire the components for one stack's settings and export its outputs.

Order: APIs and service accounts; images; buckets; the model registry (or the external
MLflow's URL as a secret); Firestore; the training job; the app; the gateway; the OCR
pipeline. Who may do what is decided here, in one place (:func:`gcp_program`'s IAM
lists); each component binds its part on the resources it owns.

Example (infra/__main__.py)::

    gcp_program(read_stack_config().gcp)
"""

from __future__ import annotations

import re

import pulumi

from infra.config import ConfigError
from infra.gcp.app import AppService, AppServiceArgs
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


def gcp_program(c: GcpStackConfig) -> None:
    try:
        project, region = gcp_project(), gcp_region()
    except ConfigError as exc:
        raise pulumi.RunError(str(exc)) from None
    stack = pulumi.get_stack()
    prefix = short_id("mlops", stack, limit=20)
    labels = gcp_labels({"project": pulumi.get_project(), "stack": stack, **c.tags})
    protect = c.deletion_protection

    base = Foundation(
        "base",
        FoundationArgs(
            project=project,
            prefix=prefix,
            apis=REQUIRED_APIS + (MLFLOW_APIS if c.create_mlflow else ()),
        ),
    )
    after_apis = pulumi.ResourceOptions(depends_on=base.apis)
    email = {role: account.email for role, account in base.accounts.items()}
    app_sa, ocr_sa, training_sa = base.member("app"), base.member("ocr"), base.member("training")
    mlflow_sa = base.member("mlflow")

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
    buckets = Buckets(
        "documents",
        BucketsArgs(
            project=project,
            region=region,
            upload_expiration_days=c.upload_expiration_days,
            cors_origins=c.cors_origins,
            # Signed PUTs are authorised as the app's account, which signs them.
            uploads_writers=[app_sa],
            uploads_readers=[app_sa, ocr_sa],
            artifacts_readers=[app_sa, ocr_sa] + ([mlflow_sa] if c.create_mlflow else []),
            artifacts_writers=[training_sa],
            deletion_protection=protect,
            labels=labels,
        ),
        opts=after_apis,
    )

    # The model registry: in the stack (internal Cloud Run + Cloud SQL, reached through
    # the VPC), or external, its URL kept in Secret Manager.
    egress = None
    workload_ready: list[pulumi.Resource] = []
    tracking_uri: EnvValue
    if c.mlflow_tracking_uri is None:
        network = Network(
            "network",
            NetworkArgs(project=project, region=region, cidr=c.gcp_vpc_cidr),
            opts=after_apis,
        )
        egress = network.egress
        mlflow = ModelRegistry(
            "mlflow",
            ModelRegistryArgs(
                project=project,
                region=region,
                prefix=prefix,
                image=images.app_image,
                service_account=email["mlflow"],
                artifacts_bucket=buckets.artifacts_bucket,
                db_tier=c.gcp_mlflow_db_tier,
                deletion_protection=protect,
                labels=labels,
            ),
            opts=after_apis,
        )
        tracking_uri = mlflow.tracking_uri
        pulumi.export("mlflow_tracking_url", mlflow.tracking_uri)
    else:
        config_secrets = Secrets(
            "config",
            SecretsArgs(
                project=project,
                prefix=prefix,
                secrets={
                    TRACKING_URI_SECRET: SecretSpec(
                        value=c.mlflow_tracking_uri, readers=[app_sa, ocr_sa, training_sa]
                    )
                },
                labels=labels,
            ),
            opts=after_apis,
        )
        tracking_uri = config_secrets.ref(TRACKING_URI_SECRET)
        workload_ready = config_secrets.ready

    records = Records(
        "records",
        RecordsArgs(
            project=project,
            location=c.gcp_firestore_location or region,
            database=c.gcp_firestore_database,
            users=[app_sa, ocr_sa, training_sa],
            deletion_protection=protect,
        ),
        opts=after_apis,
    )

    issuer = c.token_issuer(project)
    audiences = c.token_audiences(project)
    environment: dict[str, EnvValue] = {
        "MLOPS_CLOUD": "gcp",
        "MLOPS_GCP_PROJECT": project,
        "MLOPS_GCP_REGION": region,
        "MLOPS_GCP_FIRESTORE_DATABASE": records.database_name,
        "MLOPS_UPLOADS_BUCKET": buckets.uploads_bucket,
        "MLOPS_MLFLOW_TRACKING_URI": tracking_uri,
        "MLOPS_MLFLOW_ARTIFACT_ROOT": artifact_root(buckets.artifacts_bucket),
        # Every process checks settings the same way, so all get the issuer.
        "MLOPS_AUTH_ISSUER": issuer,
        "MLOPS_AUTH_AUDIENCE": ",".join(audiences),
        "MLOPS_AUTH_JWKS_URL": FIREBASE_JWK_SET_URI if c.uses_firebase else c.auth_jwks_uri,
        # API Gateway authenticates to Cloud Run with its own token in Authorization and
        # moves the caller's here (the app verifies it again).
        "MLOPS_AUTH_HEADER": "x-forwarded-authorization",
        # Training is a job in the cloud, never a side effect of an empty registry.
        "MLOPS_TRAIN_ON_EMPTY_REGISTRY": "false",
    }

    training = TrainingJob(
        "training",
        TrainingJobArgs(
            project=project,
            region=region,
            prefix=prefix,
            image=images.app_image,
            service_account=email["training"],
            environment=environment,
            launchers=[app_sa],
            egress=egress,
            cpu=c.gcp_training_cpu,
            memory_mib=c.gcp_training_memory,
            timeout_minutes=c.gcp_training_timeout_minutes,
            deletion_protection=protect,
            labels=labels,
            depends_on=workload_ready,
        ),
        opts=after_apis,
    )
    app = AppService(
        "app",
        AppServiceArgs(
            project=project,
            region=region,
            image=images.app_image,
            service_account=email["app"],
            environment={
                **environment,
                "MLOPS_GCP_TRAINING_JOB": training.job_name,
                "MLOPS_GCP_SIGNING_SERVICE_ACCOUNT": email["app"],
            },
            invokers=[base.member("gateway")],
            egress=egress,
            cpu=c.gcp_app_cpu,
            memory_mib=c.gcp_app_memory,
            min_instances=c.gcp_app_min_instances,
            max_instances=c.gcp_app_max_instances,
            concurrency=c.gcp_app_concurrency,
            deletion_protection=protect,
            labels=labels,
            depends_on=workload_ready,
        ),
        opts=after_apis,
    )
    _allow_self_signing(base, project, "app")
    gateway = Gateway(
        "api",
        GatewayArgs(
            project=project,
            region=c.gcp_gateway_region or region,
            api_id=short_id(prefix, "api", limit=50),
            backend_url=app.url,
            service_account=email["gateway"],
            issuer=issuer,
            jwks_uri=FIREBASE_JWKS_URI if c.uses_firebase else c.auth_jwks_uri,
            audiences=audiences,
            allow_cors=bool(c.cors_origins),
            labels=labels,
        ),
        opts=after_apis,
    )
    ocr = OcrPipeline(
        "ocr",
        OcrPipelineArgs(
            project=project,
            region=region,
            image=images.ocr_image,
            service_account=email["ocr"],
            trigger_account=email["trigger"],
            uploads_bucket=buckets.uploads_bucket,
            environment=environment,
            egress=egress,
            cpu=c.gcp_ocr_cpu,
            memory_mib=c.gcp_ocr_memory,
            max_instances=c.ocr_max_concurrency,
            dead_letter_retention_days=c.gcp_dead_letter_retention_days,
            deletion_protection=protect,
            labels=labels,
            depends_on=workload_ready,
        ),
        opts=after_apis,
    )

    pulumi.export("api_url", gateway.url)
    pulumi.export("app_url", app.url)
    pulumi.export("uploads_bucket", buckets.uploads_bucket)
    pulumi.export("artifacts_bucket", buckets.artifacts_bucket)
    pulumi.export("registry_url", images.registry_url)
    pulumi.export("auth_issuer", issuer)
    pulumi.export("auth_audience", ",".join(audiences))
    pulumi.export("firestore_database", records.database_name)
    pulumi.export("training_job", training.job_name)
    pulumi.export("ocr_service", ocr.service_name)
    pulumi.export("eventarc_subscription", ocr.eventarc_subscription)
    pulumi.export("ocr_dead_letter_topic", ocr.dead_letter_topic)
    pulumi.export("ocr_dead_letter_subscription", ocr.dead_letter_subscription)
    pulumi.export("gateway_service_account", email["gateway"])


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
