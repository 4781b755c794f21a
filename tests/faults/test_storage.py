"""Storage faults under a running app: a full disk, a locked, deleted or damaged records
database, a throttling object store. Nothing accepted is lost, callers get a 503 with
words, ``/health`` names the problem, and work resumes by itself once storage is back."""

from __future__ import annotations

import sqlite3
import threading
import time

from fastapi.testclient import TestClient

from app.adapters.local.objects import LocalObjectStore
from app.domain.documents import StorageUnavailableError
from tests.faults.apps import fault_app, png
from tests.faults.conftest import LONG, wait_until


def upload(client: TestClient):
    return client.post("/v1/documents", files={"file": ("scan.png", png(), "image/png")})


def status(client: TestClient, doc_id: str) -> str:
    return client.get(f"/v1/documents/{doc_id}").json().get("status", "?")


def test_a_full_disk_refuses_uploads_with_503_then_accepts_them(small_disk, outcome):
    app, _reader = fault_app(small_disk.root)
    with TestClient(app) as client:
        small_disk.fill()
        refused = upload(client)
        assert refused.status_code == 503, refused.text
        assert refused.headers["Retry-After"]
        assert "retry" in refused.json()["error"]["message"]
        small_disk.free()
        accepted = upload(client)
        assert accepted.status_code == 202, accepted.text
        doc = accepted.json()["id"]
        wait_until(lambda: status(client, doc) == "done", 30, "the document after space came back")
    outcome("disk full at upload", "503 + Retry-After; accepted again once space came back")


def test_a_disk_that_fills_mid_pipeline_finishes_the_document_without_a_restart(
    small_disk, outcome
):
    app, reader = fault_app(small_disk.root)
    reader.before = small_disk.fill  # the disk fills while the document is OCR'd
    with TestClient(app) as client:
        doc = upload(client).json()["id"]
        wait_until(lambda: client.get("/health").status_code == 503, 30, "health reporting it")
        health = client.get("/health").json()
        assert "wait for storage" in health["storage"], health
        assert status(client, doc) in ("pending", "processing")
        reader.before = None
        small_disk.free()
        back = time.monotonic()
        wait_until(lambda: status(client, doc) == "done", 30, "the document after space came back")
        took = time.monotonic() - back
        assert client.get("/health").status_code == 200
        assert client.get("/health").json()["storage"] == "ok"
    assert reader.calls >= 2  # tried again, not dropped
    outcome(
        "disk full mid-pipeline", f"health 503 'waiting'; done {took:.1f} s after space returned"
    )


def test_a_locked_records_database_is_503_while_locked_and_nothing_is_lost(tmp_path, outcome):
    app, _reader = fault_app(tmp_path, busy_timeout=0.3)
    with TestClient(app) as client:
        first = upload(client).json()["id"]
        wait_until(lambda: status(client, first) == "done", 30, "the first document")
        holder = sqlite3.connect(
            tmp_path / "records.sqlite3", isolation_level=None, check_same_thread=False
        )
        holder.execute("BEGIN EXCLUSIVE")
        release = threading.Timer(3 if LONG else 1.5, holder.execute, args=("ROLLBACK",))
        release.start()
        refused = upload(client)
        assert refused.status_code == 503, refused.text
        release.join()
        holder.close()
        accepted = upload(client)
        assert accepted.status_code == 202
        second = accepted.json()["id"]
        wait_until(lambda: status(client, second) == "done", 30, "the document after the lock")
        assert status(client, first) == "done"
    outcome("records database locked", "503 while locked; later uploads processed, none lost")


def test_a_records_database_deleted_under_the_app_fails_health_loudly(tmp_path, outcome, caplog):
    app, _reader = fault_app(tmp_path)
    with TestClient(app) as client:
        doc = upload(client).json()["id"]
        wait_until(lambda: status(client, doc) == "done", 30, "the document")
        (tmp_path / "records.sqlite3").unlink()
        with caplog.at_level("ERROR"):
            health = client.get("/health")
        assert health.status_code == 503
        assert health.json()["storage"].startswith("damaged"), health.json()
        assert "records.sqlite3 was deleted or replaced" in caplog.text
        refused = upload(client)
        assert refused.status_code == 503  # nothing more goes into the unlinked file
        assert not (tmp_path / "records.sqlite3").exists()
    outcome(
        "records database deleted", "health 503 'damaged', file named in the log; writes refused"
    )


def test_a_records_database_damaged_under_the_app_fails_health_loudly(tmp_path, outcome, caplog):
    app, _reader = fault_app(tmp_path)
    with TestClient(app) as client:
        doc = upload(client).json()["id"]
        wait_until(lambda: status(client, doc) == "done", 30, "the document")
        path = tmp_path / "records.sqlite3"
        for suffix in ("", "-wal", "-shm"):
            target = path.with_name(path.name + suffix)
            if target.exists():
                with target.open("r+b") as fh:
                    fh.write(b"garbage!" * (target.stat().st_size // 8))
        with caplog.at_level("ERROR"):
            health = client.get("/health")
        assert health.status_code == 503, health.text
        assert health.json()["storage"] != "ok"
        assert client.get(f"/v1/documents/{doc}").status_code == 503
    outcome("records database damaged", "health 503, reads and writes 503 with words")


class ThrottlingStore(LocalObjectStore):
    """The local store answering "slow down" to the next ``puts`` writes and ``gets``
    reads, as S3, Blob and GCS do under load (their adapters turn that into
    StorageUnavailableError)."""

    puts = 0
    gets = 0

    def put(self, key: str, data: bytes, *, content_type: str) -> str:
        if self.puts > 0:
            self.puts -= 1
            raise StorageUnavailableError(key, "SlowDown: please reduce your request rate")
        return super().put(key, data, content_type=content_type)

    def get(self, key: str) -> bytes:
        if self.gets > 0:
            self.gets -= 1
            raise StorageUnavailableError(key, "SlowDown: please reduce your request rate")
        return super().get(key)


def test_a_throttling_object_store_delays_documents_but_loses_none(tmp_path, outcome):
    store = ThrottlingStore(tmp_path / "objects")
    app, _reader = fault_app(tmp_path, objects=store)
    with TestClient(app) as client:
        store.puts = 1
        refused = upload(client)
        assert refused.status_code == 503 and refused.headers["Retry-After"]
        # The refused upload's record says so, and a new upload goes through.
        doc = upload(client).json()["id"]
        wait_until(lambda: status(client, doc) == "done", 30, "an upload after the refusal")
        store.gets = 6 if LONG else 3  # the pipeline's reads are throttled now
        doc = upload(client).json()["id"]
        wait_until(
            lambda: status(client, doc) == "done", 60, "a document whose reads were throttled"
        )
    outcome("object store throttling", "503 on upload; reads retried until the document was done")
