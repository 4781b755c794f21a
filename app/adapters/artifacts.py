"""Load a logged scikit-learn model straight from its artifact store.

The registry says where a version's files are (``s3://…``, ``file://…``); this
reads its ``MLmodel``, fetches the model file the sklearn flavour names and
loads it with skops, as ``mlflow.sklearn.load_model`` does, without importing
MLflow. S3, Azure Blob (``wasbs://``, ``https://<account>.blob.core.windows.net``) and
GCS (``gs://``) are read with their SDKs; other stores (proxied ``mlflow-artifacts:``)
go through MLflow's own downloader.
"""

from __future__ import annotations

import shutil
import tempfile
import urllib.parse
import urllib.request
from pathlib import Path
from typing import Any

from app.domain.models import ArtifactNotFoundError


def fetch(uri: str, dest: Path) -> Path:
    """Copy the file at ``uri`` to ``dest``; raise ``ArtifactNotFoundError`` if absent."""
    parsed = urllib.parse.urlparse(uri)
    if parsed.scheme == "s3":
        return _fetch_s3(parsed.netloc, parsed.path.lstrip("/"), dest)
    if parsed.scheme == "wasbs" or (
        parsed.scheme == "https" and parsed.netloc.endswith(".blob.core.windows.net")
    ):
        from app.adapters.azure.blob import download_artifact as from_blob

        return from_blob(uri, dest)
    if parsed.scheme == "gs":
        from app.adapters.gcp.gcs import download_artifact as from_gcs

        return from_gcs(uri, dest)
    if parsed.scheme in ("file", ""):
        source = Path(urllib.request.url2pathname(parsed.path))
        if not source.is_file():
            raise ArtifactNotFoundError(uri)
        shutil.copyfile(source, dest)
        return dest
    return _fetch_with_mlflow(uri, dest)


def _fetch_s3(bucket: str, key: str, dest: Path) -> Path:
    from botocore.exceptions import ClientError

    from app.adapters.aws import client as aws_client

    try:
        aws_client("s3").download_file(bucket, key, str(dest))
    except ClientError as exc:
        if exc.response.get("Error", {}).get("Code") in ("404", "NoSuchKey"):
            raise ArtifactNotFoundError(f"s3://{bucket}/{key}") from exc
        raise
    return dest


def _fetch_with_mlflow(uri: str, dest: Path) -> Path:
    import mlflow.artifacts
    from mlflow.exceptions import MlflowException

    try:
        local = mlflow.artifacts.download_artifacts(artifact_uri=uri, dst_path=str(dest.parent))
    except MlflowException as exc:
        raise ArtifactNotFoundError(uri) from exc
    Path(local).replace(dest)
    return dest


def load_sklearn_model(model_uri: str) -> Any:
    """The estimator of the model logged at ``model_uri`` (the folder holding ``MLmodel``)."""
    import yaml

    base = model_uri.rstrip("/")
    with tempfile.TemporaryDirectory(prefix="mlops-model-") as tmp:
        spec = yaml.safe_load(fetch(f"{base}/MLmodel", Path(tmp) / "MLmodel").read_text())
        flavor = (spec.get("flavors") or {}).get("sklearn")
        if not flavor:
            raise ArtifactNotFoundError(f"{base}/MLmodel has no sklearn flavour")
        name = flavor["pickled_model"]
        local = fetch(f"{base}/{name}", Path(tmp) / Path(name).name)
        if flavor.get("serialization_format", "pickle") != "skops":
            # Pickles run code on load; the registry only ever holds skops models.
            raise ArtifactNotFoundError(f"{base} is not a skops model; retrain it")
        import skops.io

        return skops.io.load(local, trusted=flavor.get("skops_trusted_types"))
