"""The whole GCP program (infra/__main__.py with mlops:cloud=gcp) under mocks: who may call
what, closed buckets, the upload trigger, Firestore, the registry and the outputs."""

from __future__ import annotations

import json
import re
import shlex
from pathlib import Path

import pytest

from infra.gcp.foundation import PRIMITIVE_ROLES, WORKLOADS
from infra.gcp.records import INDEXES
from tests.infra.gcp.stacks import (
    BUCKET,
    EXTERNAL_MLFLOW,
    GCS_AGENT,
    JOB,
    PROJECT_ID,
    PUBSUB_AGENT,
    REGION,
    REQUIRED_OUTPUTS,
    SERVICE,
    TRIGGER,
    env,
    iam_members,
    reveal,
    service_named,
    stack,
)
from tests.infra.mocks import Resource, Stack

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")

REPO = Path(__file__).resolve().parents[3]
PUBLIC_MEMBERS = ("allUsers", "allAuthenticatedUsers")
PROJECT_MEMBER = "gcp:projects/iAMMember:IAMMember"
# Roles bound on the whole project, each because GCP offers no narrower resource; any
# other project-level binding must carry an IAM condition.
PROJECT_ROLES_WITHOUT_CONDITION = {
    "roles/eventarc.eventReceiver",  # the trigger's account; project-level only
    "roles/pubsub.publisher",  # the GCS service agent publishing storage events
}


def sa(role: str) -> str:
    return f"mlops-test-{role}@{PROJECT_ID}.iam.gserviceaccount.com"


def member(role: str) -> str:
    return f"serviceAccount:{sa(role)}"


@pytest.fixture(scope="module", params=["default", "external"])
def any_stack(request: pytest.FixtureRequest) -> Stack:
    return stack(request.param)


@pytest.fixture(scope="module")
def default() -> Stack:
    return stack("default")


@pytest.fixture(scope="module")
def external() -> Stack:
    return stack("external")


# -- nobody public, nothing primitive --------------------------------------------------


def test_no_resource_names_a_public_member(any_stack: Stack) -> None:
    for resource in any_stack.resources:
        text = json.dumps(reveal(resource.inputs))
        for public in PUBLIC_MEMBERS:
            assert public not in text, f"{resource.type} {resource.name} names {public}"


def test_no_primitive_or_broad_roles(any_stack: Stack) -> None:
    roles = {role for _, role, _ in iam_members(any_stack)}
    assert roles, "the stack binds roles"
    assert not roles & PRIMITIVE_ROLES
    broad = {r for r in roles if r.startswith(("roles/run.developer", "roles/run.admin"))}
    assert not broad
    assert not {r for r in roles if r.endswith(".admin") or r == "roles/iam.serviceAccountUser"}


def test_project_level_bindings_are_conditioned_or_unavoidable(any_stack: Stack) -> None:
    for resource, role, _ in iam_members(any_stack):
        if resource.type != PROJECT_MEMBER:
            continue
        custom = role.startswith(f"projects/{PROJECT_ID}/roles/")
        condition = reveal(resource.inputs).get("condition")
        assert condition or custom or role in PROJECT_ROLES_WITHOUT_CONDITION, (
            f"{resource.name}: {role} on the whole project"
        )
        if condition:
            assert "resource.name ==" in condition["expression"]


def test_only_the_gateway_invokes_the_app(any_stack: Stack) -> None:
    app = service_named(any_stack, "app-")
    assert app.inputs["ingress"] == "INGRESS_TRAFFIC_ALL"  # API Gateway calls the public URL
    assert not app.inputs.get("invokerIamDisabled")
    invokers = [
        (role, who)
        for resource, role, who in iam_members(any_stack)
        if resource.type == "gcp:cloudrunv2/serviceIamMember:ServiceIamMember"
        and reveal(resource.inputs)["name"] == app.name
    ]
    assert invokers == [("roles/run.invoker", member("gateway"))]


def test_internal_services_only_skip_the_invoker_check(any_stack: Stack) -> None:
    for service in any_stack.of_type(SERVICE):
        if service.inputs.get("invokerIamDisabled"):
            assert service.inputs["ingress"] == "INGRESS_TRAFFIC_INTERNAL_ONLY", service.name


def test_each_workload_runs_as_its_own_account(default: Stack) -> None:
    accounts = default.of_type("gcp:serviceaccount/account:Account")
    assert sorted(a.inputs["accountId"] for a in accounts) == sorted(
        f"mlops-test-{role}" for role in WORKLOADS
    )
    runs_as = {
        service.name: reveal(service.inputs["template"])["serviceAccount"]
        for service in default.of_type(SERVICE)
    }
    job = default.one(JOB)
    runs_as[job.name] = reveal(job.inputs["template"])["template"]["serviceAccount"]
    assert runs_as == {
        "app-service": sa("app"),
        "ocr-worker": sa("ocr"),
        "mlflow-server": sa("mlflow"),
        "training-job": sa("training"),
    }


def test_apis_are_enabled_and_left_on_at_destroy(default: Stack, external: Stack) -> None:
    apis = {r.inputs["service"]: r for r in default.of_type("gcp:projects/service:Service")}
    for name in ("run.googleapis.com", "eventarc.googleapis.com", "apigateway.googleapis.com"):
        assert name in apis
    assert "sqladmin.googleapis.com" in apis
    assert all(r.inputs["disableOnDestroy"] is False for r in apis.values())
    external_apis = {r.inputs["service"] for r in external.of_type("gcp:projects/service:Service")}
    assert "sqladmin.googleapis.com" not in external_apis


# -- buckets ---------------------------------------------------------------------------


def test_buckets_are_closed_to_the_public(any_stack: Stack) -> None:
    buckets = any_stack.of_type(BUCKET)
    assert {b.name for b in buckets} == {"documents-uploads", "documents-artifacts"}
    for bucket in buckets:
        assert bucket.inputs["publicAccessPrevention"] == "enforced", bucket.name
        assert bucket.inputs["uniformBucketLevelAccess"] is True, bucket.name


def test_browsers_may_put_to_signed_urls_with_the_headers_they_sign(default: Stack) -> None:
    (cors,) = default.named("documents-uploads").inputs["cors"]
    assert cors["methods"] == ["PUT"]
    # A signed PUT carries both; the preflight must allow each (GCS answers with this list).
    assert set(cors["responseHeaders"]) == {"Content-Type", "x-goog-content-length-range"}


def test_uploads_are_versioned_and_expire(default: Stack) -> None:
    uploads = default.named("documents-uploads")
    assert uploads.inputs["versioning"] == {"enabled": True}
    ages = [
        rule["condition"].get("age")
        for rule in uploads.inputs["lifecycleRules"]
        if rule["action"]["type"] == "Delete"
    ]
    assert 30 in ages  # uploadExpirationDays
    assert uploads.inputs["forceDestroy"] is False  # deletionProtection defaults to true


def test_bucket_roles(default: Stack) -> None:
    granted = {
        (reveal(r.inputs)["bucket"], role, who)
        for r, role, who in iam_members(default)
        if r.type == "gcp:storage/bucketIAMMember:BucketIAMMember"
    }
    assert ("documents-uploads", "roles/storage.objectCreator", member("app")) in granted
    assert ("documents-uploads", "roles/storage.objectViewer", member("ocr")) in granted
    assert ("documents-artifacts", "roles/storage.objectUser", member("training")) in granted
    writers = {who for bucket, role, who in granted if role != "roles/storage.objectViewer"}
    assert writers == {member("app"), member("training")}


# -- the upload trigger ------------------------------------------------------------------


def test_trigger_sends_finalized_uploads_to_the_ocr_service(any_stack: Stack) -> None:
    trigger = reveal(any_stack.one(TRIGGER).inputs)
    criteria = {c["attribute"]: c["value"] for c in trigger["matchingCriterias"]}
    assert criteria == {
        "type": "google.cloud.storage.object.v1.finalized",
        "bucket": any_stack.outputs["uploads_bucket"],
    }
    destination = trigger["destination"]["cloudRunService"]
    assert destination["service"] == service_named(any_stack, "ocr-").name
    assert destination["region"] == trigger["location"] == REGION
    assert trigger["serviceAccount"] == sa("trigger")


def test_trigger_account_and_agents_hold_what_delivery_needs(any_stack: Stack) -> None:
    bindings = {(role, who) for _, role, who in iam_members(any_stack)}
    assert ("roles/run.invoker", member("trigger")) in bindings
    assert ("roles/eventarc.eventReceiver", member("trigger")) in bindings
    assert ("roles/pubsub.publisher", f"serviceAccount:{GCS_AGENT}") in bindings
    # Pub/Sub signs each push's OIDC token as the trigger's account, and nothing more.
    creator = "roles/iam.serviceAccountTokenCreator"
    on_trigger = {(r, m) for a, r, m in account_bindings(any_stack) if a.endswith(sa("trigger"))}
    assert on_trigger == {(creator, PUBSUB_AGENT)}
    ocr = service_named(any_stack, "ocr-")
    assert ocr.inputs["ingress"] == "INGRESS_TRAFFIC_INTERNAL_ONLY"
    # A retry takes a document over only once the request timeout has surely ended it.
    template = reveal(ocr.inputs)["template"]
    envs = {e["name"]: e.get("value") for e in template["containers"][0]["envs"]}
    assert int(envs["MLOPS_OCR_LEASE_SECONDS"]) == int(template["timeout"].rstrip("s")) + 60
    invokers = {
        who
        for resource, role, who in iam_members(any_stack)
        if resource.type == "gcp:cloudrunv2/serviceIamMember:ServiceIamMember"
        and reveal(resource.inputs)["name"] == ocr.name
    }
    assert invokers == {member("trigger")}


def test_dead_letters_can_be_attached_to_eventarc_subscription(default: Stack) -> None:
    topic = default.one("gcp:pubsub/topic:Topic")
    hold = default.one("gcp:pubsub/subscription:Subscription")
    assert hold.inputs["topic"] == topic.id
    publisher = reveal(default.one("gcp:pubsub/topicIAMMember:TopicIAMMember").inputs)
    assert (publisher["role"], publisher["member"]) == ("roles/pubsub.publisher", PUBSUB_AGENT)
    subscriber_binding = default.one("gcp:pubsub/subscriptionIAMMember:SubscriptionIAMMember")
    subscriber = reveal(subscriber_binding.inputs)
    assert subscriber["subscription"] == default.outputs["eventarc_subscription"]
    assert subscriber["role"] == "roles/pubsub.subscriber"
    assert subscriber["member"] == PUBSUB_AGENT


def test_dead_letters_are_attached_by_gcloud_once_the_agent_may_move_them(default: Stack) -> None:
    attach = default.one("command:local:Command")
    inputs = reveal(attach.inputs)
    assert inputs["environment"] == {
        "SUBSCRIPTION": default.outputs["eventarc_subscription"],
        "TOPIC": default.outputs["ocr_dead_letter_topic"],
    }
    assert inputs["triggers"] == [
        default.outputs["eventarc_subscription"],
        default.outputs["ocr_dead_letter_topic"],
    ]
    argv = shlex.split(inputs["create"])
    assert argv[:4] == ["gcloud", "pubsub", "subscriptions", "update"]
    flags = dict(a.split("=", 1) for a in argv[5:] if "=" in a)
    assert flags["--dead-letter-topic"] == "$TOPIC" and argv[4] == "$SUBSCRIPTION"
    # Before a dead letter, the backoff outlasts the OCR lease: a delivery whose attempt
    # died is taken over, not given up.
    first, most = (int(flags[f"--{k}-retry-delay"].rstrip("s")) for k in ("min", "max"))
    retries = int(flags["--max-delivery-attempts"]) - 1
    span = sum(min(first * 2**i, most) for i in range(retries))
    ocr = reveal(service_named(default, "ocr-").inputs["template"])
    lease = {e["name"]: e.get("value") for e in ocr["containers"][0]["envs"]}
    assert span > int(lease["MLOPS_OCR_LEASE_SECONDS"])


# -- records -------------------------------------------------------------------------------


def test_firestore_native_with_ttl_on_markers_documents_and_predictions(default: Stack) -> None:
    database = default.one("gcp:firestore/database:Database")
    assert database.inputs["type"] == "FIRESTORE_NATIVE"
    assert database.inputs["deleteProtectionState"] == "DELETE_PROTECTION_ENABLED"
    fields = [reveal(f.inputs) for f in default.of_type("gcp:firestore/field:Field")]
    # The adapters write expires_at on markers, finished documents and predictions.
    assert sorted((f["collection"], f["field"]) for f in fields) == [
        ("documents", "expires_at"),
        ("idempotency", "expires_at"),
        ("predictions", "expires_at"),
    ]
    assert all("ttlConfig" in f for f in fields)


def test_composite_indexes_are_the_adapters(default: Stack) -> None:
    created = {
        (
            r.inputs["collection"],
            tuple((f["fieldPath"], f["order"]) for f in r.inputs["fields"]),
        )
        for r in default.of_type("gcp:firestore/index:Index")
    }
    assert created == set(INDEXES)
    assert created == adapter_indexes()


def adapter_indexes() -> set[tuple[str, tuple[tuple[str, str], ...]]]:
    """The indexes app/adapters/gcp/firestore.py lists in its docstring."""
    text = (REPO / "app" / "adapters" / "gcp" / "firestore.py").read_text()
    block = text.split("Composite indexes", 1)[1].split("\n\n", 2)[1]
    found = set()
    for line in block.strip().splitlines():
        collection, rest = line.split(None, 1)
        fields = tuple(
            (name, "ASCENDING" if order == "ASC" else "DESCENDING")
            for name, order in re.findall(r"(\w+) (ASC|DESC)", rest)
        )
        found.add((collection, fields))
    assert found, "no index listed in the adapter's docstring"
    return found


# -- workloads ---------------------------------------------------------------------------


CONTRACT_ENV = {
    "MLOPS_CLOUD",
    "MLOPS_GCP_PROJECT",
    "MLOPS_GCP_REGION",
    "MLOPS_GCP_FIRESTORE_DATABASE",
    "MLOPS_UPLOADS_BUCKET",
    "MLOPS_MLFLOW_TRACKING_URI",
    "MLOPS_MLFLOW_ARTIFACT_ROOT",
    "MLOPS_AUTH_ISSUER",
    "MLOPS_AUTH_AUDIENCE",
}


def workloads(s: Stack) -> list[Resource]:
    return [service_named(s, "app-"), service_named(s, "ocr-"), s.one(JOB)]


def test_every_workload_gets_the_contract_settings(default: Stack) -> None:
    for workload in workloads(default):
        values = env(workload)
        assert set(values) >= CONTRACT_ENV, workload.name
        assert values["MLOPS_CLOUD"] == "gcp"
        assert values["MLOPS_GCP_PROJECT"] == PROJECT_ID
        assert values["MLOPS_UPLOADS_BUCKET"] == "documents-uploads"
        assert values["MLOPS_MLFLOW_ARTIFACT_ROOT"] == "gs://documents-artifacts/mlflow"
        assert values["MLOPS_MLFLOW_TRACKING_URI"] == default.outputs["mlflow_tracking_url"]
        assert values["MLOPS_AUTH_ISSUER"] == f"https://securetoken.google.com/{PROJECT_ID}"
        assert values["MLOPS_AUTH_AUDIENCE"] == PROJECT_ID
        assert values["MLOPS_AUTH_JWKS_URL"].startswith("https://www.googleapis.com/")
    app = env(service_named(default, "app-"))
    assert app["MLOPS_GCP_TRAINING_JOB"] == default.outputs["training_job"]
    assert app["MLOPS_GCP_SIGNING_SERVICE_ACCOUNT"] == sa("app")


def test_app_service_shape(default: Stack) -> None:
    template = reveal(service_named(default, "app-").inputs["template"])
    assert template["scaling"] == {"minInstanceCount": 1, "maxInstanceCount": 4}
    container = template["containers"][0]
    assert container["resources"]["limits"] == {"cpu": "1", "memory": "2048Mi"}
    port = container["ports"]["containerPort"]
    for probe in ("livenessProbe", "startupProbe"):
        assert container[probe]["httpGet"] == {"path": "/livez", "port": port}


def test_the_app_reads_the_callers_token_where_the_gateway_forwards_it(default: Stack) -> None:
    app = env(service_named(default, "app-"))
    assert app["MLOPS_AUTH_HEADER"] == "x-forwarded-authorization"


def test_app_may_start_the_training_job_and_nothing_more(default: Stack) -> None:
    launcher = reveal(default.one("gcp:cloudrunv2/jobIamMember:JobIamMember").inputs)
    assert launcher["name"] == default.outputs["training_job"]
    assert launcher["member"] == member("app")
    role = next(
        r
        for r in default.of_type("gcp:projects/iAMCustomRole:IAMCustomRole")
        if launcher["role"].endswith(r.inputs["roleId"])
    )
    assert set(role.inputs["permissions"]) == {
        "run.jobs.get",
        "run.jobs.run",
        "run.jobs.runWithOverrides",
        "run.executions.get",
        "run.executions.list",
    }
    job = reveal(default.one(JOB).inputs["template"])["template"]
    # The launcher overrides args alone, after the `mlops` command.
    assert job["containers"][0]["commands"] == ["mlops"]
    assert job["containers"][0]["args"][0] == "train"


def account_bindings(s: Stack) -> set[tuple[str, str, str]]:
    """(account, role, member) of every binding on a service account itself."""
    found = set()
    for resource in s.of_type("gcp:serviceaccount/iAMMember:IAMMember"):
        inputs = reveal(resource.inputs)
        found.add((inputs["serviceAccountId"], inputs["role"], inputs["member"]))
    return found


def test_app_signs_upload_urls_as_itself(default: Stack) -> None:
    creator = "roles/iam.serviceAccountTokenCreator"
    on_app = {(r, m) for a, r, m in account_bindings(default) if a.endswith(sa("app"))}
    assert on_app == {(creator, member("app"))}


# -- model registry ----------------------------------------------------------------------


def test_in_stack_mlflow_is_internal_on_cloud_sql(default: Stack) -> None:
    mlflow = service_named(default, "mlflow-")
    assert mlflow.inputs["ingress"] == "INGRESS_TRAFFIC_INTERNAL_ONLY"
    template = reveal(mlflow.inputs["template"])
    instance = default.one("gcp:sql/databaseInstance:DatabaseInstance")
    connection = f"{PROJECT_ID}:{REGION}:{instance.name}"
    assert template["volumes"][0]["cloudSqlInstance"]["instances"] == [connection]
    values = env(mlflow)
    assert "secretKeyRef" in values["PGPASSWORD"]  # by reference, not a value
    assert "gs://${ARTIFACTS_BUCKET}/mlflow" in template["containers"][0]["args"][0]
    assert reveal(instance.inputs["settings"])["connectorEnforcement"] == "REQUIRED"
    # MLflow's user owns its tables: both go with the instance, not one by one.
    for kind in ("gcp:sql/database:Database", "gcp:sql/user:User"):
        assert default.one(kind).inputs["deletionPolicy"] == "ABANDON", kind
    # Cloud Run takes a startup probe of at most 240 s (threshold x period).
    probe = template["containers"][0]["startupProbe"]
    assert probe["failureThreshold"] * probe["periodSeconds"] <= 240
    # Clients reach the internal service through the VPC.
    for workload in workloads(default):
        inner = reveal(workload.inputs["template"])
        inner = inner.get("template", inner)
        assert inner["vpcAccess"]["egress"] == "ALL_TRAFFIC", workload.name


def test_external_mlflow_creates_no_server_and_is_a_secret(external: Stack) -> None:
    assert not external.of_type("gcp:sql/databaseInstance:DatabaseInstance")
    assert not external.of_type("gcp:compute/network:Network")
    assert not [s for s in external.of_type(SERVICE) if s.name.startswith("mlflow")]
    assert "mlflow_tracking_url" not in external.outputs
    secret = external.one("gcp:secretmanager/secret:Secret")
    version = external.one("gcp:secretmanager/secretVersion:SecretVersion")
    assert reveal(version.inputs["secretData"]) == EXTERNAL_MLFLOW
    assert version.inputs["secretData"] != EXTERNAL_MLFLOW  # stored as a Pulumi secret
    bindings = external.of_type("gcp:secretmanager/secretIamMember:SecretIamMember")
    readers = {r.inputs["member"] for r in bindings}
    assert readers == {member("app"), member("ocr"), member("training")}
    for workload in workloads(external):
        ref = env(workload)["MLOPS_MLFLOW_TRACKING_URI"]
        assert ref == {"secretKeyRef": {"secret": secret.inputs["secretId"], "version": "latest"}}
        assert EXTERNAL_MLFLOW not in json.dumps(reveal(workload.inputs))


# -- images and outputs ----------------------------------------------------------------


def test_images_are_built_into_artifact_registry_unless_given(
    default: Stack, external: Stack
) -> None:
    repository = default.one("gcp:artifactregistry/repository:Repository")
    assert repository.inputs["format"] == "DOCKER"
    assert {p["action"] for p in repository.inputs["cleanupPolicies"]} == {"DELETE", "KEEP"}
    images = {i.name: reveal(i.inputs) for i in default.of_type("docker-build:index:Image")}
    assert set(images) == {"images-app-image", "images-ocr-image"}
    # One app image for every cloud (docker/app.Dockerfile installs all three SDKs).
    assert images["images-app-image"]["dockerfile"]["location"].endswith("app.Dockerfile")
    assert images["images-ocr-image"]["dockerfile"]["location"].endswith("gcp-ocr.Dockerfile")
    registry = default.outputs["registry_url"]
    assert registry == f"{REGION}-docker.pkg.dev/{PROJECT_ID}/mlops-test-images"
    assert all(tag.startswith(f"{registry}/") for i in images.values() for tag in i["tags"])
    assert not external.of_type("docker-build:index:Image")
    app = reveal(service_named(external, "app-").inputs["template"])
    assert app["containers"][0]["image"].endswith("/app:1.4.0")


def test_outputs(any_stack: Stack) -> None:
    for name in REQUIRED_OUTPUTS:
        assert any_stack.outputs.get(name), name
    assert any_stack.outputs["api_url"].startswith("https://")
    assert any_stack.outputs["app_url"].startswith("https://")


def test_every_workload_environment_passes_the_apps_settings(any_stack: Stack) -> None:
    from app.settings import SettingsError, load_settings

    for workload in workloads(any_stack):
        overrides = {
            # A secret reference stands for a value Cloud Run resolves at start.
            key.removeprefix("MLOPS_").lower(): (
                EXTERNAL_MLFLOW if isinstance(value, dict) else value
            )
            for key, value in env(workload).items()
            if key.startswith("MLOPS_")
        }
        try:
            settings = load_settings(**overrides)
        except SettingsError as exc:
            pytest.fail(f"{workload.name} would not start: {exc}")
        assert settings.cloud.value == "gcp"
