"""The one place that chooses adapters and wires services from settings."""

from __future__ import annotations

import functools
from dataclasses import dataclass

from app.adapters.local.dispatch import InProcessDispatcher
from app.domain.documents import DocumentUploaded
from app.ports import DocumentRecords, FeedbackStore, ModelSource, ObjectStore
from app.services.documents import DocumentService
from app.services.feedback import FeedbackService
from app.services.model_holder import ModelHolder
from app.services.pipeline import DocumentPipeline, Reader
from app.services.predictions import PredictionService
from app.settings import Cloud, Settings, SettingsError


@dataclass
class Adapters:
    objects: ObjectStore
    records: DocumentRecords
    feedback: FeedbackStore
    models: ModelSource


@dataclass
class Container:
    settings: Settings
    adapters: Adapters
    holder: ModelHolder
    pipeline: DocumentPipeline
    predictions: PredictionService
    feedback: FeedbackService
    documents: DocumentService
    dispatcher: InProcessDispatcher | None = None

    def close(self) -> None:
        if self.dispatcher is not None:
            self.dispatcher.shutdown(wait=False)


def build_adapters(settings: Settings) -> Adapters:
    if settings.cloud is not Cloud.LOCAL:
        raise SettingsError(
            f"MLOPS_CLOUD={settings.cloud.value} is not available in this build:"
            " use MLOPS_CLOUD=local."
        )
    from app.adapters.local.objects import LocalObjectStore
    from app.adapters.local.records import SqliteDocumentRecords, SqliteFeedbackStore
    from app.adapters.local.sqlite import SqliteDatabase
    from app.adapters.mlflow_registry import MlflowModelSource

    db = SqliteDatabase(settings.records_db)
    return Adapters(
        objects=LocalObjectStore(settings.objects_dir),
        records=SqliteDocumentRecords(db),
        feedback=SqliteFeedbackStore(db),
        models=MlflowModelSource(settings.tracking_uri, settings.model_name),
    )


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
        dispatcher = InProcessDispatcher(pipeline, adapters.records, workers=settings.ocr_workers)
    return Container(
        settings=settings,
        adapters=adapters,
        holder=holder,
        pipeline=pipeline,
        predictions=PredictionService(models=holder, store=adapters.feedback),
        feedback=FeedbackService(records=adapters.records, store=adapters.feedback),
        documents=DocumentService(
            objects=adapters.objects,
            records=adapters.records,
            dispatch=dispatcher if dispatcher is not None else _delivered_by_storage_events,
            max_bytes=settings.max_upload_bytes,
        ),
        dispatcher=dispatcher,
    )


def _delivered_by_storage_events(event: DocumentUploaded) -> None:
    """In the cloud the bucket's own notification starts the OCR function."""
