"""The AWS program: wire the components by stage and export the stack's outputs.

Stages: foundation (VPC, image repositories, Cognito, the ECS cluster) -> data (buckets,
table, the OCR pipeline) -> compute (the training job, the app's networking, MLflow
unless external, the app on Fargate or Lambda) -> edge (the HTTP API, alarms, outputs).

Every process gets the issuer and MLflow's address; the app also gets what it needs to
start training jobs (app_environment).

Example (infra/__main__.py)::

    aws_program(read_stack_config().aws)
"""

from __future__ import annotations

from dataclasses import dataclass

import pulumi

from infra.aws.api import AdminAuthorizer, HttpApi, HttpApiArgs, LambdaTarget, VpcLinkTarget
from infra.aws.cluster import Cluster, ClusterArgs
from infra.aws.config import AwsStackConfig
from infra.aws.documents import Documents, DocumentsArgs
from infra.aws.identity import Identity, IdentityArgs
from infra.aws.model_registry import (
    MLFLOW_PORT,
    SERVICE_NAME,
    STATIC_PREFIX,
    ModelRegistry,
    ModelRegistryArgs,
)
from infra.aws.network import Network, NetworkArgs
from infra.aws.observability import Observability, ObservabilityArgs
from infra.aws.registry import Registry, RegistryArgs
from infra.aws.service import (
    APP_LISTENER_PORT,
    LAMBDA_ALIAS,
    AppNetworking,
    AppNetworkingArgs,
    AppService,
    AppServiceArgs,
    app_environment,
)
from infra.aws.training import TrainingJob, TrainingJobArgs


@dataclass(frozen=True)
class Foundation:
    tags: dict[str, str]
    network: Network
    images: Registry
    identity: Identity
    cluster: Cluster
    tracking_uri: pulumi.Input[str]
    # What every process (the OCR function and the trainer too) is given.
    worker_environment: dict[str, pulumi.Input[str]]


@dataclass(frozen=True)
class Compute:
    training: TrainingJob
    mlflow: ModelRegistry | None
    app: AppService
    environment: dict[str, pulumi.Input[str]]  # the app's


def aws_program(c: AwsStackConfig) -> None:
    base = foundation(c)
    documents = data(c, base)
    compute_ = compute(c, base, documents)
    edge(c, base, documents, compute_)


def foundation(c: AwsStackConfig) -> Foundation:
    tags = {"project": pulumi.get_project(), "stack": pulumi.get_stack(), **c.tags}
    network = Network(
        "network",
        NetworkArgs(
            az_count=c.az_count,
            cidr_block=c.vpc_cidr,
            nat_gateways=c.nat_gateways,
            log_retention_days=c.log_retention_days,
            tags=tags,
        ),
    )
    images = Registry(
        "images",
        RegistryArgs(
            app_image=c.app_image or None,
            ocr_image=c.ocr_image or None,
            force_delete=not c.deletion_protection,
            tags=tags,
        ),
    )
    identity = Identity(
        "identity",
        IdentityArgs(
            mfa=c.mfa,
            access_token_minutes=c.access_token_minutes,
            id_token_minutes=c.id_token_minutes,
            refresh_token_days=c.refresh_token_days,
            domain_prefix=c.auth_domain_prefix or None,
            callback_urls=c.auth_callback_urls,
            deletion_protection=c.deletion_protection,
            tags=tags,
        ),
    )
    cluster = Cluster("ecs", ClusterArgs(vpc_id=network.vpc_id, tags=tags))

    # MLflow admits its clients' security groups, so the clients exist first and are
    # given its address ahead: the Cloud Map name ModelRegistry registers.
    tracking_uri: pulumi.Input[str] = (
        mlflow_address(cluster.namespace_name)
        if c.mlflow_tracking_uri is None
        else c.mlflow_tracking_uri
    )
    # Settings with MLOPS_CLOUD=aws ask every process for the issuer, the OCR
    # function and the trainer too (they check no tokens, but one rule is simpler).
    worker_environment: dict[str, pulumi.Input[str]] = {
        "MLOPS_MLFLOW_TRACKING_URI": tracking_uri,
        "MLOPS_AUTH_ISSUER": identity.issuer,
        "MLOPS_AUTH_AUDIENCE": identity.client_id,
    }
    return Foundation(tags, network, images, identity, cluster, tracking_uri, worker_environment)


def data(c: AwsStackConfig, base: Foundation) -> Documents:
    """The upload and artifact buckets, the records table and the OCR pipeline."""
    return Documents(
        "documents",
        DocumentsArgs(
            vpc_id=base.network.vpc_id,
            private_subnet_ids=base.network.private_subnet_ids,
            ocr_image=base.images.ocr_image,
            environment=base.worker_environment,
            log_retention_days=c.log_retention_days,
            batch_size=c.ocr_batch_size,
            max_concurrency=c.ocr_max_concurrency,
            # No origins listed: presigned POSTs (signed, short-lived) from any page.
            cors_origins=list(c.cors_origins) or ["*"],
            upload_expiration_days=c.upload_expiration_days,
            deletion_protection=c.deletion_protection,
            tags=base.tags,
        ),
    )


def compute(c: AwsStackConfig, base: Foundation, documents: Documents) -> Compute:
    """The training job, the app's networking, MLflow (unless external), the app."""
    training = _training_job(c, base, documents)
    networking = AppNetworking(
        "app",
        AppNetworkingArgs(
            vpc_id=base.network.vpc_id,
            vpc_cidr=c.vpc_cidr,
            private_subnet_ids=base.network.private_subnet_ids,
            serve_app=c.compute == "fargate",
            serve_mlflow=c.create_mlflow,
            tags=base.tags,
        ),
    )
    mlflow = _model_registry(c, base, documents, training, networking) if c.create_mlflow else None
    environment = app_environment(
        uploads_bucket=documents.uploads_bucket_name,
        records_table=documents.table_name,
        tracking_uri=base.tracking_uri,
        auth_issuer=base.identity.issuer,
        auth_audience=base.identity.client_id,
        cluster_arn=base.cluster.cluster_arn,
        training_family=training.family,
        training_container=training.container_name,
        training_subnet_ids=base.network.private_subnet_ids,
        training_security_group_ids=pulumi.Output.all(training.security_group_id),
    )
    app = _app_service(c, base, documents, training, networking, environment)
    return Compute(training, mlflow, app, environment)


def edge(c: AwsStackConfig, base: Foundation, documents: Documents, compute_: Compute) -> None:
    """The HTTP API in front of the app (and MLflow), the alarms, the stack's outputs."""
    identity, images, mlflow = base.identity, base.images, compute_.mlflow
    api = HttpApi(
        "api",
        HttpApiArgs(
            issuer=identity.issuer,
            audience=identity.client_id,
            vpc_id=base.network.vpc_id,
            vpc_cidr=c.vpc_cidr,
            private_subnet_ids=base.network.private_subnet_ids,
            app=_app_target(compute_.app),
            mlflow=_mlflow_target(mlflow),
            admin_authorizer=(
                AdminAuthorizer(image=images.app_image, environment=compute_.environment)
                if mlflow is not None
                else None
            ),
            throttle_burst=c.throttle_burst,
            throttle_rate=c.throttle_rate,
            cors_origins=c.cors_origins,
            log_retention_days=c.log_retention_days,
            tags=base.tags,
        ),
    )
    Observability(
        "observability",
        ObservabilityArgs(
            api_id=api.api_id,
            ocr_function_name=documents.ocr_function_name,
            dlq_name=documents.dlq_name,
            alarm_email=c.alarm_email or None,
            tags=base.tags,
        ),
    )

    pulumi.export("api_url", api.url)
    pulumi.export("user_pool_id", identity.user_pool_id)
    pulumi.export("user_pool_client_id", identity.client_id)
    pulumi.export("auth_issuer", identity.issuer)
    pulumi.export("uploads_bucket", documents.uploads_bucket_name)
    pulumi.export("app_repository_url", images.app_repository_url)
    pulumi.export("ocr_repository_url", images.ocr_repository_url)
    pulumi.export("compute", c.compute)
    if mlflow is not None:
        # For MLflow clients outside AWS (admins, with a Cognito token as MLFLOW_TRACKING_TOKEN).
        pulumi.export("mlflow_tracking_url", pulumi.Output.concat(api.url, "/mlflow"))


def _training_job(c: AwsStackConfig, base: Foundation, documents: Documents) -> TrainingJob:
    return TrainingJob(
        "training",  # see training_log_group()
        TrainingJobArgs(
            image=base.images.app_image,
            vpc_id=base.network.vpc_id,
            private_subnet_ids=base.network.private_subnet_ids,
            uploads_bucket_arn=documents.uploads_bucket_arn,
            artifacts_bucket_name=documents.artifacts_bucket_name,
            artifacts_bucket_arn=documents.artifacts_bucket_arn,
            table_name=documents.table_name,
            table_arn=documents.table_arn,
            environment=base.worker_environment,
            log_retention_days=c.log_retention_days,
            cpu=c.training_cpu,
            memory=c.training_memory,
            tags=base.tags,
        ),
    )


def _model_registry(
    c: AwsStackConfig,
    base: Foundation,
    documents: Documents,
    training: TrainingJob,
    networking: AppNetworking,
) -> ModelRegistry:
    cluster = base.cluster
    return ModelRegistry(
        "mlflow",
        ModelRegistryArgs(
            vpc_id=base.network.vpc_id,
            vpc_cidr=c.vpc_cidr,
            private_subnet_ids=base.network.private_subnet_ids,
            cluster_arn=cluster.cluster_arn,
            cluster_name=cluster.cluster_name,
            namespace_id=cluster.namespace_id,
            namespace_name=cluster.namespace_name,
            image=base.images.app_image,
            artifacts_bucket_name=documents.artifacts_bucket_name,
            artifacts_bucket_arn=documents.artifacts_bucket_arn,
            client_security_group_ids=[
                networking.app_security_group_id,
                documents.ocr_security_group_id,
                training.security_group_id,
            ],
            load_balancer_arn=networking.load_balancer_arn,
            # Port 5000 admits the NLB's own group, not the whole VPC range.
            load_balancer_security_group_id=networking.load_balancer_security_group_id,
            log_retention_days=c.log_retention_days,
            min_capacity=c.mlflow_min_acu,
            max_capacity=c.mlflow_max_acu,
            deletion_protection=c.deletion_protection,
            tags=base.tags,
        ),
    )


def _app_service(
    c: AwsStackConfig,
    base: Foundation,
    documents: Documents,
    training: TrainingJob,
    networking: AppNetworking,
    environment: dict[str, pulumi.Input[str]],
) -> AppService:
    return AppService(
        "app",
        AppServiceArgs(
            compute=c.compute,
            image=base.images.app_image,
            vpc_id=base.network.vpc_id,
            private_subnet_ids=base.network.private_subnet_ids,
            security_group_id=networking.app_security_group_id,
            cluster_arn=base.cluster.cluster_arn,
            cluster_name=base.cluster.cluster_name,
            environment=environment,
            uploads_bucket_arn=documents.uploads_bucket_arn,
            artifacts_bucket_arn=documents.artifacts_bucket_arn,
            table_arn=documents.table_arn,
            training_task_definition_arn=training.task_definition_arn,
            training_task_role_arn=training.task_role_arn,
            training_execution_role_arn=training.execution_role_arn,
            training_log_group=training_log_group("training"),
            load_balancer_arn=networking.load_balancer_arn,
            log_retention_days=c.log_retention_days,
            cpu=c.app_cpu,
            memory=c.app_memory,
            min_count=c.app_min_count,
            max_count=c.app_max_count,
            cpu_target_percent=c.app_cpu_target,
            lambda_memory=c.lambda_memory,
            lambda_timeout=c.lambda_timeout,
            reserved_concurrency=c.lambda_reserved_concurrency,
            provisioned_concurrency=c.lambda_provisioned_concurrency,
            tags=base.tags,
        ),
    )


def _app_target(app: AppService) -> VpcLinkTarget | LambdaTarget:
    """Where the API sends app routes: the NLB listener (Fargate) or the Lambda alias."""
    if app.app_listener_arn is not None:
        return VpcLinkTarget(listener_arn=app.app_listener_arn, port=APP_LISTENER_PORT)
    assert app.function_name is not None and app.function_invoke_arn is not None
    return LambdaTarget(
        function_name=app.function_name, qualifier=LAMBDA_ALIAS, invoke_arn=app.function_invoke_arn
    )


def _mlflow_target(mlflow: ModelRegistry | None) -> VpcLinkTarget | None:
    if mlflow is None:
        return None
    assert mlflow.listener_arn is not None  # the NLB was given
    return VpcLinkTarget(listener_arn=mlflow.listener_arn, port=MLFLOW_PORT)


def training_log_group(component: str) -> str:
    """The log group name pattern of a TrainingJob's container, which Pulumi auto-names
    ``<component>-logs-<suffix>``. TrainingJob does not expose the group; the stack tests
    check this pattern against the group it creates."""
    return f"{component}-logs-*"


def mlflow_address(namespace: str) -> str:
    """The tracking URI of the MLflow server ModelRegistry runs in ``namespace``."""
    return f"http://{SERVICE_NAME}.{namespace}:{MLFLOW_PORT}{STATIC_PREFIX}"
