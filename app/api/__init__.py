"""The HTTP layer: FastAPI routes that translate requests into service calls."""
