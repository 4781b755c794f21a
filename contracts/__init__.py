"""Schemas both the app and the infrastructure depend on, declared once (no imports)."""
