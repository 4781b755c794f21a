"""Azure Functions entrypoint of the OCR pipeline (``function_app.py``, Python v2 model)."""
