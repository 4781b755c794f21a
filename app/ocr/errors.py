"""Errors raised when a document cannot be turned into text.

Every error carries a short machine ``reason_code`` and a message that is one
sentence a user can act on, so the API can return both as they are.
"""

from __future__ import annotations

REASON_CODES: frozenset[str] = frozenset(
    {
        "empty",
        "unsupported_type",
        "truncated",
        "too_many_pixels",
        "too_many_pages",
        "too_large",
        "ocr_failed",
        "engine_unavailable",
    }
)


class UnreadableDocumentError(Exception):
    """Base class; ``str(exc)`` is a user-facing sentence.

    Example::

        try:
            read_document(data, engine=engine)
        except UnreadableDocumentError as exc:
            return {"reason": exc.reason_code, "detail": str(exc)}
    """

    reason_code: str = "ocr_failed"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class EmptyDocumentError(UnreadableDocumentError):
    reason_code = "empty"


class UnsupportedTypeError(UnreadableDocumentError):
    reason_code = "unsupported_type"


class TruncatedDocumentError(UnreadableDocumentError):
    """The file is cut short or damaged so it cannot be decoded."""

    reason_code = "truncated"


class TooManyPixelsError(UnreadableDocumentError):
    reason_code = "too_many_pixels"


class TooManyPagesError(UnreadableDocumentError):
    reason_code = "too_many_pages"


class TooLargeError(UnreadableDocumentError):
    reason_code = "too_large"


class OcrFailedError(UnreadableDocumentError):
    reason_code = "ocr_failed"


class EngineUnavailableError(UnreadableDocumentError):
    reason_code = "engine_unavailable"
