"""One JSON error shape everywhere: ``{"error": {"code": ..., "message": ...}}``."""

from __future__ import annotations

import logging
import re

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from app.domain.documents import (
    DocumentNotFoundError,
    StorageDamagedError,
    StorageUnavailableError,
)
from app.domain.jobs import JobAlreadyRunningError, JobNotFoundError
from app.domain.models import ModelLoadError, ModelNotFoundError, RegistryUnavailableError
from app.domain.predictions import PredictionNotFoundError, UnknownLabelError
from app.services.documents import UploadRejectedError
from app.services.feedback import DocumentNotReadyError
from app.services.model_holder import ModelUnavailableError

log = logging.getLogger(__name__)

_CODES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    413: "payload_too_large",
    415: "unsupported_media_type",
    422: "validation_error",
    503: "unavailable",
}
_UPLOAD_STATUS = {
    "empty": 422,
    "too_large": 413,
    "unsupported_type": 415,
    "already_received": 409,
}


def error_response(status: int, message: str, code: str | None = None) -> JSONResponse:
    return JSONResponse(
        {"error": {"code": code or _CODES.get(status, "error"), "message": message}},
        status_code=status,
    )


def _validation_message(exc: RequestValidationError) -> str:
    parts = []
    for err in exc.errors()[:5]:
        where = ".".join(str(p) for p in err.get("loc", ()) if p != "body") or "body"
        parts.append(f"{where}: {err.get('msg', 'invalid')}")
    return "Invalid request: " + "; ".join(parts) + "."


def _allowed_methods(request: Request) -> str:
    """Every method the API documents on this path: Starlette's 405 names only the
    first matching route's, and a path often has a GET and a POST route. As in
    OpenAPI, a concrete path (``/v1/documents/upload-url``) wins over a templated
    one (``/v1/documents/{document_id}``)."""
    paths = request.app.openapi().get("paths", {})
    if request.url.path in paths:
        return ", ".join(sorted(m.upper() for m in paths[request.url.path]))
    methods: set[str] = set()
    for template, operations in paths.items():
        pattern = "^" + re.sub(r"\\{[^/]+?\\}", "[^/]+", re.escape(template)) + "$"
        if re.match(pattern, request.url.path):
            methods |= {m.upper() for m in operations}
    return ", ".join(sorted(methods))


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        message = exc.detail if isinstance(exc.detail, str) else "Request failed."
        if exc.status_code == 404 and message == "Not Found":
            message = "No such resource; see /docs for the API."
        if exc.status_code == 405:
            message = "This method is not allowed on this path; see /docs for the API."
        response = error_response(exc.status_code, message)
        if exc.headers:
            response.headers.update(exc.headers)
        if exc.status_code == 405:
            response.headers["Allow"] = _allowed_methods(request)
        return response

    @app.exception_handler(RequestValidationError)
    async def validation_error(_: Request, exc: RequestValidationError) -> JSONResponse:
        return error_response(422, _validation_message(exc))

    @app.exception_handler(DocumentNotFoundError)
    @app.exception_handler(PredictionNotFoundError)
    @app.exception_handler(JobNotFoundError)
    @app.exception_handler(ModelNotFoundError)
    async def not_found(_: Request, exc: Exception) -> JSONResponse:
        return error_response(404, str(exc))

    @app.exception_handler(UnknownLabelError)
    async def unknown_label(_: Request, exc: UnknownLabelError) -> JSONResponse:
        return error_response(422, str(exc))

    @app.exception_handler(DocumentNotReadyError)
    async def not_ready(_: Request, exc: DocumentNotReadyError) -> JSONResponse:
        return error_response(409, str(exc))

    @app.exception_handler(UploadRejectedError)
    async def upload_rejected(_: Request, exc: UploadRejectedError) -> JSONResponse:
        return error_response(_UPLOAD_STATUS.get(exc.kind, 400), str(exc))

    @app.exception_handler(JobAlreadyRunningError)
    async def job_running(_: Request, exc: JobAlreadyRunningError) -> JSONResponse:
        return error_response(409, str(exc), "job_running")

    @app.exception_handler(ModelLoadError)
    async def model_load_failed(_: Request, exc: ModelLoadError) -> JSONResponse:
        return error_response(409, str(exc), "model_load_failed")

    @app.exception_handler(ModelUnavailableError)
    async def model_unavailable(_: Request, exc: ModelUnavailableError) -> JSONResponse:
        return error_response(503, str(exc), "model_unavailable")

    @app.exception_handler(RegistryUnavailableError)
    async def registry_unavailable(_: Request, exc: RegistryUnavailableError) -> JSONResponse:
        log.error("model registry unavailable: %s", exc)
        response = error_response(
            503,
            "The model registry cannot be read now; the operator has the details in the log.",
            "registry_unavailable",
        )
        response.headers["Retry-After"] = "30"
        return response

    @app.exception_handler(StorageDamagedError)
    async def storage_damaged(_: Request, exc: StorageDamagedError) -> JSONResponse:
        # Not a passing fault: retrying will not help until an operator mends the store.
        log.error("records store damaged: %s", exc)
        return error_response(
            503,
            "The records store is damaged; the operator has the details in the log.",
            "storage_damaged",
        )

    @app.exception_handler(StorageUnavailableError)
    async def storage_unavailable(_: Request, exc: StorageUnavailableError) -> JSONResponse:
        # The store or the records database is throttling or unreachable: a retry helps.
        log.warning("storage unavailable: %s", exc)
        response = error_response(
            503, "Storage is busy or unreachable; retry in a few seconds.", "storage_unavailable"
        )
        response.headers["Retry-After"] = "5"
        return response

    @app.exception_handler(Exception)
    async def unexpected(request: Request, exc: Exception) -> JSONResponse:
        log.exception("unhandled error on %s %s", request.method, _logged_path(request))
        return error_response(
            500, "The server hit an unexpected error; try again later.", "internal_error"
        )


def _logged_path(request: Request) -> str:
    """The route's template (``/v1/uploads/{token}``), not the path: a path may carry a
    credential (a signed upload token) that must not reach the logs."""
    route = request.scope.get("route")
    template = getattr(route, "path_format", None)
    return template if isinstance(template, str) else "(no route)"
