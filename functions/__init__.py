"""Per-cloud OCR entrypoints (``functions/aws``, ``functions/azure``, ``functions/gcp``).

Each is a thin translator from its cloud's storage event to
``app.domain.documents.DocumentUploaded`` and a call to
``app.services.pipeline.DocumentPipeline``: the logic lives in ``app/``.
"""
