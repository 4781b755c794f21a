"""The FastAPI application: ``create_app()`` for uvicorn, tests and the Lambda handler."""

from __future__ import annotations

import gc
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI

from app.api.auth import build_authenticator
from app.api.errors import install_error_handlers
from app.api.limits import BodySizeLimit, HeaderSizeLimit
from app.api.routes import (
    documents,
    health,
    jobs,
    models,
    monitoring,
    predict,
    predictions,
    uploads,
)
from app.api.schemas import ErrorResponse
from app.bootstrap import Container, build_container
from app.domain.models import ModelNotFoundError
from app.observability import metrics
from app.settings import Cloud, Settings, get_settings

log = logging.getLogger(__name__)

# What any /v1 route may answer besides its own: a body that is not JSON, no or a
# bad token, a body over the limit, an invalid request, keys or model unavailable.
V1_ERRORS: dict[int | str, dict[str, Any]] = {
    code: {"model": ErrorResponse, "description": description}
    for code, description in {
        400: "The body could not be parsed.",
        401: "No bearer token, or one that does not verify.",
        413: "The body is over the size limit.",
        422: "The request does not match the schema.",
        503: "The model, or the token issuer's keys, are unavailable for now.",
    }.items()
}

# Multipart framing around the file itself.
_MULTIPART_OVERHEAD = 64 * 1024


def _wire_metrics(container: Container) -> None:
    container.holder.listeners.append(metrics.observe_model)
    container.holder.load_listeners.append(metrics.observe_model_load)
    container.pipeline.listeners.append(metrics.observe_document)
    container.predictions.listeners.append(
        lambda batch: metrics.observe_confidences(
            batch.model, [p.confidence for p in batch.predictions]
        )
    )
    container.feedback.listeners.append(metrics.observe_feedback)
    container.retraining.listeners.append(metrics.observe_job)
    metrics.bind_monitoring(container.monitoring)


def _load_model(container: Container) -> None:
    try:
        ref = container.holder.refresh()
        log.info("serving model %s version %s", ref.name, ref.version)
    except ModelNotFoundError as exc:
        log.warning("%s /health answers 503 until a model is registered.", exc)
    except Exception as exc:  # a broken artifact must not keep the API (and admin routes) down
        log.error(
            "the champion could not be loaded (%s: %s); /health answers 503 until a"
            " loadable version is promoted through /v1/models.",
            type(exc).__name__,
            exc,
        )


def create_app(settings: Settings | None = None, container: Container | None = None) -> FastAPI:
    settings = settings or get_settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        built = container or build_container(settings)
        _wire_metrics(built)
        app.state.container = built
        _load_model(built)
        built.start()
        # Start-up leaves ~1M long-lived objects (MLflow, scikit-learn, the model);
        # freezing them keeps full garbage collections off the request path.
        gc.collect()
        gc.freeze()
        yield
        metrics.bind_monitoring(None)
        built.close()

    app = FastAPI(
        title="mlops-multicloud document API",
        version="1.0.0",
        description="Classify business documents: OCR, cleaning and a model from the registry.",
        lifespan=lifespan,
    )
    app.state.authenticate = build_authenticator(settings)
    install_error_handlers(app)
    app.include_router(health.router)
    for router in (
        predict.router,
        documents.router,
        predictions.router,
        models.router,
        jobs.router,
        monitoring.router,
    ):
        app.include_router(router, responses=V1_ERRORS)
    if settings.cloud is Cloud.LOCAL:
        app.include_router(uploads.router)

    from prometheus_fastapi_instrumentator import Instrumentator

    Instrumentator(excluded_handlers=["/metrics"]).instrument(app).expose(
        app, include_in_schema=False
    )
    app.add_middleware(BodySizeLimit, max_bytes=settings.max_upload_bytes + _MULTIPART_OVERHEAD)
    app.add_middleware(HeaderSizeLimit)
    return app
