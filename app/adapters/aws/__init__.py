"""AWS adapters: S3, DynamoDB. boto3 is imported inside each adapter, so the core and the
other clouds never pay for it; without it, the error names the extra to install."""

from __future__ import annotations

from typing import Any


def client(service: str, client: Any = None, **options: Any) -> Any:
    """``client`` if given (tests, shared sessions), else a new boto3 client."""
    if client is not None:
        return client
    try:
        import boto3
    except ImportError as exc:  # pragma: no cover - depends on the install
        raise ImportError(
            "The AWS adapters need boto3: pip install 'mlops-multicloud[aws]'."
        ) from exc
    return boto3.client(service, **options)
