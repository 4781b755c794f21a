"""POST /v1/predict, prediction feedback, /health and /metrics over HTTP."""

import json
import subprocess

import pytest

from app.domain.labels import DOCUMENT_CLASSES
from app.synth.documents import make_document
from tests.e2e.conftest import wait_for_document

TEXTS = [
    make_document(label, "en" if i % 2 else "fr", 1000 + i).text
    for i, label in enumerate(DOCUMENT_CLASSES)
]


def test_health_names_the_loaded_model(client, trained):
    body = client.get("/health").json()
    assert body == {
        "status": "ok",
        "model": {"name": "document-classifier", "version": trained.report.version},
        "storage": "ok",
    }


@pytest.mark.parametrize("count", [1, 50])
def test_one_prediction_per_text(client, count):
    texts = [TEXTS[i % len(TEXTS)] for i in range(count)]
    response = client.post("/v1/predict", json={"texts": texts})
    assert response.status_code == 200, response.text
    body = response.json()
    assert len(body["predictions"]) == count
    assert len({p["id"] for p in body["predictions"]}) == count
    assert body["model"]["name"] == "document-classifier"
    first = body["predictions"][0]
    assert abs(sum(first["probabilities"].values()) - 1) < 1e-3
    assert first["confidence"] == max(first["probabilities"].values())


def test_generated_texts_get_their_own_labels(client):
    labels = [
        p["label"] for p in client.post("/v1/predict", json={"texts": TEXTS}).json()["predictions"]
    ]
    assert labels == list(DOCUMENT_CLASSES)


@pytest.mark.parametrize(
    "body",
    [{}, {"texts": []}, {"texts": [""]}, {"texts": "invoice"}, {"texts": [1]}, {"text": ["x"]}],
)
def test_invalid_bodies_are_422_in_the_error_shape(client, body):
    response = client.post("/v1/predict", json=body)
    assert response.status_code == 422
    assert set(response.json()["error"]) == {"code", "message"}


def test_too_many_texts_is_413(client):
    response = client.post("/v1/predict", json={"texts": ["x"] * 101})
    assert response.status_code == 413


def test_feedback_on_a_prediction_and_on_an_unknown_one(client):
    pid = client.post("/v1/predict", json={"texts": [TEXTS[0]]}).json()["predictions"][0]["id"]
    ok = client.post(f"/v1/predictions/{pid}/feedback", json={"label": "letter"})
    assert ok.status_code == 201
    assert ok.json()["correct"] is False
    assert (
        client.post(f"/v1/predictions/{pid}/feedback", json={"label": "sonnet"}).status_code == 422
    )
    assert client.post("/v1/predictions/nope/feedback", json={"label": "letter"}).status_code == 404


def test_method_not_allowed_is_in_the_error_shape(client):
    response = client.delete("/v1/predict")
    assert response.status_code == 405
    assert response.json()["error"]["code"] == "method_not_allowed"


def test_metrics_count_predictions_by_model_version(client, trained):
    client.post("/v1/predict", json={"texts": [TEXTS[0]]})
    text = client.get("/metrics").text
    assert (
        f'mlops_predictions_total{{label="invoice",model_version="{trained.report.version}"}}'
        in text
    )
    assert "http_request_duration_seconds" in text
    assert (
        'mlops_model_info{model_name="document-classifier",'
        f'model_version="{trained.report.version}"}} 1.0' in text
    )


def test_the_curl_commands_printed_at_start_work(app_process):
    commands = app_process.printed_commands()
    assert len(commands) == 3, commands
    predict, upload, _poll = commands
    out = subprocess.run(predict, shell=True, capture_output=True, text=True, check=True).stdout
    assert json.loads(out)["predictions"][0]["label"] == "invoice"
    out = subprocess.run(upload, shell=True, capture_output=True, text=True, check=True).stdout
    with app_process.client() as client:
        assert wait_for_document(client, json.loads(out)["id"])["prediction"]["label"] == "invoice"
