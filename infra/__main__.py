"""The Pulumi program: read the stack's settings once, wire the chosen cloud's components.

``mlops:cloud`` picks the cloud: ``aws`` is wired below, ``azure`` and ``gcp`` in
``infra/azure/program.py`` and ``infra/gcp/program.py``. A provider package is imported
only by the cloud that uses it.
"""

from __future__ import annotations

import sys
from pathlib import Path

if __package__ in (None, ""):
    # `pulumi up` runs this directory as a script; the components import as `infra.*`.
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import pulumi

from infra.config import AwsStackConfig, ConfigError, read_stack_config


def main() -> None:
    try:
        settings = read_stack_config()
    except ConfigError as exc:
        raise pulumi.RunError(str(exc)) from None
    if settings.azure is not None:
        from infra.azure.program import azure_program

        azure_program(settings.azure)
    elif settings.gcp is not None:
        from infra.gcp.program import gcp_program

        gcp_program(settings.gcp)
    elif settings.aws is not None:
        _aws(settings.aws)


def _aws(c: AwsStackConfig) -> None:
    from infra.aws.api import AdminAuthorizer, HttpApi, HttpApiArgs, LambdaTarget, VpcLinkTarget
    from infra.aws.cluster import Cluster, ClusterArgs
    from infra.aws.documents import Documents, DocumentsArgs
    from infra.aws.identity import Identity, IdentityArgs
    from infra.aws.model_registry import MLFLOW_PORT, ModelRegistry, ModelRegistryArgs
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

    tags = {"project": pulumi.get_project(), "stack": pulumi.get_stack(), **c.tags}
    logs = c.log_retention_days

    network = Network(
        "network",
        NetworkArgs(
            az_count=c.az_count,
            cidr_block=c.vpc_cidr,
            nat_gateways=c.nat_gateways,
            log_retention_days=logs,
            tags=tags,
        ),
    )
    subnets = network.private_subnet_ids
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
    documents = Documents(
        "documents",
        DocumentsArgs(
            vpc_id=network.vpc_id,
            private_subnet_ids=subnets,
            ocr_image=images.ocr_image,
            environment=worker_environment,
            log_retention_days=logs,
            batch_size=c.ocr_batch_size,
            max_concurrency=c.ocr_max_concurrency,
            # No origins listed: presigned POSTs (signed, short-lived) from any page.
            cors_origins=list(c.cors_origins) or ["*"],
            upload_expiration_days=c.upload_expiration_days,
            deletion_protection=c.deletion_protection,
            tags=tags,
        ),
    )
    training = TrainingJob(
        "training",  # see training_log_group()
        TrainingJobArgs(
            image=images.app_image,
            vpc_id=network.vpc_id,
            private_subnet_ids=subnets,
            uploads_bucket_arn=documents.uploads_bucket_arn,
            artifacts_bucket_name=documents.artifacts_bucket_name,
            artifacts_bucket_arn=documents.artifacts_bucket_arn,
            table_name=documents.table_name,
            table_arn=documents.table_arn,
            environment=worker_environment,
            log_retention_days=logs,
            cpu=c.training_cpu,
            memory=c.training_memory,
            tags=tags,
        ),
    )
    edge = AppNetworking(
        "app",
        AppNetworkingArgs(
            vpc_id=network.vpc_id,
            vpc_cidr=c.vpc_cidr,
            private_subnet_ids=subnets,
            serve_app=c.compute == "fargate",
            serve_mlflow=c.create_mlflow,
            tags=tags,
        ),
    )
    mlflow: ModelRegistry | None = None
    if c.create_mlflow:
        mlflow = ModelRegistry(
            "mlflow",
            ModelRegistryArgs(
                vpc_id=network.vpc_id,
                vpc_cidr=c.vpc_cidr,
                private_subnet_ids=subnets,
                cluster_arn=cluster.cluster_arn,
                cluster_name=cluster.cluster_name,
                namespace_id=cluster.namespace_id,
                namespace_name=cluster.namespace_name,
                image=images.app_image,
                artifacts_bucket_name=documents.artifacts_bucket_name,
                artifacts_bucket_arn=documents.artifacts_bucket_arn,
                client_security_group_ids=[
                    edge.app_security_group_id,
                    documents.ocr_security_group_id,
                    training.security_group_id,
                ],
                load_balancer_arn=edge.load_balancer_arn,
                # Port 5000 admits the NLB's own group, not the whole VPC range.
                load_balancer_security_group_id=edge.load_balancer_security_group_id,
                log_retention_days=logs,
                min_capacity=c.mlflow_min_acu,
                max_capacity=c.mlflow_max_acu,
                deletion_protection=c.deletion_protection,
                tags=tags,
            ),
        )

    environment = app_environment(
        uploads_bucket=documents.uploads_bucket_name,
        records_table=documents.table_name,
        tracking_uri=tracking_uri,
        auth_issuer=identity.issuer,
        auth_audience=identity.client_id,
        cluster_arn=cluster.cluster_arn,
        training_family=training.family,
        training_container=training.container_name,
        training_subnet_ids=subnets,
        training_security_group_ids=pulumi.Output.all(training.security_group_id),
    )
    app = AppService(
        "app",
        AppServiceArgs(
            compute=c.compute,
            image=images.app_image,
            vpc_id=network.vpc_id,
            private_subnet_ids=subnets,
            security_group_id=edge.app_security_group_id,
            cluster_arn=cluster.cluster_arn,
            cluster_name=cluster.cluster_name,
            environment=environment,
            uploads_bucket_arn=documents.uploads_bucket_arn,
            artifacts_bucket_arn=documents.artifacts_bucket_arn,
            table_arn=documents.table_arn,
            training_task_definition_arn=training.task_definition_arn,
            training_task_role_arn=training.task_role_arn,
            training_execution_role_arn=training.execution_role_arn,
            training_log_group=training_log_group("training"),
            load_balancer_arn=edge.load_balancer_arn,
            log_retention_days=logs,
            cpu=c.app_cpu,
            memory=c.app_memory,
            min_count=c.app_min_count,
            max_count=c.app_max_count,
            cpu_target_percent=c.app_cpu_target,
            lambda_memory=c.lambda_memory,
            lambda_timeout=c.lambda_timeout,
            reserved_concurrency=c.lambda_reserved_concurrency,
            provisioned_concurrency=c.lambda_provisioned_concurrency,
            tags=tags,
        ),
    )
    if app.app_listener_arn is not None:
        app_target: VpcLinkTarget | LambdaTarget = VpcLinkTarget(
            listener_arn=app.app_listener_arn, port=APP_LISTENER_PORT
        )
    else:
        assert app.function_name is not None and app.function_invoke_arn is not None
        app_target = LambdaTarget(
            function_name=app.function_name,
            qualifier=LAMBDA_ALIAS,
            invoke_arn=app.function_invoke_arn,
        )
    mlflow_target = None
    if mlflow is not None:
        assert mlflow.listener_arn is not None  # the NLB was given
        mlflow_target = VpcLinkTarget(listener_arn=mlflow.listener_arn, port=MLFLOW_PORT)
    api = HttpApi(
        "api",
        HttpApiArgs(
            issuer=identity.issuer,
            audience=identity.client_id,
            vpc_id=network.vpc_id,
            vpc_cidr=c.vpc_cidr,
            private_subnet_ids=subnets,
            app=app_target,
            mlflow=mlflow_target,
            admin_authorizer=(
                AdminAuthorizer(image=images.app_image, environment=environment)
                if mlflow is not None
                else None
            ),
            throttle_burst=c.throttle_burst,
            throttle_rate=c.throttle_rate,
            cors_origins=c.cors_origins,
            log_retention_days=logs,
            tags=tags,
        ),
    )
    Observability(
        "observability",
        ObservabilityArgs(
            api_id=api.api_id,
            ocr_function_name=documents.ocr_function_name,
            dlq_name=documents.dlq_name,
            alarm_email=c.alarm_email or None,
            tags=tags,
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


def training_log_group(component: str) -> str:
    """The log group name pattern of a TrainingJob's container, which Pulumi auto-names
    ``<component>-logs-<suffix>``. TrainingJob does not expose the group; the stack tests
    check this pattern against the group it creates."""
    return f"{component}-logs-*"


def mlflow_address(namespace: str) -> str:
    """The tracking URI of the MLflow server ModelRegistry runs in ``namespace``."""
    from infra.aws.model_registry import MLFLOW_PORT, SERVICE_NAME, STATIC_PREFIX

    return f"http://{SERVICE_NAME}.{namespace}:{MLFLOW_PORT}{STATIC_PREFIX}"


if __name__ == "__main__":
    main()
