"""The core and the OCR pipeline must not pull in a cloud SDK or MLflow: a cold
start of an OCR function pays only for what it uses."""

import json
import subprocess
import sys

FORBIDDEN = ("boto3", "botocore", "azure", "google.cloud", "mlflow", "fastapi")

PROBE = """
import json, sys
import app.settings, app.ports, app.bootstrap
import app.domain.documents, app.domain.feedback, app.domain.predictions
import app.services.pipeline, app.services.documents, app.services.predictions
import app.services.feedback, app.services.model_holder
import app.ocr.reader, app.ocr.decode, app.ocr.engines, app.text.cleaning
import app.adapters.local.objects, app.adapters.local.records
print(json.dumps(sorted(sys.modules)))
"""


def test_core_and_pipeline_import_no_cloud_sdk_and_no_mlflow():
    out = subprocess.run(
        [sys.executable, "-c", PROBE], capture_output=True, text=True, check=True, timeout=60
    )
    loaded = json.loads(out.stdout)
    offenders = [m for m in loaded if any(m == f or m.startswith(f + ".") for f in FORBIDDEN)]
    assert offenders == []
