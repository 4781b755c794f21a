"""Metrics and logs shared by every entrypoint."""
