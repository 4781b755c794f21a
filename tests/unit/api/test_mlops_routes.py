"""Models, training jobs and monitoring over HTTP, with fake registry and launcher."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from prometheus_client.parser import text_string_to_metric_families

from app.domain.identity import Principal


def scrape(client: TestClient) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    samples = {}
    for family in text_string_to_metric_families(client.get("/metrics").text):
        for s in family.samples:
            samples[(s.name, tuple(sorted(s.labels.items())))] = s.value
    return samples


def test_monitoring_and_metrics_agree(client):
    for text in ["Facture 1", "Dear Sir", "ticket"] * 4:
        prediction = client.post("/v1/predict", json={"texts": [text]}).json()["predictions"][0]
        client.post(f"/v1/predictions/{prediction['id']}/feedback", json={"label": "letter"})
    body = client.get("/v1/monitoring").json()
    metrics = scrape(client)

    feedback = body["feedback"]
    assert (feedback["labels"], feedback["correct"]) == (12, 4)
    v = (("model_version", "1"),)
    assert metrics[("mlops_feedback_rolling_accuracy", v)] == pytest.approx(feedback["accuracy"])
    assert metrics[("mlops_feedback_rolling_labels", v)] == feedback["labels"]
    assert metrics[("mlops_retrain_accuracy_threshold", ())] == feedback["threshold"]
    assert metrics[("mlops_retrain_min_labels", ())] == feedback["min_labels"]

    counts = body["predictions"]["by_model_version"]["1"]
    assert counts["by_label"] == {"invoice": 4, "letter": 4, "receipt": 4}
    for label, n in counts["by_label"].items():
        key = ("mlops_predictions_total", (("label", label), ("model_version", "1")))
        assert metrics[key] == n
    assert metrics[("mlops_prediction_confidence_mean", v)] == counts["mean_confidence"]

    drift = body["drift"]
    assert drift["inputs"] == 12 and drift["psi"] is None, "the fake model has no profile"
    assert metrics[("mlops_drift_inputs", ())] == 12
    assert body["retraining"]["last_job"]["reason"] == "accuracy_below_threshold"


def test_promote_and_rollback_change_what_predict_and_health_report(client):
    assert client.get("/health").json()["model"]["version"] == "1"
    response = client.post("/v1/models/document-classifier/aliases/champion", json={"version": 2})
    assert response.status_code == 200
    assert response.json()["previous_version"] == "1"
    assert response.json()["serving"]["version"] == "2"
    assert client.get("/health").json()["model"]["version"] == "2"
    assert client.post("/v1/predict", json={"texts": ["x"]}).json()["model"]["version"] == "2"
    client.post("/v1/models/document-classifier/aliases/champion", json={"version": 1})
    assert client.get("/health").json()["model"]["version"] == "1"
    listed = client.get("/v1/models").json()
    assert listed["serving"]["version"] == "1"
    assert {v["version"]: v["aliases"] for v in listed["versions"]}["1"] == ["champion"]


@pytest.mark.parametrize(
    ("body", "status", "code"),
    [
        ({"version": 99}, 404, "not_found"),
        ({"version": 0}, 422, "validation_error"),
        ({"version": "two"}, 422, "validation_error"),
        ({}, 422, "validation_error"),
    ],
)
def test_bad_promotions_are_refused_in_the_error_shape(client, body, status, code):
    response = client.post("/v1/models/document-classifier/aliases/champion", json=body)
    assert response.status_code == status
    assert response.json()["error"]["code"] == code
    assert client.get("/health").json()["model"]["version"] == "1"


def test_a_version_that_cannot_load_is_a_409_and_the_champion_stays(client, app_parts):
    app_parts[1].broken.add("3")
    response = client.post("/v1/models/document-classifier/aliases/champion", json={"version": 3})
    assert response.status_code == 409
    assert response.json()["error"]["code"] == "model_load_failed"
    assert client.get("/health").json()["model"]["version"] == "1"


def test_training_jobs_start_and_are_followed(client, app_parts):
    started = client.post("/v1/training-jobs", json={"generate_per_class": 50, "promote": "never"})
    assert started.status_code == 202
    job = started.json()
    assert job["reason"] == "manual" and job["requested_by"] == "local-user"
    assert job["parameters"]["generate_per_class"] == 50
    app_parts[2].finish(job["id"], version="4")
    followed = client.get(f"/v1/training-jobs/{job['id']}").json()
    assert (followed["status"], followed["model_version"]) == ("succeeded", "4")
    assert [j["id"] for j in client.get("/v1/training-jobs").json()["jobs"]] == [job["id"]]
    assert client.get("/v1/training-jobs/nope").status_code == 404
    assert client.post("/v1/training-jobs", json={"promote": "maybe"}).status_code == 422
    assert client.post("/v1/training-jobs", json={"promot": "never"}).status_code == 422
    second = client.post("/v1/training-jobs")
    assert second.status_code == 202, "the body is optional"
    running = client.post("/v1/training-jobs")
    assert running.status_code == 409 and second.json()["id"] in running.json()["error"]["message"]


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("get", "/v1/models"),
        ("post", "/v1/models/document-classifier/aliases/champion"),
        ("post", "/v1/training-jobs"),
        ("get", "/v1/training-jobs/x"),
        ("get", "/v1/monitoring"),
    ],
)
def test_admin_routes_refuse_other_users(app_parts, method, path):
    app = app_parts[0]
    app.state.authenticate = lambda _request: Principal("bob")
    with TestClient(app) as client:
        response = getattr(client, method)(
            path, **({"json": {"version": 1}} if method == "post" else {})
        )
        assert response.status_code == 403
        assert response.json()["error"]["code"] == "forbidden"


def test_every_metric_the_dashboard_and_alerts_use_is_exported(client):
    from ops.check import referenced_metrics

    client.post("/v1/predict", json={"texts": ["Facture"]})
    prediction = client.post("/v1/predict", json={"texts": ["Facture"]}).json()["predictions"][0]
    client.post(f"/v1/predictions/{prediction['id']}/feedback", json={"label": "letter"})
    exported = {name for name, _labels in scrape(client)}
    text = client.get("/metrics").text
    # Series that appear only once something happened: names are declared via HELP.
    declared = {line.split()[2] for line in text.splitlines() if line.startswith("# HELP")}
    families = exported | declared
    missing = sorted(
        m for m in referenced_metrics() if m not in families and m.rsplit("_", 1)[0] not in families
    )
    assert not missing, f"dashboard/alerts use metrics the app does not export: {missing}"


@pytest.mark.parametrize(
    ("method", "path", "allow"),
    [
        ("delete", "/v1/training-jobs", "GET, POST"),
        ("put", "/v1/predict", "POST"),
        ("delete", "/v1/documents/abc", "GET"),
        ("post", "/health", "GET"),
    ],
)
def test_405_names_every_method_of_the_path(client, method, path, allow):
    response = client.request(method.upper(), path)
    assert response.status_code == 405
    assert response.headers["allow"] == allow
    assert response.json()["error"]["code"] == "method_not_allowed"
