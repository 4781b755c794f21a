"""The serving path against a real tracking server: the champion is resolved over
REST and its files read straight from S3, in a process that never imports MLflow."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from app.adapters.mlflow_registry import MlflowModelSource
from app.domain.models import ModelNotFoundError

PROBE = """
import json, sys
from app.adapters.mlflow_registry import MlflowModelSource
source = MlflowModelSource(sys.argv[1], sys.argv[2])
model = source.load(source.resolve("champion"))
label = model.predict(["FACTURE N° 2024-118 Total TTC 1 200,00 EUR TVA 20 %"])[0].label
print(json.dumps({
    "version": model.ref.version,
    "label": label,
    "profile": model.profile is not None,
    "mlflow_imported": any(m == "mlflow" or m.startswith("mlflow.") for m in sys.modules),
}))
"""


def test_a_cold_process_loads_the_champion_without_importing_mlflow(
    mlflow_server, s3_registry
) -> None:
    done = subprocess.run(
        [sys.executable, "-c", PROBE, mlflow_server.tracking_uri, mlflow_server.model_name],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    answer = json.loads(done.stdout.strip().splitlines()[-1])
    assert answer == {
        "version": s3_registry.report.version,
        "label": "invoice",
        "profile": True,
        "mlflow_imported": False,
    }


def test_an_unknown_alias_is_the_domain_error(mlflow_server) -> None:
    source = MlflowModelSource(mlflow_server.tracking_uri, mlflow_server.model_name)
    with pytest.raises(ModelNotFoundError, match="no-such-alias"):
        source.resolve("no-such-alias")


def test_a_missing_version_cannot_be_loaded(mlflow_server) -> None:
    from app.domain.predictions import ModelRef

    source = MlflowModelSource(mlflow_server.tracking_uri, mlflow_server.model_name)
    with pytest.raises(ModelNotFoundError, match="version 999"):
        source.load(ModelRef(mlflow_server.model_name, "999"))


def test_an_unreachable_server_is_a_clear_error() -> None:
    from app.adapters.mlflow_rest import RegistryUnavailableError

    source = MlflowModelSource("http://127.0.0.1:9/mlflow", "document-classifier")
    with pytest.raises(RegistryUnavailableError, match="cannot be reached"):
        source.resolve("champion")
