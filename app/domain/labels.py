"""The document types the classifier names."""

DOCUMENT_CLASSES: tuple[str, ...] = (
    "invoice",
    "receipt",
    "resume",
    "identity_document",
    "letter",
    "bank_statement",
)
LANGUAGES: tuple[str, ...] = ("en", "fr")
