"""The document pipeline's storage and OCR: GCS → Eventarc → OCR on Cloud Run → Firestore.

``Buckets`` holds the two buckets: ``uploads`` (documents land at ``uploads/<id>``) and
``artifacts`` (MLflow runs and models under ``mlflow/``). Both have uniform bucket-level
access and public access prevention enforced, so no ACL and no ``allUsers`` binding can
ever open them; object roles are bound on each bucket, to named service accounts only.

``OcrPipeline`` runs the OCR worker (docker/gcp-ocr.Dockerfile: the functions-framework
CloudEvent entrypoint ``functions/gcp/main.py``) as an internal Cloud Run service, and an
Eventarc trigger sends it every ``google.cloud.storage.object.v1.finalized`` event of
the uploads bucket. Eventarc is a push subscription under the hood: it creates a Pub/Sub
topic and subscription of its own (named ``eventarc-<region>-<trigger>-sub-<n>``), and a
delivery the service does not acknowledge with a 2xx is retried with exponential backoff
(10 s to 600 s) for the subscription's retention, 24 hours.

Dead letters: what Eventarc lets one configure on the trigger is only its retry policy
(``max_attempts`` = 1, i.e. no retry, is the one other value it accepts). The dead-letter
policy is a property of the Pub/Sub subscription, which Eventarc owns and no Pulumi
resource manages. This component creates what the policy needs: the dead-letter topic, a
pull subscription holding dead letters for ``dead_letter_retention`` (a message published
to a topic without subscriptions is lost), ``roles/pubsub.publisher`` on the topic and
``roles/pubsub.subscriber`` on Eventarc's subscription for the Pub/Sub service agent
(which moves the messages), and Token Creator on the trigger's account for that agent
(it signs the push's OIDC token). Then a ``pulumi-command`` step runs, on the deploying
machine, the one command that attaches the topic and sets the retry backoff (again
whenever the trigger is replaced, since a new trigger gets a new subscription)::

    gcloud pubsub subscriptions update <eventarc_subscription> \\
        --dead-letter-topic=<ocr_dead_letter_topic> --max-delivery-attempts=10 \\
        --min-retry-delay=30s --max-retry-delay=600s

The backoff before a dead letter (30 s doubling to 600 s, nine retries: about 55 minutes)
outlasts the OCR lease (the request timeout + 60 s), so a delivery whose attempt died
is taken over before it is given up.

Example::

    buckets = Buckets("documents", BucketsArgs(project="p", region="europe-west1"))
    OcrPipeline("ocr", OcrPipelineArgs(project="p", region="europe-west1", image=ocr_image,
        service_account=ocr_email, trigger_account=trigger_email,
        uploads_bucket=buckets.uploads_bucket, environment=env))
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import pulumi
from pulumi_command import local
from pulumi_gcp import (
    cloudrunv2,
    eventarc,
    organizations,
    projects,
    pubsub,
    serviceaccount,
    storage,
)

from infra.config import OCR_LEASE_MARGIN_SECONDS
from infra.gcp.cloud_run import (
    INGRESS_INTERNAL,
    VpcEgress,
    bind_invokers,
    limits,
    vpc_egress,
)
from infra.gcp.foundation import child_opts
from infra.gcp.secrets import EnvValue, container_envs
from infra.gcp.sizes import check_size

UPLOADS_PREFIX = "uploads/"
FINALIZED_EVENT = "google.cloud.storage.object.v1.finalized"
OCR_PORT = 8080  # functions-framework's default ($PORT)
READER_ROLE = "roles/storage.objectViewer"
CREATOR_ROLE = "roles/storage.objectCreator"
USER_ROLE = "roles/storage.objectUser"
NONCURRENT_DAYS = 7
# Eventarc's subscription: deliveries before a dead letter, and the backoff between them.
MAX_DELIVERY_ATTEMPTS = 10
RETRY_DELAY_SECONDS = (30, 600)
ATTACH_DEAD_LETTERS = (
    'gcloud pubsub subscriptions update "$SUBSCRIPTION" --dead-letter-topic="$TOPIC"'
    f" --max-delivery-attempts={MAX_DELIVERY_ATTEMPTS}"
    f" --min-retry-delay={RETRY_DELAY_SECONDS[0]}s --max-retry-delay={RETRY_DELAY_SECONDS[1]}s"
    " --quiet"
)


@dataclass
class BucketsArgs:
    project: str
    region: str
    upload_expiration_days: int = 30
    # Origins of browser PUTs to signed upload URLs; empty admits any (the URL is signed).
    cors_origins: Sequence[str] = ()
    # Members with each object role, per bucket.
    uploads_readers: Sequence[pulumi.Input[str]] = ()
    uploads_writers: Sequence[pulumi.Input[str]] = ()
    artifacts_readers: Sequence[pulumi.Input[str]] = ()
    artifacts_writers: Sequence[pulumi.Input[str]] = ()
    # False lets `pulumi destroy` delete buckets that still hold objects.
    deletion_protection: bool = True
    labels: dict[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not 1 <= self.upload_expiration_days <= 3650:
            raise ValueError("upload_expiration_days must be 1-3650.")


class Buckets(pulumi.ComponentResource):
    uploads_bucket: pulumi.Output[str]
    artifacts_bucket: pulumi.Output[str]

    def __init__(
        self, name: str, args: BucketsArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("mlops:gcp:Buckets", name, None, opts)
        self._name = name
        self._args = args
        self._child = child_opts(self, opts)

        uploads = self._bucket(
            "uploads",
            expire_after_days=args.upload_expiration_days,
            cors_origins=list(args.cors_origins) or ["*"],
        )
        artifacts = self._bucket("artifacts", expire_after_days=None, cors_origins=None)
        self._bind(uploads, "uploads", READER_ROLE, args.uploads_readers)
        self._bind(uploads, "uploads", CREATOR_ROLE, args.uploads_writers)
        self._bind(artifacts, "artifacts", READER_ROLE, args.artifacts_readers)
        self._bind(artifacts, "artifacts", USER_ROLE, args.artifacts_writers)

        self.uploads_bucket = uploads.name
        self.artifacts_bucket = artifacts.name
        self.register_outputs(
            {"uploads_bucket": self.uploads_bucket, "artifacts_bucket": self.artifacts_bucket}
        )

    def _bucket(
        self, role: str, *, expire_after_days: int | None, cors_origins: list[str] | None
    ) -> storage.Bucket:
        args = self._args
        rules: list[storage.BucketLifecycleRuleArgsDict] = [
            # Versioning keeps overwritten and deleted objects; not for ever.
            {
                "action": {"type": "Delete"},
                "condition": {
                    "days_since_noncurrent_time": NONCURRENT_DAYS,
                    "with_state": "ARCHIVED",
                },
            },
        ]
        if expire_after_days is not None:
            rules.append({"action": {"type": "Delete"}, "condition": {"age": expire_after_days}})
        return storage.Bucket(
            f"{self._name}-{role}",
            project=args.project,
            location=args.region.upper(),
            storage_class="STANDARD",
            uniform_bucket_level_access=True,
            public_access_prevention="enforced",
            versioning={"enabled": True},
            lifecycle_rules=rules,
            cors=(
                [
                    {
                        "origins": cors_origins,
                        "methods": ["PUT"],
                        # The preflight must allow both headers the signed PUT carries.
                        "response_headers": ["Content-Type", "x-goog-content-length-range"],
                        "max_age_seconds": 3600,
                    }
                ]
                if cors_origins
                else None
            ),
            force_destroy=not args.deletion_protection,
            labels=args.labels,
            opts=self._child,
        )

    def _bind(
        self,
        bucket: storage.Bucket,
        role_name: str,
        role: str,
        members: Sequence[pulumi.Input[str]],
    ) -> None:
        short = role.rsplit(".", 1)[-1]
        for index, member in enumerate(members):
            storage.BucketIAMMember(
                f"{self._name}-{role_name}-{short}-{index}",
                bucket=bucket.name,
                role=role,
                member=member,
                opts=self._child,
            )


@dataclass
class OcrPipelineArgs:
    project: str
    region: str
    image: pulumi.Input[str]
    # Emails of the service accounts the worker and the trigger run as.
    service_account: pulumi.Input[str]
    trigger_account: pulumi.Input[str]
    uploads_bucket: pulumi.Input[str]
    environment: Mapping[str, EnvValue] = field(default_factory=dict)
    egress: VpcEgress | None = None
    cpu: int = 1
    memory_mib: int = 2048
    # One event per instance (OCR is CPU-bound): this is the most documents at once.
    max_instances: int = 5
    timeout_seconds: int = 300
    dead_letter_retention_days: int = 7
    deletion_protection: bool = True
    labels: dict[str, str] = field(default_factory=dict)
    # Resources the worker needs before it starts (secret versions and their bindings).
    depends_on: Sequence[pulumi.Resource] = ()

    def __post_init__(self) -> None:
        problem = check_size(self.cpu, self.memory_mib, "OCR worker")
        if problem:
            raise ValueError(problem)
        if not 1 <= self.dead_letter_retention_days <= 31:
            raise ValueError("dead_letter_retention_days must be 1-31 (Pub/Sub retention).")


class OcrPipeline(pulumi.ComponentResource):
    service_name: pulumi.Output[str]
    trigger_name: pulumi.Output[str]
    eventarc_subscription: pulumi.Output[str]
    dead_letter_topic: pulumi.Output[str]
    dead_letter_subscription: pulumi.Output[str]

    def __init__(
        self, name: str, args: OcrPipelineArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("mlops:gcp:OcrPipeline", name, None, opts)
        self._name = name
        self._args = args
        self._child = child_opts(self, opts)

        service = self._build_service()
        # Lookups wait for the enabled APIs too (on a new project they would fail first).
        after_apis = pulumi.InvokeOutputOptions(parent=self, depends_on=self._child.depends_on)
        number = organizations.get_project_output(project_id=args.project, opts=after_apis).number
        self._pubsub_agent = number.apply(
            lambda n: f"serviceAccount:service-{n}@gcp-sa-pubsub.iam.gserviceaccount.com"
        )
        grants = self._build_trigger_grants(service, after_apis)
        trigger = eventarc.Trigger(
            f"{name}-uploads",
            project=args.project,
            location=args.region,
            matching_criterias=[
                {"attribute": "type", "value": FINALIZED_EVENT},
                {"attribute": "bucket", "value": args.uploads_bucket},
            ],
            destination={
                "cloud_run_service": {"service": service.name, "region": args.region, "path": "/"}
            },
            service_account=args.trigger_account,
            labels=args.labels,
            opts=self._child.merge(pulumi.ResourceOptions(depends_on=grants)),
        )
        self.eventarc_subscription = trigger.transport.apply(_subscription)
        topic, hold = self._build_dead_letters()

        self.service_name = service.name
        self.trigger_name = trigger.name
        self.dead_letter_topic = topic.id
        self.dead_letter_subscription = hold.id
        self.register_outputs(
            {
                "service_name": self.service_name,
                "trigger_name": self.trigger_name,
                "eventarc_subscription": self.eventarc_subscription,
                "dead_letter_topic": self.dead_letter_topic,
                "dead_letter_subscription": self.dead_letter_subscription,
            }
        )

    def _build_trigger_grants(
        self, service: cloudrunv2.Service, after_apis: pulumi.InvokeOutputOptions
    ) -> list[pulumi.Resource]:
        """What the upload trigger needs before it is created: its account invokes the
        service and receives events, the GCS agent publishes, Pub/Sub signs its tokens."""
        name, args = self._name, self._args
        trigger_member = pulumi.Output.concat("serviceAccount:", args.trigger_account)
        invokers = bind_invokers(
            name,
            service,
            [trigger_member],
            project=args.project,
            region=args.region,
            opts=self._child,
        )
        receiver = projects.IAMMember(
            f"{name}-trigger-receiver",
            project=args.project,
            role="roles/eventarc.eventReceiver",  # project-level only
            member=trigger_member,
            opts=self._child,
        )
        # Storage triggers publish through Pub/Sub as the project's GCS service agent.
        gcs_agent = storage.get_project_service_account_output(
            project=args.project, opts=after_apis
        )
        publisher = projects.IAMMember(
            f"{name}-gcs-agent-publisher",
            project=args.project,
            role="roles/pubsub.publisher",
            member=gcs_agent.email_address.apply(lambda email: f"serviceAccount:{email}"),
            opts=self._child,
        )
        # Pub/Sub signs each push's OIDC token as the trigger's account.
        token_creator = serviceaccount.IAMMember(
            f"{name}-pubsub-agent-token-creator",
            service_account_id=pulumi.Output.concat(
                "projects/", args.project, "/serviceAccounts/", args.trigger_account
            ),
            role="roles/iam.serviceAccountTokenCreator",
            member=self._pubsub_agent,
            opts=self._child,
        )
        return [*invokers, receiver, publisher, token_creator]

    def _build_service(self) -> cloudrunv2.Service:
        args = self._args
        template: cloudrunv2.ServiceTemplateArgsDict = {
            "service_account": args.service_account,
            "max_instance_request_concurrency": 1,
            "timeout": f"{args.timeout_seconds}s",
            "scaling": {"min_instance_count": 0, "max_instance_count": args.max_instances},
            "vpc_access": vpc_egress(args.egress),
            "containers": [
                {
                    "image": args.image,
                    "ports": {"container_port": OCR_PORT},
                    "resources": {"limits": limits(args.cpu, args.memory_mib)},
                    "envs": container_envs(
                        {
                            **args.environment,
                            # A retry may take a document over once the request is surely over.
                            "MLOPS_OCR_LEASE_SECONDS": str(
                                args.timeout_seconds + OCR_LEASE_MARGIN_SECONDS
                            ),
                        }
                    ),
                }
            ],
        }
        return cloudrunv2.Service(
            f"{self._name}-worker",
            project=args.project,
            location=args.region,
            # Eventarc's push counts as internal traffic (same project); nothing else may call.
            ingress=INGRESS_INTERNAL,
            deletion_protection=args.deletion_protection,
            template=template,
            labels=args.labels,
            opts=self._child.merge(pulumi.ResourceOptions(depends_on=list(args.depends_on))),
        )

    def _build_dead_letters(self) -> tuple[pubsub.Topic, pubsub.Subscription]:
        args = self._args
        pubsub_agent = self._pubsub_agent
        topic = pubsub.Topic(
            f"{self._name}-dead-letters",
            project=args.project,
            labels=args.labels,
            opts=self._child,
        )
        retention = f"{args.dead_letter_retention_days * 86400}s"
        hold = pubsub.Subscription(
            f"{self._name}-dead-letters",
            project=args.project,
            topic=topic.id,
            message_retention_duration=retention,
            ack_deadline_seconds=60,
            expiration_policy={"ttl": ""},  # never expires for lack of pulls
            labels=args.labels,
            opts=self._child,
        )
        publisher = pubsub.TopicIAMMember(
            f"{self._name}-dead-letters-publisher",
            project=args.project,
            topic=topic.name,
            role="roles/pubsub.publisher",
            member=pubsub_agent,
            opts=self._child,
        )
        subscriber = pubsub.SubscriptionIAMMember(
            f"{self._name}-eventarc-subscriber",
            project=args.project,
            subscription=self.eventarc_subscription,
            role="roles/pubsub.subscriber",
            member=pubsub_agent,
            opts=self._child,
        )
        # Eventarc owns the subscription: its dead-letter policy is set by gcloud, on the
        # deploying machine, once the agent may move messages (re-run for a new one).
        local.Command(
            f"{self._name}-attach-dead-letters",
            create=ATTACH_DEAD_LETTERS,
            environment={"SUBSCRIPTION": self.eventarc_subscription, "TOPIC": topic.id},
            triggers=[self.eventarc_subscription, topic.id],
            opts=self._child.merge(pulumi.ResourceOptions(depends_on=[publisher, subscriber])),
        )
        return topic, hold


def _subscription(transport: dict | None) -> str:
    """The Pub/Sub subscription Eventarc created (``projects/<p>/subscriptions/<name>``)."""
    pubsub_transport = (transport or {}).get("pubsub") or {}
    return str(pubsub_transport.get("subscription") or "")
