"""The document pipeline's storage and OCR: S3 → SQS (+DLQ) → OCR Lambda → DynamoDB.

An upload lands at ``uploads/<document id>`` in the uploads bucket; S3 tells the queue;
the OCR Lambda takes batches from it and reports the failed items alone, which return
to the queue and, after ``max_receive_count`` tries, go to the dead-letter queue.

Example::

    docs = Documents("documents", DocumentsArgs(
        vpc_id=net.vpc_id, private_subnet_ids=net.private_subnet_ids, ocr_image=ocr_uri,
        environment={"MLOPS_MLFLOW_TRACKING_URI": tracking_uri},
    ))
    pulumi.export("uploads_bucket", docs.uploads_bucket_name)
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field

import pulumi
from pulumi_aws import cloudwatch, dynamodb, ec2, get_caller_identity_output, lambda_, s3, sqs

from contracts.tables import TABLE_SCHEMA
from infra.aws.iam import Statement, policy_document, workload_role
from infra.aws.resource_policies import ResourceStatement, resource_policy

UPLOADS_PREFIX = "uploads/"
TTL_ATTRIBUTE = "expiration"
METRICS_NAMESPACE = "mlops"
DLQ_RETENTION_SECONDS = 14 * 24 * 3600
QUEUE_RETENTION_SECONDS = 4 * 24 * 3600

# Everything the adapters (records, feedback, jobs, the event ledger) do to items; no Scan,
# no table admin.
DYNAMODB_ITEM_ACTIONS = [
    "dynamodb:BatchGetItem",
    "dynamodb:BatchWriteItem",
    "dynamodb:ConditionCheckItem",
    "dynamodb:DeleteItem",
    "dynamodb:GetItem",
    "dynamodb:PutItem",
    "dynamodb:Query",
    "dynamodb:UpdateItem",
]

# What AWSLambdaVPCAccessExecutionRole grants, listed.
LAMBDA_VPC_ACTIONS = [
    "ec2:AssignPrivateIpAddresses",
    "ec2:CreateNetworkInterface",
    "ec2:DeleteNetworkInterface",
    "ec2:DescribeNetworkInterfaces",
    "ec2:DescribeSubnets",
    "ec2:UnassignPrivateIpAddresses",
]


@dataclass
class DocumentsArgs:
    vpc_id: pulumi.Input[str]
    private_subnet_ids: pulumi.Input[Sequence[pulumi.Input[str]]]
    ocr_image: pulumi.Input[str]
    # Added to (and overriding) the contract's environment: tracking URI, auth issuer...
    environment: dict[str, pulumi.Input[str]] = field(default_factory=dict)
    log_retention_days: int = 30
    batch_size: int = 5
    batching_window_seconds: int = 0
    max_concurrency: int = 4
    max_receive_count: int = 3
    cors_origins: list[str] = field(default_factory=lambda: ["*"])
    upload_expiration_days: int = 30
    uploads_noncurrent_days: int = 3
    artifacts_noncurrent_days: int = 30
    memory_size: int = 2048
    timeout_seconds: int = 120
    architecture: str = "x86_64"
    # Default: <project>-<stack>-<name>-ocr, so the log group can be named before it.
    function_name: str | None = None
    deletion_protection: bool = True
    tags: dict[str, str] | None = None

    def __post_init__(self) -> None:
        if not 1 <= self.timeout_seconds <= 900:
            raise ValueError(f"timeout_seconds must be 1-900 (Lambda), not {self.timeout_seconds}.")
        if not 1 <= self.batch_size <= 10_000:
            raise ValueError(f"batch_size must be 1-10000 (SQS), not {self.batch_size}.")
        if self.batch_size > 10 and self.batching_window_seconds < 1:
            raise ValueError("A batch_size above 10 needs batching_window_seconds of 1 or more.")
        if not 2 <= self.max_concurrency <= 1000:
            raise ValueError(f"max_concurrency must be 2-1000 (SQS), not {self.max_concurrency}.")
        if self.max_receive_count < 1:
            raise ValueError("max_receive_count must be at least 1.")


class Documents(pulumi.ComponentResource):
    uploads_bucket_name: pulumi.Output[str]
    uploads_bucket_arn: pulumi.Output[str]
    artifacts_bucket_name: pulumi.Output[str]
    artifacts_bucket_arn: pulumi.Output[str]
    table_name: pulumi.Output[str]
    table_arn: pulumi.Output[str]
    queue_arn: pulumi.Output[str]
    queue_url: pulumi.Output[str]
    dlq_arn: pulumi.Output[str]
    dlq_name: pulumi.Output[str]
    ocr_function_name: pulumi.Output[str]
    ocr_function_arn: pulumi.Output[str]
    ocr_security_group_id: pulumi.Output[str]

    def __init__(
        self, name: str, args: DocumentsArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("mlops:aws:Documents", name, None, opts)
        self._name = name
        self._args = args
        self._child = pulumi.ResourceOptions(parent=self)

        uploads = self._build_bucket(
            "uploads",
            [
                s3.BucketLifecycleConfigurationRuleArgs(
                    id="expire-uploads",
                    status="Enabled",
                    filter=s3.BucketLifecycleConfigurationRuleFilterArgs(prefix=""),
                    expiration=s3.BucketLifecycleConfigurationRuleExpirationArgs(
                        days=args.upload_expiration_days
                    ),
                ),
                *self._cleanup_rules(args.uploads_noncurrent_days),
            ],
        )
        self._build_upload_cors(uploads)
        artifacts = self._build_bucket(
            "artifacts", self._cleanup_rules(args.artifacts_noncurrent_days)
        )
        table = self._build_table()
        dlq, queue = self._build_queues()
        self._build_notification(uploads, queue)
        function, security_group = self._build_ocr_function(uploads, artifacts, table, queue)

        self.uploads_bucket_name = uploads.bucket
        self.uploads_bucket_arn = uploads.arn
        self.artifacts_bucket_name = artifacts.bucket
        self.artifacts_bucket_arn = artifacts.arn
        self.table_name = table.name
        self.table_arn = table.arn
        self.queue_arn = queue.arn
        self.queue_url = queue.url
        self.dlq_arn = dlq.arn
        self.dlq_name = dlq.name
        self.ocr_function_name = function.name
        self.ocr_function_arn = function.arn
        self.ocr_security_group_id = security_group.id
        self.register_outputs(
            {
                "uploads_bucket_name": self.uploads_bucket_name,
                "uploads_bucket_arn": self.uploads_bucket_arn,
                "artifacts_bucket_name": self.artifacts_bucket_name,
                "artifacts_bucket_arn": self.artifacts_bucket_arn,
                "table_name": self.table_name,
                "table_arn": self.table_arn,
                "queue_arn": self.queue_arn,
                "queue_url": self.queue_url,
                "dlq_arn": self.dlq_arn,
                "dlq_name": self.dlq_name,
                "ocr_function_name": self.ocr_function_name,
                "ocr_function_arn": self.ocr_function_arn,
                "ocr_security_group_id": self.ocr_security_group_id,
            }
        )

    # Buckets -----------------------------------------------------------------------------

    def _cleanup_rules(self, noncurrent_days: int) -> list[s3.BucketLifecycleConfigurationRuleArgs]:
        return [
            s3.BucketLifecycleConfigurationRuleArgs(
                id="expire-noncurrent-versions",
                status="Enabled",
                filter=s3.BucketLifecycleConfigurationRuleFilterArgs(prefix=""),
                noncurrent_version_expiration=(
                    s3.BucketLifecycleConfigurationRuleNoncurrentVersionExpirationArgs(
                        noncurrent_days=noncurrent_days
                    )
                ),
                abort_incomplete_multipart_upload=(
                    s3.BucketLifecycleConfigurationRuleAbortIncompleteMultipartUploadArgs(
                        days_after_initiation=1
                    )
                ),
            ),
            # Once every version is gone, the lone delete marker is removed too.
            s3.BucketLifecycleConfigurationRuleArgs(
                id="remove-expired-delete-markers",
                status="Enabled",
                filter=s3.BucketLifecycleConfigurationRuleFilterArgs(prefix=""),
                expiration=s3.BucketLifecycleConfigurationRuleExpirationArgs(
                    expired_object_delete_marker=True
                ),
            ),
        ]

    def _build_bucket(
        self, role: str, rules: list[s3.BucketLifecycleConfigurationRuleArgs]
    ) -> s3.Bucket:
        """A private, encrypted, versioned bucket reachable over TLS only."""
        name = f"{self._name}-{role}"
        bucket = s3.Bucket(
            name,
            # Unprotected (dev) stacks must be destroyable: S3 refuses to delete a bucket
            # that still holds objects or versions.
            force_destroy=not self._args.deletion_protection,
            tags=self._args.tags,
            opts=self._child,
        )
        public_access = s3.BucketPublicAccessBlock(
            f"{name}-public-access",
            bucket=bucket.id,
            block_public_acls=True,
            block_public_policy=True,
            ignore_public_acls=True,
            restrict_public_buckets=True,
            opts=self._child,
        )
        s3.BucketOwnershipControls(
            f"{name}-ownership",
            bucket=bucket.id,
            rule=s3.BucketOwnershipControlsRuleArgs(object_ownership="BucketOwnerEnforced"),
            opts=self._child,
        )
        s3.BucketServerSideEncryptionConfiguration(
            f"{name}-encryption",
            bucket=bucket.id,
            rules=[
                s3.BucketServerSideEncryptionConfigurationRuleArgs(
                    apply_server_side_encryption_by_default=(
                        s3.BucketServerSideEncryptionConfigurationRuleApplyServerSideEncryptionByDefaultArgs(
                            sse_algorithm="AES256"
                        )
                    ),
                )
            ],
            opts=self._child,
        )
        versioning = s3.BucketVersioning(
            f"{name}-versioning",
            bucket=bucket.id,
            versioning_configuration=s3.BucketVersioningVersioningConfigurationArgs(
                status="Enabled"
            ),
            opts=self._child,
        )
        s3.BucketLifecycleConfiguration(
            f"{name}-lifecycle",
            bucket=bucket.id,
            rules=rules,
            # Noncurrent-version rules mean nothing until versioning is on.
            opts=pulumi.ResourceOptions(parent=self, depends_on=[versioning]),
        )
        s3.BucketPolicy(
            f"{name}-policy",
            bucket=bucket.id,
            policy=resource_policy(
                [
                    # Deny covers every S3 action, present and future: only a denial may.
                    ResourceStatement(
                        effect="Deny",
                        principal="*",
                        actions=["s3:*"],
                        resources=[bucket.arn, pulumi.Output.concat(bucket.arn, "/*")],
                        conditions={"Bool": {"aws:SecureTransport": "false"}},
                    )
                ]
            ),
            # S3 rejects concurrent changes to one bucket's access settings.
            opts=pulumi.ResourceOptions(parent=self, depends_on=[public_access]),
        )
        return bucket

    def _build_upload_cors(self, uploads: s3.Bucket) -> None:
        # Browsers post files straight to S3 with a presigned POST.
        s3.BucketCorsConfiguration(
            f"{self._name}-uploads-cors",
            bucket=uploads.id,
            cors_rules=[
                s3.BucketCorsConfigurationCorsRuleArgs(
                    allowed_methods=["POST"],
                    allowed_origins=self._args.cors_origins,
                    allowed_headers=["*"],
                    expose_headers=["ETag"],
                    max_age_seconds=3000,
                )
            ],
            opts=self._child,
        )

    # Records -----------------------------------------------------------------------------

    def _build_table(self) -> dynamodb.Table:
        """The one table of the app, from the schema its adapter (and its tests) use."""
        keys = {key["KeyType"]: key["AttributeName"] for key in TABLE_SCHEMA["KeySchema"]}
        return dynamodb.Table(
            f"{self._name}-records",
            billing_mode=TABLE_SCHEMA["BillingMode"],
            hash_key=keys["HASH"],
            range_key=keys.get("RANGE"),
            attributes=[
                dynamodb.TableAttributeArgs(name=a["AttributeName"], type=a["AttributeType"])
                for a in TABLE_SCHEMA["AttributeDefinitions"]
            ],
            global_secondary_indexes=[
                dynamodb.TableGlobalSecondaryIndexArgs(
                    name=index["IndexName"],
                    key_schemas=[
                        dynamodb.TableGlobalSecondaryIndexKeySchemaArgs(
                            attribute_name=key["AttributeName"], key_type=key["KeyType"]
                        )
                        for key in index["KeySchema"]
                    ],
                    projection_type=index["Projection"]["ProjectionType"],
                    non_key_attributes=index["Projection"].get("NonKeyAttributes"),
                )
                for index in TABLE_SCHEMA.get("GlobalSecondaryIndexes", [])
            ],
            point_in_time_recovery=dynamodb.TablePointInTimeRecoveryArgs(enabled=True),
            server_side_encryption=dynamodb.TableServerSideEncryptionArgs(enabled=True),
            ttl=dynamodb.TableTtlArgs(attribute_name=TTL_ATTRIBUTE, enabled=True),
            deletion_protection_enabled=self._args.deletion_protection,
            tags=self._args.tags,
            opts=self._child,
        )

    # Events ------------------------------------------------------------------------------

    def _build_queues(self) -> tuple[sqs.Queue, sqs.Queue]:
        args = self._args
        dlq = sqs.Queue(
            f"{self._name}-ocr-dlq",
            message_retention_seconds=DLQ_RETENTION_SECONDS,
            sqs_managed_sse_enabled=True,
            tags=args.tags,
            opts=self._child,
        )
        queue = sqs.Queue(
            f"{self._name}-ocr-queue",
            # AWS's rule for Lambda sources: six function timeouts plus the batching window,
            # so a message is not handed out again while a retried invocation still runs.
            visibility_timeout_seconds=6 * args.timeout_seconds + args.batching_window_seconds,
            message_retention_seconds=QUEUE_RETENTION_SECONDS,
            sqs_managed_sse_enabled=True,
            redrive_policy=pulumi.Output.json_dumps(
                {"deadLetterTargetArn": dlq.arn, "maxReceiveCount": args.max_receive_count}
            ),
            tags=args.tags,
            opts=self._child,
        )
        sqs.RedriveAllowPolicy(
            f"{self._name}-ocr-dlq-sources",
            queue_url=dlq.url,
            redrive_allow_policy=pulumi.Output.json_dumps(
                {"redrivePermission": "byQueue", "sourceQueueArns": [queue.arn]}
            ),
            opts=self._child,
        )
        return dlq, queue

    def _build_notification(self, uploads: s3.Bucket, queue: sqs.Queue) -> None:
        account_id = get_caller_identity_output(opts=pulumi.InvokeOptions(parent=self)).account_id
        queue_policy = sqs.QueuePolicy(
            f"{self._name}-ocr-queue-policy",
            queue_url=queue.url,
            policy=resource_policy(
                [
                    ResourceStatement(
                        principal={"Service": "s3.amazonaws.com"},
                        actions=["sqs:SendMessage"],
                        resources=[queue.arn],
                        conditions={
                            "ArnEquals": {"aws:SourceArn": uploads.arn},
                            "StringEquals": {"aws:SourceAccount": account_id},
                        },
                    )
                ]
            ),
            opts=self._child,
        )
        s3.BucketNotification(
            f"{self._name}-uploads-notification",
            bucket=uploads.id,
            queues=[
                s3.BucketNotificationQueueArgs(
                    queue_arn=queue.arn,
                    events=["s3:ObjectCreated:*"],
                    filter_prefix=UPLOADS_PREFIX,
                )
            ],
            # S3 sends a test message when the notification is saved: the queue must allow it.
            opts=pulumi.ResourceOptions(parent=self, depends_on=[queue_policy]),
        )

    # OCR function ------------------------------------------------------------------------

    def _function_name(self) -> str:
        name = self._args.function_name or (
            f"{pulumi.get_project()}-{pulumi.get_stack()}-{self._name}-ocr"
        )
        if not re.fullmatch(r"[A-Za-z0-9_-]{1,64}", name):
            raise ValueError(
                f"Lambda function name {name!r} is not 1-64 letters, digits, '-' or '_';"
                " set DocumentsArgs.function_name."
            )
        return name

    def _build_ocr_function(
        self, uploads: s3.Bucket, artifacts: s3.Bucket, table: dynamodb.Table, queue: sqs.Queue
    ) -> tuple[lambda_.Function, ec2.SecurityGroup]:
        args = self._args
        function_name = self._function_name()
        log_group = cloudwatch.LogGroup(
            f"{self._name}-ocr-logs",
            name=f"/aws/lambda/{function_name}",
            retention_in_days=args.log_retention_days,
            tags=args.tags,
            opts=self._child,
        )
        security_group = ec2.SecurityGroup(
            f"{self._name}-ocr-sg",
            vpc_id=args.vpc_id,
            description="OCR Lambda: no inbound; out to AWS APIs and MLflow",
            egress=[
                ec2.SecurityGroupEgressArgs(
                    protocol="-1", from_port=0, to_port=0, cidr_blocks=["0.0.0.0/0"]
                )
            ],
            tags=args.tags,
            opts=self._child,
        )
        role, role_policy = workload_role(
            f"{self._name}-ocr",
            service="lambda.amazonaws.com",
            policy=policy_document(
                self._ocr_statements(uploads, artifacts, table, queue, log_group)
            ),
            tags=args.tags,
            opts=self._child,
        )
        function = lambda_.Function(
            f"{self._name}-ocr",
            name=function_name,
            package_type="Image",
            image_uri=args.ocr_image,
            architectures=[args.architecture],
            role=role.arn,
            memory_size=args.memory_size,
            timeout=args.timeout_seconds,
            vpc_config=lambda_.FunctionVpcConfigArgs(
                subnet_ids=args.private_subnet_ids, security_group_ids=[security_group.id]
            ),
            environment=lambda_.FunctionEnvironmentArgs(
                variables={
                    "MLOPS_CLOUD": "aws",
                    "MLOPS_UPLOADS_BUCKET": uploads.bucket,
                    "MLOPS_RECORDS_TABLE": table.name,
                    "MLOPS_DATA_DIR": "/tmp/mlops",
                    "MLOPS_TRAIN_ON_EMPTY_REGISTRY": "false",
                    "POWERTOOLS_SERVICE_NAME": "mlops-ocr",
                    "POWERTOOLS_METRICS_NAMESPACE": METRICS_NAMESPACE,
                    **args.environment,
                }
            ),
            tracing_config=lambda_.FunctionTracingConfigArgs(mode="Active"),
            logging_config=lambda_.FunctionLoggingConfigArgs(
                log_format="Text", log_group=log_group.name
            ),
            tags=args.tags,
            # Lambda checks the role can create network interfaces when the function is made.
            opts=pulumi.ResourceOptions(parent=self, depends_on=[log_group, role_policy]),
        )
        lambda_.EventSourceMapping(
            f"{self._name}-ocr-trigger",
            event_source_arn=queue.arn,
            function_name=function.arn,
            batch_size=args.batch_size,
            maximum_batching_window_in_seconds=args.batching_window_seconds or None,
            function_response_types=["ReportBatchItemFailures"],
            scaling_config=lambda_.EventSourceMappingScalingConfigArgs(
                maximum_concurrency=args.max_concurrency
            ),
            # The mapping is refused while the role cannot read the queue.
            opts=pulumi.ResourceOptions(parent=self, depends_on=[role_policy]),
        )
        return function, security_group

    def _ocr_statements(
        self,
        uploads: s3.Bucket,
        artifacts: s3.Bucket,
        table: dynamodb.Table,
        queue: sqs.Queue,
        log_group: cloudwatch.LogGroup,
    ) -> list[Statement]:
        return [
            Statement(
                actions=["s3:GetObject"],
                resources=[pulumi.Output.concat(uploads.arn, "/", UPLOADS_PREFIX, "*")],
            ),
            # The pipeline classifies with the champion model. MLflow serves no artifacts
            # (--no-serve-artifacts), so the model's files are read from the store itself.
            Statement(
                actions=["s3:GetObject"], resources=[pulumi.Output.concat(artifacts.arn, "/*")]
            ),
            Statement(actions=["s3:ListBucket"], resources=[artifacts.arn]),
            Statement(
                actions=DYNAMODB_ITEM_ACTIONS,
                resources=[table.arn, pulumi.Output.concat(table.arn, "/index/*")],
            ),
            Statement(
                actions=[
                    "sqs:ChangeMessageVisibility",
                    "sqs:DeleteMessage",
                    "sqs:GetQueueAttributes",
                    "sqs:ReceiveMessage",
                ],
                resources=[queue.arn],
            ),
            Statement(
                actions=["xray:PutTelemetryRecords", "xray:PutTraceSegments"],
                resources=["*"],
                wildcard_reason="X-Ray trace segments have no resource-level permissions",
            ),
            Statement(
                actions=["cloudwatch:PutMetricData"],
                resources=["*"],
                conditions={"StringEquals": {"cloudwatch:namespace": METRICS_NAMESPACE}},
                wildcard_reason="PutMetricData has no resources; the namespace condition narrows",
            ),
            Statement(
                actions=["logs:CreateLogStream", "logs:PutLogEvents"],
                resources=[pulumi.Output.concat(log_group.arn, ":*")],
            ),
            Statement(
                actions=LAMBDA_VPC_ACTIONS,
                resources=["*"],
                wildcard_reason=(
                    "Lambda's VPC attachment creates and describes network interfaces that do"
                    " not exist yet; the EC2 describe calls have no resource-level permissions"
                ),
            ),
        ]
