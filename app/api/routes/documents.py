from typing import Any

from fastapi import APIRouter, File, Request, UploadFile

from app.api.deps import ContainerDep, CurrentUser
from app.api.schemas import (
    DocumentAccepted,
    DocumentPublic,
    ErrorResponse,
    FeedbackPublic,
    FeedbackRequest,
    UploadUrlPublic,
    UploadUrlRequest,
)
from app.services.documents import UploadRejectedError

router = APIRouter(prefix="/v1/documents", tags=["documents"])

_ERRORS: dict[int | str, dict[str, Any]] = {
    404: {"model": ErrorResponse},
    409: {"model": ErrorResponse},
    413: {"model": ErrorResponse},
    415: {"model": ErrorResponse},
    422: {"model": ErrorResponse},
}


@router.post("", status_code=202, response_model=DocumentAccepted, responses=_ERRORS)
async def upload_document(
    user: CurrentUser, container: ContainerDep, file: UploadFile = File(...)
) -> DocumentAccepted:
    """Upload an image or PDF; OCR and classification run in the background."""
    limit = container.settings.max_upload_bytes
    data = await file.read(limit + 1)
    if len(data) > limit:
        raise UploadRejectedError("too_large", f"The file is over the {limit}-byte limit.")
    record = container.documents.upload(user, file.filename, data)
    return DocumentAccepted(id=record.id)


@router.post("/upload-url", status_code=201, response_model=UploadUrlPublic, responses=_ERRORS)
def upload_url(
    body: UploadUrlRequest, request: Request, user: CurrentUser, container: ContainerDep
) -> UploadUrlPublic:
    """Upload straight to storage (S3 presigned POST, Blob SAS, GCS signed URL).

    The document is created ``pending``; storage's own event starts processing
    once the bytes arrive. Poll ``GET /v1/documents/{id}`` as after an upload.
    """
    record, presigned = container.documents.upload_url(user, body.filename, body.content_type)
    return UploadUrlPublic(
        id=record.id,
        method="POST" if presigned.method == "POST" else "PUT",
        # The local stand-in answers on this API's own address (root path included).
        url=(
            presigned.url
            if presigned.url.startswith(("https://", "http://"))
            else str(request.base_url).rstrip("/") + presigned.url
        ),
        fields=presigned.fields,
        headers=presigned.headers,
        expires_at=presigned.expires_at,
        max_bytes=presigned.max_bytes,
    )


@router.get("/{document_id}", response_model=DocumentPublic, responses=_ERRORS)
def get_document(document_id: str, user: CurrentUser, container: ContainerDep) -> DocumentPublic:
    """Poll a document: pending → processing → done (text, prediction) or failed (error)."""
    return DocumentPublic.from_record(container.documents.get(user, document_id))


@router.post(
    "/{document_id}/feedback", status_code=201, response_model=FeedbackPublic, responses=_ERRORS
)
def document_feedback(
    document_id: str, body: FeedbackRequest, user: CurrentUser, container: ContainerDep
) -> FeedbackPublic:
    """Give the true label of a processed document."""
    fb = container.feedback.for_document(user, document_id, body.label)
    return FeedbackPublic.from_feedback(fb)
