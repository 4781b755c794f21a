"""The two registry reads a serving process needs, over MLflow's REST API.

A Lambda or a container starting cold should not import MLflow (seconds, and
hundreds of modules) to ask which version is the champion and where its files
are. These calls are the documented REST endpoints the MLflow client itself
uses; everything else (listing, promoting, training) still goes through
``mlflow.MlflowClient``. Credentials follow MLflow's own variables
(``MLFLOW_TRACKING_TOKEN``, or ``MLFLOW_TRACKING_USERNAME``/``_PASSWORD``).
"""

from __future__ import annotations

import base64
import json
import os
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass
from typing import Any

from app.domain.models import ModelNotFoundError, RegistryUnavailableError

# MLflow answers these codes for an unknown model, version or alias.
NOT_FOUND_CODES = frozenset({"RESOURCE_DOES_NOT_EXIST", "INVALID_PARAMETER_VALUE"})


@dataclass(frozen=True)
class VersionPointer:
    version: str
    run_id: str


class MlflowRestClient:
    """Example::

    rest = MlflowRestClient("http://mlflow.mlops.internal:5000/mlflow")
    pointer = rest.version_by_alias("document-classifier", "champion")
    rest.download_uri("document-classifier", pointer.version)  # 's3://.../artifacts'
    """

    def __init__(self, tracking_uri: str, *, timeout: float = 10.0) -> None:
        self.base = tracking_uri.rstrip("/")
        self.timeout = timeout

    def _headers(self) -> dict[str, str]:
        token = os.environ.get("MLFLOW_TRACKING_TOKEN")
        if token:
            return {"Authorization": f"Bearer {token}"}
        user = os.environ.get("MLFLOW_TRACKING_USERNAME")
        if user:
            secret = f"{user}:{os.environ.get('MLFLOW_TRACKING_PASSWORD', '')}".encode()
            return {"Authorization": "Basic " + base64.b64encode(secret).decode()}
        return {}

    def get(self, path: str, **params: str) -> dict[str, Any]:
        url = f"{self.base}/api/2.0/mlflow/{path}?{urllib.parse.urlencode(params)}"
        request = urllib.request.Request(url, headers=self._headers())
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as answer:
                body: dict[str, Any] = json.load(answer)
                return body
        except urllib.error.HTTPError as exc:
            try:
                error = json.load(exc)
            except ValueError:
                error = {}
            if error.get("error_code") in NOT_FOUND_CODES:
                raise ModelNotFoundError(str(error.get("message", exc))) from exc
            raise RegistryUnavailableError(
                f"The MLflow server at {self.base} answered {exc.code} to {path}."
            ) from exc
        except (urllib.error.URLError, TimeoutError, OSError) as exc:
            raise RegistryUnavailableError(
                f"The MLflow server at {self.base} cannot be reached ({exc})."
            ) from exc

    def version_by_alias(self, model_name: str, alias: str) -> VersionPointer:
        found = self.get("registered-models/alias", name=model_name, alias=alias)
        version = found["model_version"]
        return VersionPointer(version=str(version["version"]), run_id=version.get("run_id", ""))

    def version(self, model_name: str, version: str) -> VersionPointer:
        found = self.get("model-versions/get", name=model_name, version=version)
        answer = found["model_version"]
        return VersionPointer(version=str(answer["version"]), run_id=answer.get("run_id", ""))

    def download_uri(self, model_name: str, version: str) -> str:
        found = self.get("model-versions/get-download-uri", name=model_name, version=version)
        return str(found["artifact_uri"])

    def run_artifact_uri(self, run_id: str) -> str:
        return str(self.get("runs/get", run_id=run_id)["run"]["info"]["artifact_uri"])
