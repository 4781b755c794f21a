"""Registry faults: a damaged MLflow database or an unreachable tracking server is said
to be what it is (503, registry unavailable), never "no such version" or "no champion";
the serving model stays, and a damaged database at start is one line naming the file."""

from __future__ import annotations

import os
import socket
import sqlite3
import subprocess
import sys

from fastapi.testclient import TestClient

from app.adapters.mlflow_registry import MlflowModelSource
from tests.faults.apps import fault_app

MODEL = "document-classifier"


def _registry_with_one_version(tmp_path) -> str:
    from mlflow import MlflowClient

    uri = f"sqlite:///{tmp_path}/mlflow.db"
    client = MlflowClient(tracking_uri=uri, registry_uri=uri)
    client.create_registered_model(MODEL)
    client.create_model_version(MODEL, source=str(tmp_path))
    return uri


def _damage(path) -> None:
    with path.open("r+b") as fh:
        fh.write(b"garbage!" * (path.stat().st_size // 8))


def test_a_damaged_registry_is_503_not_a_missing_version(tmp_path, outcome, caplog):
    registry = MlflowModelSource(_registry_with_one_version(tmp_path), MODEL)
    app, _reader = fault_app(tmp_path / "data", registry=registry)
    with TestClient(app) as client:
        assert client.get("/v1/models").status_code == 200
        promote = f"/v1/models/{MODEL}/aliases/champion"
        _damage(tmp_path / "mlflow.db")
        with caplog.at_level("ERROR"):
            listed = client.get("/v1/models")
            promoted = client.post(promote, json={"version": 1})
        for answer in (listed, promoted):
            assert answer.status_code == 503, answer.text
            assert answer.json()["error"]["code"] == "registry_unavailable"
        assert "mlflow.db cannot be read" in caplog.text
        # The model already loaded keeps serving.
        assert client.post("/v1/predict", json={"texts": ["Facture 12"]}).status_code == 200
    outcome("registry database damaged", "503 registry_unavailable (not 404); serving went on")


def test_an_unreachable_tracking_server_is_503(tmp_path, monkeypatch, outcome):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # nothing listens here once the socket is closed
    monkeypatch.setenv("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "0")
    monkeypatch.setenv("MLFLOW_HTTP_REQUEST_TIMEOUT", "2")
    registry = MlflowModelSource(f"http://127.0.0.1:{port}", MODEL)
    app, _reader = fault_app(tmp_path, registry=registry)
    with TestClient(app) as client:
        for answer in (
            client.get("/v1/models"),
            client.post(f"/v1/models/{MODEL}/aliases/champion", json={"version": 1}),
        ):
            assert answer.status_code == 503, answer.text
            assert answer.json()["error"]["code"] == "registry_unavailable"
    outcome("tracking server unreachable", "503 registry_unavailable on admin routes")


def _serve(data_dir) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("MLOPS_")}
    env.update(MLOPS_DATA_DIR=str(data_dir), MLOPS_PORT="0")
    return subprocess.run(
        [sys.executable, "-m", "app.cli", "serve"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_damaged_databases_at_start_are_one_line_naming_the_file(tmp_path, outcome):
    for name, words in (
        ("records.sqlite3", "records database"),
        ("mlflow.db", "model registry database"),
    ):
        data_dir = tmp_path / name
        data_dir.mkdir()
        (data_dir / name).write_bytes(b"not a database " * 100)
        result = _serve(data_dir)
        assert result.returncode == 2, result.stderr
        line = result.stderr.strip()
        assert "\n" not in line and "Traceback" not in line, line
        assert words in line and name in line and "backup" in line, line
    outcome("damaged database at start", "exit 2, one line naming the file and the fix")


def test_damage_deep_in_the_records_database_is_found_at_start(tmp_path, outcome):
    """A file whose first pages are sound and later ones are not: found by the check at
    open, not by the first request that reads those pages."""
    from app.adapters.local.records import SqliteDocumentRecords
    from tests.ports.samples import new

    records = SqliteDocumentRecords(tmp_path / "records.sqlite3")
    for i in range(400):
        records.create(new(f"d{i}"))
    path = tmp_path / "records.sqlite3"
    with sqlite3.connect(path) as conn:  # every page into the file itself
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    with path.open("r+b") as fh:
        fh.seek(4096 * 4)
        fh.write(b"\xff" * (path.stat().st_size - 4096 * 4))
    result = _serve(tmp_path)
    assert result.returncode == 2, result.stderr[-2000:]
    line = result.stderr.strip()
    assert "\n" not in line and "records.sqlite3 is damaged" in line, line
    outcome("damage deep in the records database", "found at start: exit 2, one line")
