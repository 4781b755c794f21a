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
    "skops_imported": "skops" in sys.modules,
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
        "skops_imported": False,  # served from the compiled arrays, not the pickled pipeline
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
    from app.domain.models import RegistryUnavailableError

    source = MlflowModelSource("http://127.0.0.1:9/mlflow", "document-classifier")
    with pytest.raises(RegistryUnavailableError, match="cannot be reached"):
        source.resolve("champion")


def test_a_version_without_compiled_arrays_loads_its_pipeline(
    mlflow_server, s3_registry, moto_server
) -> None:
    """Versions trained before the arrays were logged still load, through skops."""
    s3 = moto_server.client("s3")
    bucket = "mlops-artifacts"
    prefix = f"mlflow/{s3_registry.report.run_id}/artifacts/serving/"
    listed = s3.list_objects_v2(Bucket=bucket, Prefix=prefix).get("Contents", [])
    assert listed, f"the run logged no compiled arrays under {prefix}"
    saved = {o["Key"]: s3.get_object(Bucket=bucket, Key=o["Key"])["Body"].read() for o in listed}
    for key in saved:
        s3.delete_object(Bucket=bucket, Key=key)
    try:
        source = MlflowModelSource(mlflow_server.tracking_uri, mlflow_server.model_name)
        model = source.load(source.resolve("champion"))
        assert model._estimator is not None  # the pipeline itself
        assert model.predict(["FACTURE N° 12 Total TTC 100,00 EUR"])[0].label == "invoice"
    finally:
        for key, body in saved.items():
            s3.put_object(Bucket=bucket, Key=key, Body=body)
