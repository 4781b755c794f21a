"""Local mode's stand-in for storage's own upload endpoint (S3, Blob, GCS).

``POST /v1/documents/upload-url`` hands out ``PUT /v1/uploads/<token>``; the
signed token is the credential, as a presigned URL is, so no bearer token is
asked for. Only mounted with ``MLOPS_CLOUD=local``.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, HTTPException, Request, Response

from app.adapters.local.objects import LocalObjectStore
from app.adapters.local.upload_tokens import InvalidUploadTokenError
from app.api.deps import ContainerDep
from app.api.schemas import ErrorResponse
from app.services.documents import UploadRejectedError

router = APIRouter(prefix="/v1/uploads", tags=["documents"])

_ERRORS: dict[int | str, dict[str, Any]] = {
    code: {"model": ErrorResponse} for code in (403, 404, 409, 413, 415, 422)
}


@router.put("/{token}", status_code=204, response_class=Response, responses=_ERRORS)
async def put_upload(token: str, request: Request, container: ContainerDep) -> Response:
    """Send the bytes of a document created by ``POST /v1/documents/upload-url``."""
    objects = container.adapters.objects
    if not isinstance(objects, LocalObjectStore):
        raise HTTPException(404, "Uploads go to the cloud storage URL given by upload-url.")
    try:
        grant = objects.signer.verify(token)
    except InvalidUploadTokenError as exc:
        raise HTTPException(403, str(exc)) from exc
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type != grant.content_type:
        raise HTTPException(
            403, f"This URL accepts Content-Type {grant.content_type!r} only; send that header."
        )
    data = bytearray()
    async for chunk in request.stream():
        data.extend(chunk)
        if len(data) > grant.max_bytes:
            raise UploadRejectedError(
                "too_large", f"The file is over the {grant.max_bytes}-byte limit."
            )
    container.documents.receive_direct(grant.key, content_type, bytes(data))
    return Response(status_code=204)
