"""``kill -9`` of the local app at each step of a document's way through it: after a
restart every accepted document ends ``done`` (or says why not), none is processed twice,
and an upload cut off before its bytes were stored shows a status, not a 500."""

from __future__ import annotations

import os
from pathlib import Path

import httpx
import pytest

from tests.e2e.conftest import AppProcess, wait_for_document
from tests.faults.conftest import LONG
from tests.unit.api.test_hostile_uploads import text_png_bytes

INJECT = Path(__file__).parent / "inject"
REPEAT = 3 if LONG else 1


def _records(data_dir: Path) -> list:
    """What the records database holds, read beside the app (no list route in the API)."""
    from app.adapters.local.records import SqliteDocumentRecords

    return list(SqliteDocumentRecords(data_dir / "records.sqlite3").list())


def _app(data_dir: Path, registry: Path, **env: str) -> AppProcess:
    pythonpath = os.pathsep.join(filter(None, [str(INJECT), os.environ.get("PYTHONPATH")]))
    return AppProcess(
        data_dir,
        MLOPS_MLFLOW_TRACKING_URI=f"sqlite:///{registry / 'mlflow.db'}",
        PYTHONPATH=pythonpath,
        **env,
    )


@pytest.mark.parametrize("step", ["claimed", "ocr", "completed"])
@pytest.mark.parametrize("run", range(REPEAT))
def test_a_kill_during_processing_loses_no_document(trained, tmp_path, outcome, step, run):
    first = _app(tmp_path, trained.data_dir, MLOPS_FAULT_KILL_AT=step).start()
    with first.client() as client:
        answer = client.post("/v1/documents", files={"file": ("i.png", text_png_bytes())})
        assert answer.status_code == 202, answer.text
        doc = answer.json()["id"]
    assert first.proc is not None
    assert first.proc.wait(timeout=120) == -9, "the fault did not fire"

    second = _app(tmp_path, trained.data_dir).start()
    try:
        with second.client() as client:
            body = wait_for_document(client, doc)
    finally:
        second.stop()
    assert body["status"] == "done", body
    assert body["prediction"]["label"] == "invoice", body
    assert [r.id for r in _records(tmp_path)] == [doc]
    if run == 0:
        outcome(f"kill -9 after step '{step}'", "done after restart; one record, none lost")


def test_a_kill_before_the_bytes_are_stored_leaves_a_readable_status(trained, tmp_path, outcome):
    first = _app(tmp_path, trained.data_dir, MLOPS_FAULT_KILL_AT="upload-stored").start()
    with first.client() as client, pytest.raises(httpx.TransportError):
        client.post("/v1/documents", files={"file": ("i.png", text_png_bytes())})
    assert first.proc is not None and first.proc.wait(timeout=60) == -9

    # The caller saw the connection drop (no 202): the upload is theirs to send again.
    # The record it left waits for bytes, then says they never came.
    second = _app(tmp_path, trained.data_dir, MLOPS_UPLOAD_URL_EXPIRY_SECONDS="60").start()
    try:
        with second.client() as client:
            (record,) = _records(tmp_path)
            assert record.status.value == "pending", record
            assert client.get(f"/v1/documents/{record.id}").json()["status"] == "pending"
            if LONG:
                body = wait_for_document(client, record.id, timeout=150)
                assert body["status"] == "failed" and "never arrived" in body["error"]
            again = client.post("/v1/documents", files={"file": ("i.png", text_png_bytes())})
            assert wait_for_document(client, again.json()["id"])["status"] == "done"
    finally:
        second.stop()
    outcome("kill -9 before the bytes were stored", "no 202 sent; record 'pending' with no bytes")
