"""The MLOps loop on the local system: feedback → retraining → champion/challenger → hot swap."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from app.settings import load_settings
from app.training.train import TrainingRequest, train
from tests.e2e.conftest import AppProcess

INVOICE = "FACTURE N° F-2024-0113  Total TTC 1 234,56 EUR  TVA 20 %  Échéance 30 jours"


@pytest.fixture(scope="module")
def registry(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Two small versions: 1 champion, 2 challenger (the job will add 3)."""
    data_dir = tmp_path_factory.mktemp("mlops-loop")
    settings = load_settings(data_dir=data_dir)
    for seed, promote in ((0, "if-better"), (1, "never")):
        train(
            settings,
            TrainingRequest(
                generate_per_class=30,
                heldout_per_class=1,
                seed=seed,
                promote=promote,
                progress=False,
            ),
        )
    return data_dir


@pytest.fixture(scope="module")
def app(registry: Path) -> Iterator[AppProcess]:
    process = AppProcess(
        registry,
        MLOPS_RETRAIN_MIN_LABELS="5",
        MLOPS_RETRAIN_ACCURACY_THRESHOLD="0.8",
        MLOPS_RETRAIN_COOLDOWN_SECONDS="3600",
        MLOPS_RETRAIN_GENERATE_PER_CLASS="30",
        MLOPS_RETRAIN_HELDOUT_PER_CLASS="1",
        MLOPS_RETRAIN_PROMOTE="never",
        MLOPS_MODEL_POLL_SECONDS="0.5",
        MLOPS_DRIFT_MIN_INPUTS="20",
    ).start()
    yield process
    process.stop()


@pytest.fixture
def client(app: AppProcess) -> Iterator[httpx.Client]:
    with app.client() as c:
        yield c


def serving(client: httpx.Client) -> str:
    return client.get("/health").json()["model"]["version"]


def promote(client: httpx.Client, version: int) -> dict:
    response = client.post(
        "/v1/models/document-classifier/aliases/champion", json={"version": version}
    )
    assert response.status_code == 200, response.text
    return response.json()


def metric_samples(client: httpx.Client) -> dict[tuple[str, frozenset], float]:
    return {
        (s.name, frozenset(s.labels.items())): s.value
        for family in text_string_to_metric_families(client.get("/metrics").text)
        for s in family.samples
    }


def test_monitoring_and_metrics_agree_on_counts_accuracy_and_drift(client):
    texts = [INVOICE, "Dear Sir, please find my application attached.", "Ticket de caisse"]
    for i in range(30):
        client.post("/v1/predict", json={"texts": [f"{texts[i % 3]} {i}"]})
    body = client.get("/v1/monitoring").json()
    samples = metric_samples(client)
    version = body["model"]["version"]
    counts = body["predictions"]["by_model_version"][version]
    assert counts["count"] == 30
    for label, n in counts["by_label"].items():
        key = frozenset({("model_version", version), ("label", label)})
        assert samples[("mlops_predictions_total", key)] == n
    assert body["drift"]["inputs"] == 30 and body["drift"]["psi"] is not None
    for feature, psi in body["drift"]["psi"].items():
        key = frozenset({("model_version", version), ("feature", feature)})
        assert samples[("mlops_drift_psi", key)] == pytest.approx(psi)


def test_wrong_feedback_starts_one_job_that_registers_a_challenger(client):
    jobs_before = client.get("/v1/training-jobs").json()["jobs"]
    assert jobs_before == []
    for i in range(5):
        prediction = client.post("/v1/predict", json={"texts": [f"{INVOICE} {i}"]}).json()
        assert prediction["predictions"][0]["label"] == "invoice"
        given = client.post(
            f"/v1/predictions/{prediction['predictions'][0]['id']}/feedback",
            json={"label": "letter"},
        )
        assert given.status_code == 201
    monitoring = client.get("/v1/monitoring").json()
    assert monitoring["feedback"]["accuracy"] == 0.0
    assert monitoring["feedback"]["below_threshold"] is True

    jobs = client.get("/v1/training-jobs").json()["jobs"]
    assert len(jobs) == 1 and jobs[0]["reason"] == "accuracy_below_threshold"
    job = jobs[0]
    deadline = time.monotonic() + 240
    while job["status"] not in ("succeeded", "failed") and time.monotonic() < deadline:
        time.sleep(1)
        job = client.get(f"/v1/training-jobs/{job['id']}").json()
    assert job["status"] == "succeeded", job
    assert job["model_version"] == "3" and job["promoted"] is False
    assert "5 from feedback" in job["log_tail"]

    versions = {v["version"]: v for v in client.get("/v1/models").json()["versions"]}
    assert versions["3"]["aliases"] == ["challenger"]
    assert versions["1"]["aliases"] == ["champion"]
    assert "heldout_accuracy" in versions["3"]["metrics"]
    assert serving(client) == "1", "a challenger waits for an admin"

    # One bad hour does not start ten jobs.
    for i in range(5):
        prediction = client.post("/v1/predict", json={"texts": [f"{INVOICE} again {i}"]}).json()
        client.post(
            f"/v1/predictions/{prediction['predictions'][0]['id']}/feedback",
            json={"label": "letter"},
        )
    assert len(client.get("/v1/training-jobs").json()["jobs"]) == 1
    started = metric_samples(client)[
        ("mlops_training_jobs_started_total", frozenset({("reason", "accuracy_below_threshold")}))
    ]
    assert started == 1


def test_promote_and_rollback_change_predict_and_health_without_restart(client, app):
    pid = app.proc.pid
    assert serving(client) == "1"
    answer = promote(client, 2)
    assert answer["previous_version"] == "1" and answer["serving"]["version"] == "2"
    assert serving(client) == "2"
    assert client.post("/v1/predict", json={"texts": [INVOICE]}).json()["model"]["version"] == "2"

    promote(client, 1)  # rollback
    assert serving(client) == "1"
    assert client.post("/v1/predict", json={"texts": [INVOICE]}).json()["model"]["version"] == "1"
    assert app.proc.pid == pid and app.proc.poll() is None


def test_a_champion_moved_outside_the_app_is_picked_up_by_polling(client, registry):
    from mlflow import MlflowClient

    settings = load_settings(data_dir=registry)
    mlflow = MlflowClient(tracking_uri=settings.tracking_uri, registry_uri=settings.tracking_uri)
    mlflow.set_registered_model_alias("document-classifier", "champion", "2")
    try:
        deadline = time.monotonic() + 15
        while serving(client) != "2" and time.monotonic() < deadline:
            time.sleep(0.2)
        assert serving(client) == "2"
    finally:
        mlflow.set_registered_model_alias("document-classifier", "champion", "1")
