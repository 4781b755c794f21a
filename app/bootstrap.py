"""The one place that chooses adapters and wires services from settings."""

from __future__ import annotations

import functools
import os
from collections.abc import Callable
from dataclasses import dataclass, field

from app.adapters.local.dispatch import InProcessDispatcher
from app.domain.documents import DocumentRecord, DocumentUploaded
from app.domain.jobs import TrainingJob
from app.domain.predictions import ModelRef
from app.ports import (
    DocumentRecords,
    EventLedger,
    FeedbackStore,
    ModelRegistry,
    ModelSource,
    ObjectStore,
)
from app.services.documents import DocumentService
from app.services.feedback import FeedbackService
from app.services.health import StorageHealth
from app.services.model_holder import ModelHolder, ModelWatcher
from app.services.models import ModelService
from app.services.monitoring import MonitoringService
from app.services.pipeline import DocumentPipeline, Reader
from app.services.predictions import PredictionBatch, PredictionService
from app.services.retraining import RetrainingPolicy, RetrainingService
from app.services.training_jobs import TrainingJobs
from app.services.uploads import ModelFreshness, UploadWorker
from app.settings import Cloud, Settings, SettingsError


@dataclass
class Adapters:
    objects: ObjectStore
    records: DocumentRecords
    feedback: FeedbackStore
    models: ModelSource
    registry: ModelRegistry
    # The training-job flow over this cloud's JobStore and JobRunner.
    jobs: TrainingJobs
    # Run when the serving app starts and stops (local jobs left by a dead server,
    # job subprocesses still running).
    openers: list[Callable[[], object]] = field(default_factory=list)
    closers: list[Callable[[], object]] = field(default_factory=list)
    # Storage-event deliveries handled, for the OCR functions; none in local mode, where
    # the app dispatches each upload in-process exactly once.
    ledger: EventLedger | None = None
    # A cheap read of the records store for /health (the local database); none in the
    # cloud, where the platform watches the managed store.
    storage_check: Callable[[], object] | None = None


@dataclass
class Container:
    settings: Settings
    adapters: Adapters
    holder: ModelHolder
    pipeline: DocumentPipeline
    predictions: PredictionService
    feedback: FeedbackService
    documents: DocumentService
    monitoring: MonitoringService
    retraining: RetrainingService
    models: ModelService
    watcher: ModelWatcher
    storage: StorageHealth
    dispatcher: InProcessDispatcher | None = None

    def start(self) -> None:
        """Background work of a serving process; the OCR functions never call this."""
        for open_ in self.adapters.openers:
            open_()
        if self.dispatcher is not None:
            self.dispatcher.resume()
        self.watcher.start()

    def close(self) -> None:
        self.watcher.stop()
        if self.dispatcher is not None:
            self.dispatcher.shutdown(wait=False)
        for close in self.adapters.closers:
            close()


def build_adapters(settings: Settings) -> Adapters:
    if settings.cloud is Cloud.LOCAL:
        return _local_adapters(settings)
    builders = {Cloud.AWS: _aws_adapters, Cloud.AZURE: _azure_adapters, Cloud.GCP: _gcp_adapters}
    try:
        return builders[settings.cloud](settings)
    except ModuleNotFoundError as exc:
        # The image or virtualenv lacks the cloud's SDKs (installed by an extra).
        raise SettingsError(
            f"MLOPS_CLOUD={settings.cloud.value} needs the {settings.cloud.value} extra"
            f" (pip install 'mlops-multicloud[{settings.cloud.value}]'): {exc}"
        ) from None


def _local_adapters(settings: Settings) -> Adapters:
    from app.adapters.local.jobs import SubprocessJobRunner
    from app.adapters.local.objects import LocalObjectStore
    from app.adapters.local.records import SqliteDocumentRecords, SqliteFeedbackStore
    from app.adapters.local.retention import RetentionSweep
    from app.adapters.local.sqlite import SqliteDatabase
    from app.adapters.local.sqlite_jobs import SqliteJobStore
    from app.adapters.mlflow_registry import MlflowModelSource

    db = SqliteDatabase(settings.records_db)
    registry = MlflowModelSource(settings.tracking_uri, settings.model_name)
    runner = SubprocessJobRunner(settings.jobs_dir, env=training_environment(settings))
    jobs = TrainingJobs(SqliteJobStore(db), runner)
    runner.on_exit = jobs.get  # a run that ends is judged at once, not when next asked
    objects = LocalObjectStore(settings.objects_dir)
    records, feedback = SqliteDocumentRecords(db), SqliteFeedbackStore(db)
    retention = RetentionSweep(records, feedback, objects, days=settings.retention_days)
    return Adapters(
        objects=objects,
        records=records,
        feedback=feedback,
        models=registry,
        registry=registry,
        jobs=jobs,
        openers=[jobs.recover, retention.start],
        closers=[runner.shutdown, retention.stop],
        storage_check=db.check,
    )


def _aws_adapters(settings: Settings) -> Adapters:
    from app.adapters.aws.dynamodb import (
        DynamoDocumentRecords,
        DynamoEventLedger,
        DynamoFeedbackStore,
    )
    from app.adapters.aws.dynamodb_jobs import DynamoJobStore
    from app.adapters.aws.ecs import EcsJobRunner
    from app.adapters.aws.s3 import S3ObjectStore
    from app.adapters.mlflow_registry import MlflowModelSource

    registry = MlflowModelSource(settings.tracking_uri, settings.model_name)
    keep = settings.retention_seconds  # finished documents and predictions
    return Adapters(
        objects=S3ObjectStore(settings.uploads_bucket),
        records=DynamoDocumentRecords(settings.records_table, retention_seconds=keep),
        feedback=DynamoFeedbackStore(settings.records_table, retention_seconds=keep),
        ledger=DynamoEventLedger(settings.records_table),
        models=registry,
        registry=registry,
        jobs=TrainingJobs(
            DynamoJobStore(settings.records_table),
            EcsJobRunner(
                cluster=settings.aws_ecs_cluster,
                task_definition=settings.aws_training_task_definition,
                container=settings.aws_training_container,
                subnets=settings.split_ids(settings.aws_training_subnets),
                security_groups=settings.split_ids(settings.aws_training_security_groups),
            ),
        ),
    )


def _azure_adapters(settings: Settings) -> Adapters:
    from app.adapters.azure.blob import BlobObjectStore
    from app.adapters.azure.container_apps import ContainerAppsJobRunner
    from app.adapters.azure.cosmos import (
        CosmosDocumentRecords,
        CosmosEventLedger,
        CosmosFeedbackStore,
        cosmos_database,
    )
    from app.adapters.azure.cosmos_jobs import CosmosJobStore
    from app.adapters.mlflow_registry import MlflowModelSource

    database = cosmos_database(settings.azure_cosmos_endpoint, settings.azure_cosmos_database)
    registry = MlflowModelSource(settings.tracking_uri, settings.model_name)
    keep = settings.retention_seconds  # finished documents and predictions
    return Adapters(
        objects=BlobObjectStore(
            settings.uploads_bucket,
            account_url=settings.azure_storage_account_url,
            connection_string=settings.azure_storage_connection_string,
        ),
        records=CosmosDocumentRecords(database, retention_seconds=keep),
        feedback=CosmosFeedbackStore(database, retention_seconds=keep),
        ledger=CosmosEventLedger(database),
        models=registry,
        registry=registry,
        jobs=TrainingJobs(
            CosmosJobStore(database),
            ContainerAppsJobRunner(
                subscription_id=settings.azure_subscription_id,
                resource_group=settings.azure_resource_group,
                job=settings.azure_training_job,
                workspace_id=settings.azure_log_workspace_id,
            ),
        ),
    )


def _gcp_adapters(settings: Settings) -> Adapters:
    from app.adapters.gcp.cloud_run_jobs import CloudRunJobRunner
    from app.adapters.gcp.firestore import (
        FirestoreDocumentRecords,
        FirestoreEventLedger,
        FirestoreFeedbackStore,
        firestore_client,
    )
    from app.adapters.gcp.firestore_jobs import FirestoreJobStore
    from app.adapters.gcp.gcs import GcsObjectStore
    from app.adapters.mlflow_registry import MlflowModelSource

    client = firestore_client(settings.gcp_project, settings.gcp_firestore_database)
    registry = MlflowModelSource(settings.tracking_uri, settings.model_name)
    keep = settings.retention_seconds  # finished documents and predictions
    return Adapters(
        objects=GcsObjectStore(
            settings.uploads_bucket, signing_service_account=settings.gcp_signing_service_account
        ),
        records=FirestoreDocumentRecords(client, retention_seconds=keep),
        feedback=FirestoreFeedbackStore(client, retention_seconds=keep),
        ledger=FirestoreEventLedger(client),
        models=registry,
        registry=registry,
        jobs=TrainingJobs(
            FirestoreJobStore(client),
            CloudRunJobRunner(
                project=settings.gcp_project,
                region=settings.gcp_region,
                job=settings.gcp_training_job,
            ),
        ),
    )


def training_environment(settings: Settings) -> dict[str, str]:
    """The environment of a training job: this process's, with the settings that
    decide where data and models live made explicit (they may come from code)."""
    return {
        **os.environ,
        "MLOPS_CLOUD": settings.cloud.value,
        "MLOPS_DATA_DIR": str(settings.data_dir.resolve()),
        "MLOPS_MLFLOW_TRACKING_URI": settings.tracking_uri,
        "MLOPS_MODEL_NAME": settings.model_name,
        "MLOPS_OCR_ENGINE": settings.ocr_engine.value,
        "MLOPS_OCR_LANGUAGES": settings.ocr_languages,
    }


def build_reader(settings: Settings) -> Reader:
    from app.ocr.decode import DecodeLimits
    from app.ocr.engines import get_engine
    from app.ocr.reader import read_document

    kwargs = (
        {"languages": settings.ocr_languages} if settings.ocr_engine.value == "tesseract" else {}
    )
    return functools.partial(
        read_document,
        engine=get_engine(settings.ocr_engine.value, **kwargs),
        limits=DecodeLimits(
            max_bytes=settings.max_upload_bytes,
            max_pixels=settings.max_image_pixels,
            max_pages=settings.max_pdf_pages,
            pdf_dpi=settings.pdf_dpi,
        ),
    )


def build_container(settings: Settings, adapters: Adapters | None = None) -> Container:
    adapters = adapters or build_adapters(settings)
    holder = ModelHolder(adapters.models, alias=settings.model_alias)
    pipeline = DocumentPipeline(
        objects=adapters.objects,
        records=adapters.records,
        read=build_reader(settings),
        models=holder,
    )
    dispatcher: InProcessDispatcher | None = None
    if settings.cloud is Cloud.LOCAL:
        dispatcher = InProcessDispatcher(
            pipeline,
            adapters.records,
            workers=settings.ocr_workers,
            await_bytes_seconds=settings.upload_url_expiry_seconds,
        )
    monitoring = MonitoringService(
        feedback=adapters.feedback,
        models=holder,
        window=settings.monitoring_window,
        drift_window=settings.drift_window,
        drift_min_inputs=settings.drift_min_inputs,
        threshold=settings.retrain_accuracy_threshold,
        min_labels=settings.retrain_min_labels,
    )
    retraining = RetrainingService(
        monitoring=monitoring,
        jobs=adapters.jobs,
        policy=RetrainingPolicy(
            enabled=settings.auto_retrain,
            cooldown_seconds=settings.retrain_cooldown_seconds,
            generate_per_class=settings.retrain_generate_per_class,
            heldout_per_class=settings.retrain_heldout_per_class,
            promote=settings.retrain_promote.value,
        ),
    )
    predictions = PredictionService(models=holder, store=adapters.feedback)
    feedback = FeedbackService(records=adapters.records, store=adapters.feedback)
    predictions.listeners.append(lambda batch: _observe_batch(monitoring, batch))
    pipeline.listeners.append(lambda record: _observe_document(monitoring, record))
    feedback.listeners.append(retraining.on_feedback)
    adapters.jobs.on_finished = lambda job: _after_job(holder, job)
    return Container(
        settings=settings,
        adapters=adapters,
        holder=holder,
        pipeline=pipeline,
        predictions=predictions,
        feedback=feedback,
        monitoring=monitoring,
        retraining=retraining,
        models=ModelService(registry=adapters.registry, holder=holder),
        watcher=ModelWatcher(holder, settings.model_poll_seconds),
        documents=DocumentService(
            objects=adapters.objects,
            records=adapters.records,
            dispatch=dispatcher if dispatcher is not None else _delivered_by_storage_events,
            max_bytes=settings.max_upload_bytes,
            upload_url_expiry_seconds=settings.upload_url_expiry_seconds,
        ),
        storage=StorageHealth(
            adapters.storage_check,
            waiting=(lambda: dispatcher.waiting_on_storage) if dispatcher is not None else None,
        ),
        dispatcher=dispatcher,
    )


def _observe_batch(monitoring: MonitoringService, batch: PredictionBatch) -> None:
    monitoring.observe(
        batch.model,
        [p.label for p in batch.predictions],
        [p.confidence for p in batch.predictions],
        batch.texts,
    )


def _observe_document(monitoring: MonitoringService, record: DocumentRecord) -> None:
    if record.prediction is not None:
        p = record.prediction
        ref = ModelRef(p.model_name, p.model_version)
        monitoring.observe(ref, [p.label], [p.confidence], [record.text or ""])


def _after_job(holder: ModelHolder, job: TrainingJob) -> None:
    """A job that promoted its version is served at once, without waiting for the poll."""
    if job.promoted:
        holder.refresh()


def _delivered_by_storage_events(event: DocumentUploaded) -> None:
    """In the cloud the bucket's own notification starts the OCR function."""


def build_upload_worker(container: Container) -> UploadWorker:
    """The OCR functions' handler of upload events, on the container's pipeline, records
    and event ledger (one per process, built on its first event)."""
    settings = container.settings
    return UploadWorker(
        container.pipeline,
        container.adapters.records,
        container.adapters.ledger,
        ModelFreshness(container.holder, settings.model_poll_seconds),
        bucket=container.adapters.objects.bucket,
        lease_seconds=settings.ocr_lease_seconds,
    )
