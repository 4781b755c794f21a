"""GCP entrypoint: the OCR service (functions-framework CloudEvent function on Cloud Run)."""
