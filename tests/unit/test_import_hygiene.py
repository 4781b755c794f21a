"""The core and the OCR pipeline must not pull in a cloud SDK or MLflow: a cold
start of an OCR function pays only for what it uses."""

import json
import subprocess
import sys

# Not "google.cloud" itself: functions-framework installs a .pth file that imports that
# (empty) namespace package into every process; its SDKs are what must not load.
FORBIDDEN = (
    "boto3",
    "botocore",
    "azure",
    "google.cloud.storage",
    "google.cloud.firestore",
    "google.cloud.run_v2",
    "google.cloud.logging",
    "google.api_core",
    "mlflow",
    "fastapi",
    "jwt",
)

PROBE = """
import json, sys
import app.settings, app.ports, app.bootstrap
import app.domain.documents, app.domain.feedback, app.domain.predictions
import app.services.pipeline, app.services.documents, app.services.predictions
import app.services.feedback, app.services.model_holder
import app.services.monitoring, app.services.retraining, app.services.models, app.services.drift
import app.services.uploads, app.adapters.marker_holds
import app.adapters.local.jobs, app.adapters.aws.s3, app.adapters.aws.dynamodb
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


def test_the_api_with_auth_off_does_not_load_the_jose_library():
    probe = "import json, sys, app.api.main; print(json.dumps('jwt' in sys.modules))"
    out = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True, timeout=60
    )
    assert json.loads(out.stdout.strip().splitlines()[-1]) is False


def test_the_aws_entrypoints_import_no_sdk_client_no_mlflow_and_no_tracer():
    # Clients, the model registry and the X-Ray SDK are built on the first invocation.
    probe = (
        "import json, sys, functions.aws.handler, functions.aws.admin_authorizer;"
        " print(json.dumps(sorted(sys.modules)))"
    )
    out = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True, timeout=60
    )
    loaded = json.loads(out.stdout.strip().splitlines()[-1])
    forbidden = (*FORBIDDEN, "aws_xray_sdk")
    # Powertools reads botocore's version for its user agent: the bare package, no client code.
    offenders = [
        m
        for m in loaded
        if m != "botocore" and any(m == f or m.startswith(f + ".") for f in forbidden)
    ]
    assert offenders == []


def test_the_cloud_functions_import_only_their_function_library():
    """Loading the Azure Function app or the GCP CloudEvent module (each instance does it
    before its first event) pulls in no storage or database SDK, MLflow or FastAPI."""
    probe = (
        "import json, sys, functions.azure.function_app, functions.gcp.main;"
        " print(json.dumps(sorted(sys.modules)))"
    )
    out = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True, timeout=60
    )
    loaded = json.loads(out.stdout.strip().splitlines()[-1])
    offenders = [
        m
        for m in loaded
        if m != "azure"
        and not m.startswith("azure.functions")
        and any(m == f or m.startswith(f + ".") for f in FORBIDDEN)
    ]
    assert offenders == []
