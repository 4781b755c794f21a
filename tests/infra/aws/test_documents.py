"""Documents: private buckets, S3 → SQS (+DLQ) → OCR Lambda, the records table."""

from __future__ import annotations

import json

import pulumi
import pytest

from contracts.tables import TABLE_SCHEMA
from infra.aws import documents as documents_module
from infra.aws.documents import Documents, DocumentsArgs
from tests.infra.aws.policy_checks import assert_least_privilege, statements
from tests.infra.mocks import Resource, Stack, run_program

# pulumi_aws warns about its own deprecated modules as the mocks load them.
pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")

OCR_IMAGE = "123456789012.dkr.ecr.eu-west-3.amazonaws.com/ocr:1"
BUCKETS = ("docs-uploads", "docs-artifacts")


def _args(**overrides: object) -> DocumentsArgs:
    values: dict[str, object] = {
        "vpc_id": "vpc-1",
        "private_subnet_ids": ["subnet-a", "subnet-b"],
        "ocr_image": OCR_IMAGE,
        "environment": {
            "MLOPS_MLFLOW_TRACKING_URI": "http://mlflow.mlops.internal:5000/mlflow",
            "POWERTOOLS_SERVICE_NAME": "ocr-override",
        },
        "cors_origins": ["https://app.example.com"],
    }
    values.update(overrides)
    return DocumentsArgs(**values)  # type: ignore[arg-type]


@pytest.fixture(scope="module")
def stack() -> Stack:
    return run_program(lambda: Documents("docs", _args()))


def _for_bucket(stack: Stack, type_: str, bucket: str) -> Resource:
    found = [r for r in stack.of_type(type_) if r.inputs["bucket"] == f"{bucket}-id"]
    assert len(found) == 1, f"expected one {type_} for {bucket}, found {len(found)}"
    return found[0]


# Buckets ---------------------------------------------------------------------------------


@pytest.mark.parametrize("bucket", BUCKETS)
def test_buckets_block_every_kind_of_public_access(stack: Stack, bucket: str) -> None:
    block = _for_bucket(stack, "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock", bucket)
    flags = ("blockPublicAcls", "blockPublicPolicy", "ignorePublicAcls", "restrictPublicBuckets")
    assert {flag: block.inputs.get(flag) for flag in flags} == dict.fromkeys(flags, True)


@pytest.mark.parametrize("bucket", BUCKETS)
def test_buckets_are_encrypted_versioned_and_owner_enforced(stack: Stack, bucket: str) -> None:
    sse = _for_bucket(
        stack,
        "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration",
        bucket,
    )
    assert sse.inputs["rules"][0]["applyServerSideEncryptionByDefault"]["sseAlgorithm"] in (
        "AES256",
        "aws:kms",
    )
    versioning = _for_bucket(stack, "aws:s3/bucketVersioning:BucketVersioning", bucket)
    assert versioning.inputs["versioningConfiguration"]["status"] == "Enabled"
    ownership = _for_bucket(stack, "aws:s3/bucketOwnershipControls:BucketOwnershipControls", bucket)
    assert ownership.inputs["rule"]["objectOwnership"] == "BucketOwnerEnforced"


@pytest.mark.parametrize("bucket", BUCKETS)
def test_buckets_refuse_requests_without_tls(stack: Stack, bucket: str) -> None:
    policy = _for_bucket(stack, "aws:s3/bucketPolicy:BucketPolicy", bucket)
    bucket_arn = f"arn:aws:s3:eu-west-3:123456789012:{bucket}"
    denials = [
        s
        for s in statements(policy.inputs["policy"])
        if s["Effect"] == "Deny"
        and s["Principal"] == "*"
        and s.get("Condition") == {"Bool": {"aws:SecureTransport": "false"}}
    ]
    assert denials, "no statement denies requests made without TLS"
    assert set(denials[0]["Resource"]) == {bucket_arn, f"{bucket_arn}/*"}
    assert "s3:*" in denials[0]["Action"]


def test_uploads_expire_and_old_versions_are_cleaned(stack: Stack) -> None:
    uploads = _for_bucket(
        stack, "aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration", BUCKETS[0]
    )
    rules = {rule["id"]: rule for rule in uploads.inputs["rules"]}
    assert rules["expire-uploads"]["expiration"]["days"] == 30
    cleanup = rules["expire-noncurrent-versions"]
    assert cleanup["noncurrentVersionExpiration"]["noncurrentDays"] == 3
    assert cleanup["abortIncompleteMultipartUpload"]["daysAfterInitiation"] == 1
    assert all(rule["status"] == "Enabled" for rule in rules.values())


def test_artifacts_keep_current_versions(stack: Stack) -> None:
    artifacts = _for_bucket(
        stack, "aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration", BUCKETS[1]
    )
    rules = artifacts.inputs["rules"]
    assert not any(rule.get("expiration", {}).get("days") for rule in rules)
    assert any(rule.get("noncurrentVersionExpiration") for rule in rules)


def test_uploads_accept_presigned_posts_from_the_configured_origins(stack: Stack) -> None:
    cors = stack.one("aws:s3/bucketCorsConfiguration:BucketCorsConfiguration")
    assert cors.inputs["bucket"] == "docs-uploads-id"
    (rule,) = cors.inputs["corsRules"]
    assert rule["allowedMethods"] == ["POST"]
    assert rule["allowedOrigins"] == ["https://app.example.com"]


# Events ----------------------------------------------------------------------------------


def test_new_uploads_notify_the_queue(stack: Stack) -> None:
    notification = stack.one("aws:s3/bucketNotification:BucketNotification")
    assert notification.inputs["bucket"] == "docs-uploads-id"
    (target,) = notification.inputs["queues"]
    assert target["queueArn"] == "arn:aws:sqs:eu-west-3:123456789012:docs-ocr-queue"
    assert target["events"] == ["s3:ObjectCreated:*"]
    assert target["filterPrefix"] == "uploads/"


def test_notification_is_created_after_the_queue_policy(monkeypatch: pytest.MonkeyPatch) -> None:
    # S3 test-sends a message when the notification is saved; the queue must allow it.
    seen: list[object] = []
    original = documents_module.s3.BucketNotification

    def spy(name: str, *args: object, opts: pulumi.ResourceOptions, **kwargs: object) -> object:
        seen.extend(opts.depends_on or [])
        return original(name, *args, opts=opts, **kwargs)

    monkeypatch.setattr(documents_module.s3, "BucketNotification", spy)
    run_program(lambda: Documents("docs", _args()))
    assert any(isinstance(d, documents_module.sqs.QueuePolicy) for d in seen)


def test_only_s3_for_this_bucket_and_account_may_send_to_the_queue(stack: Stack) -> None:
    policy = stack.one("aws:sqs/queuePolicy:QueuePolicy")
    (statement,) = statements(policy.inputs["policy"])
    assert statement["Principal"] == {"Service": "s3.amazonaws.com"}
    assert statement["Action"] == ["sqs:SendMessage"]
    assert statement["Condition"] == {
        "ArnEquals": {"aws:SourceArn": "arn:aws:s3:eu-west-3:123456789012:docs-uploads"},
        "StringEquals": {"aws:SourceAccount": "123456789012"},
    }


def test_the_queue_redrives_to_the_dead_letter_queue(stack: Stack) -> None:
    queue = stack.named("docs-ocr-queue")
    dlq = stack.named("docs-ocr-dlq")
    redrive = json.loads(queue.inputs["redrivePolicy"])
    assert redrive == {
        "deadLetterTargetArn": "arn:aws:sqs:eu-west-3:123456789012:docs-ocr-dlq",
        "maxReceiveCount": 3,
    }
    assert dlq.inputs["messageRetentionSeconds"] == 14 * 24 * 3600
    assert queue.inputs["sqsManagedSseEnabled"] and dlq.inputs["sqsManagedSseEnabled"]


def test_a_message_stays_hidden_for_six_function_timeouts(stack: Stack) -> None:
    function = stack.one("aws:lambda/function:Function")
    queue = stack.named("docs-ocr-queue")
    assert queue.inputs["visibilityTimeoutSeconds"] >= 6 * function.inputs["timeout"]


def test_the_function_reports_failed_items_alone(stack: Stack) -> None:
    mapping = stack.one("aws:lambda/eventSourceMapping:EventSourceMapping")
    assert mapping.inputs["functionResponseTypes"] == ["ReportBatchItemFailures"]
    assert mapping.inputs["eventSourceArn"] == "arn:aws:sqs:eu-west-3:123456789012:docs-ocr-queue"
    assert mapping.inputs["batchSize"] == 5
    assert mapping.inputs["scalingConfig"] == {"maximumConcurrency": 4}


# Records ---------------------------------------------------------------------------------


def test_the_table_is_the_adapters_schema(stack: Stack) -> None:
    table = stack.one("aws:dynamodb/table:Table").inputs
    keys = {k["KeyType"]: k["AttributeName"] for k in TABLE_SCHEMA["KeySchema"]}
    assert (table["hashKey"], table["rangeKey"]) == (keys["HASH"], keys["RANGE"])
    assert table["billingMode"] == "PAY_PER_REQUEST"
    assert {(a["name"], a["type"]) for a in table["attributes"]} == {
        (a["AttributeName"], a["AttributeType"]) for a in TABLE_SCHEMA["AttributeDefinitions"]
    }
    indexes = {
        index["name"]: (
            [(k["attributeName"], k["keyType"]) for k in index["keySchemas"]],
            index["projectionType"],
        )
        for index in table["globalSecondaryIndexes"]
    }
    assert indexes == {
        index["IndexName"]: (
            [(k["AttributeName"], k["KeyType"]) for k in index["KeySchema"]],
            index["Projection"]["ProjectionType"],
        )
        for index in TABLE_SCHEMA["GlobalSecondaryIndexes"]
    }


def test_the_table_is_recoverable_encrypted_and_expires_items(stack: Stack) -> None:
    table = stack.one("aws:dynamodb/table:Table").inputs
    assert table["pointInTimeRecovery"] == {"enabled": True}
    assert table["serverSideEncryption"]["enabled"] is True
    assert table["ttl"] == {"attributeName": "expiration", "enabled": True}


# OCR function ----------------------------------------------------------------------------


def test_the_function_runs_the_ocr_image_traced_in_private_subnets(stack: Stack) -> None:
    function = stack.one("aws:lambda/function:Function").inputs
    assert function["packageType"] == "Image"
    assert function["imageUri"] == OCR_IMAGE
    assert function["tracingConfig"] == {"mode": "Active"}
    assert function["vpcConfig"]["subnetIds"] == ["subnet-a", "subnet-b"]
    assert function["vpcConfig"]["securityGroupIds"] == ["docs-ocr-sg-id"]


def test_the_function_environment_is_the_contracts_plus_the_callers(stack: Stack) -> None:
    variables = stack.one("aws:lambda/function:Function").inputs["environment"]["variables"]
    assert variables["MLOPS_CLOUD"] == "aws"
    assert variables["MLOPS_UPLOADS_BUCKET"] == "docs-uploads"
    assert variables["MLOPS_RECORDS_TABLE"] == "docs-records"
    assert variables["MLOPS_DATA_DIR"] == "/tmp/mlops"
    assert variables["POWERTOOLS_METRICS_NAMESPACE"] == "mlops"
    assert variables["MLOPS_MLFLOW_TRACKING_URI"] == "http://mlflow.mlops.internal:5000/mlflow"
    assert variables["POWERTOOLS_SERVICE_NAME"] == "ocr-override"


def test_the_function_logs_to_its_own_group_with_retention(stack: Stack) -> None:
    function = stack.one("aws:lambda/function:Function").inputs
    log_group = stack.named("docs-ocr-logs").inputs
    assert log_group["name"] == f"/aws/lambda/{function['name']}"
    assert log_group["retentionInDays"] == 30


def test_the_function_accepts_no_inbound_traffic(stack: Stack) -> None:
    group = stack.named("docs-ocr-sg").inputs
    assert not group.get("ingress")
    assert not stack.of_type("aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule")


def test_the_function_role_is_least_privilege(stack: Stack) -> None:
    assert_least_privilege(stack)
    body = statements(stack.one("aws:iam/rolePolicy:RolePolicy").inputs["policy"])
    readable = [s["Resource"] for s in body if "s3:GetObject" in s["Action"]]
    assert ["arn:aws:s3:eu-west-3:123456789012:docs-uploads/uploads/*"] in readable
    assert not any("s3:PutObject" in s["Action"] for s in body)


@pytest.mark.parametrize(
    "overrides",
    [
        {"max_concurrency": 1},
        {"batch_size": 20},
        {"timeout_seconds": 901},
        {"max_receive_count": 0},
    ],
)
def test_arguments_aws_would_refuse_fail_early(overrides: dict[str, int]) -> None:
    with pytest.raises(ValueError):
        _args(**overrides)
