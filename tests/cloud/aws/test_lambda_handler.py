"""The API as a Lambda: recorded API Gateway HTTP API events through ``app.lambda_handler``,
against emulated AWS (S3, DynamoDB, Cognito on the moto server) and a champion whose
artifacts live in the emulated S3 bucket.
"""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from app.adapters.aws.dynamodb import TABLE_SCHEMA
from app.lambda_handler import LambdaApp
from app.settings import get_settings
from tests.cloud.aws.apigw import CognitoPool, cognito_pool, http_api_event, multipart
from tests.cloud.aws.conftest import REGION, MotoServer, S3Registry

UPLOADS = "mlops-uploads-lambda"
TABLE = "mlops-records-lambda"

pytestmark = pytest.mark.slow  # the session's registry trains a model


@pytest.fixture(scope="module")
def pool(moto_server: MotoServer) -> CognitoPool:
    return cognito_pool(moto_server.client("cognito-idp"), moto_server.endpoint, REGION, ("alice",))


@pytest.fixture(scope="module")
def lambda_env(
    moto_server: MotoServer,
    s3_registry: S3Registry,
    pool: CognitoPool,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[None]:
    """The environment the Pulumi program gives the API function, pointed at the emulator."""
    moto_server.client("s3").create_bucket(
        Bucket=UPLOADS, CreateBucketConfiguration={"LocationConstraint": REGION}
    )
    moto_server.client("dynamodb").create_table(TableName=TABLE, **TABLE_SCHEMA)
    env = {
        "MLOPS_CLOUD": "aws",
        "MLOPS_UPLOADS_BUCKET": UPLOADS,
        "MLOPS_RECORDS_TABLE": TABLE,
        "MLOPS_MLFLOW_TRACKING_URI": s3_registry.tracking_uri,
        "MLOPS_MODEL_NAME": s3_registry.model_name,
        "MLOPS_DATA_DIR": str(tmp_path_factory.mktemp("lambda-data")),
        "MLOPS_TRAIN_ON_EMPTY_REGISTRY": "false",
        **pool.env(),
    }
    with pytest.MonkeyPatch.context() as mp:
        for key, value in env.items():
            mp.setenv(key, value)
        get_settings.cache_clear()
        yield
    get_settings.cache_clear()


@pytest.fixture(scope="module")
def handler(lambda_env: None) -> Iterator[LambdaApp]:
    """The module's own handler object: the one the image runs, started by the first event."""
    from app.lambda_handler import handler

    yield handler
    handler.close()


def call(handler: Any, event: dict[str, Any]) -> tuple[int, Any]:
    response = handler(event, None)
    body = response.get("body") or ""
    if response.get("isBase64Encoded"):
        raise AssertionError(f"a JSON answer came back base64-encoded: {response}")
    return response["statusCode"], json.loads(body) if body else None


def model_loads() -> float:
    """Loads seen by the app's own load listener (``mlops_model_load_seconds``)."""
    from prometheus_client import REGISTRY

    return REGISTRY.get_sample_value("mlops_model_load_seconds_count") or 0.0


def png() -> bytes:
    from PIL import Image, ImageDraw

    image = Image.new("L", (400, 120), 255)
    ImageDraw.Draw(image).text((10, 50), "FACTURE N 2024-118 Total TTC 1 250,00 EUR", fill=0)
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()


def test_predict_answers_from_the_champion(handler, pool, s3_registry):
    event = http_api_event(
        "POST",
        "/v1/predict",
        token=pool.tokens["alice"],
        body=json.dumps({"texts": ["Facture n° 118, total TTC 1 250,00 EUR", "CV"]}).encode(),
    )
    status, body = call(handler, event)
    assert status == 200, body
    assert len(body["predictions"]) == 2
    assert body["model"] == {"name": s3_registry.model_name, "version": "1"}
    first = body["predictions"][0]
    assert first["label"] in first["probabilities"]
    assert abs(sum(first["probabilities"].values()) - 1) < 1e-6


def test_a_base64_multipart_upload_is_accepted_stored_and_recorded(handler, pool, moto_server):
    data = png()
    body, content_type = multipart("file", "facture.png", data, "image/png")
    event = http_api_event(
        "POST",
        "/v1/documents",
        token=pool.tokens["alice"],
        body=body,
        content_type=content_type,
        binary=True,
    )
    status, answer = call(handler, event)
    assert status == 202, answer
    assert answer["status"] == "pending"
    item = moto_server.client("dynamodb").get_item(
        TableName=TABLE, Key={"pk": {"S": f"DOC#{answer['id']}"}, "sk": {"S": "DOC"}}
    )["Item"]
    assert item["status"]["S"] == "pending"
    assert item["media_type"]["S"] == "image/png"
    stored = moto_server.client("s3").get_object(Bucket=UPLOADS, Key=f"uploads/{answer['id']}")
    assert stored["Body"].read() == data


def test_no_token_is_401_even_when_the_gateway_let_it_through(handler, pool):
    # A route mistakenly left without the authorizer: no header, no claims.
    event = http_api_event("POST", "/v1/predict", body=b'{"texts": ["x"]}')
    status, body = call(handler, event)
    assert status == 401
    assert body["error"]["code"]
    # Claims in the request context are not a credential: the app checks the bearer token.
    forged = http_api_event(
        "POST", "/v1/predict", token=pool.tokens["alice"], body=b'{"texts": ["x"]}'
    )
    del forged["headers"]["authorization"]
    assert call(handler, forged)[0] == 401


def test_health_is_public_and_names_the_model(handler, s3_registry):
    status, body = call(handler, http_api_event("GET", "/health"))
    assert status == 200, body
    assert body == {
        "status": "ok",
        "model": {"name": s3_registry.model_name, "version": "1"},
        "storage": "ok",  # the DynamoDB records table answered
    }


def test_the_model_is_loaded_once_per_execution_environment(lambda_env, pool):
    fresh = LambdaApp()  # what a new execution environment runs
    event = http_api_event(
        "POST", "/v1/predict", token=pool.tokens["alice"], body=b'{"texts": ["Facture"]}'
    )
    before = model_loads()
    try:
        assert call(fresh, event)[0] == 200
        model = fresh.container.holder.current
        assert call(fresh, event)[0] == 200
        assert call(fresh, http_api_event("GET", "/health"))[0] == 200
        assert model_loads() - before == 1
        assert fresh.container.holder.current is model
    finally:
        fresh.close()


def test_mangum_lifespan_auto_would_load_it_on_every_event(lambda_env, pool):
    """Why the handler keeps mangum's lifespan off: "auto" starts the app per invocation."""
    from mangum import Mangum

    from app.api.main import create_app

    per_event = Mangum(create_app(), lifespan="auto")
    event = http_api_event(
        "POST", "/v1/predict", token=pool.tokens["alice"], body=b'{"texts": ["Facture"]}'
    )
    before = model_loads()
    assert per_event(event, None)["statusCode"] == 200
    assert per_event(event, None)["statusCode"] == 200
    assert model_loads() - before == 2


def test_the_event_templates_are_http_api_payload_2(pool):
    event = http_api_event("POST", "/v1/predict", token=pool.tokens["alice"], body=b"{}")
    assert event["version"] == "2.0"
    claims = event["requestContext"]["authorizer"]["jwt"]["claims"]
    assert claims["iss"] == pool.issuer
    assert claims["client_id"] == pool.client_id
    assert all(isinstance(v, str) for v in claims.values())
    assert Path(__file__).parents[2].joinpath("events/aws/apigw_v2_public_request.json").exists()
