"""A store or records database that throttles answers 503 with Retry-After, not 500."""

from __future__ import annotations

from fastapi.testclient import TestClient

from app.adapters.local.records import SqliteDocumentRecords
from app.domain.documents import StorageUnavailableError
from tests.unit.api.conftest import make_app


def test_a_throttled_records_store_is_503_with_retry_after(tmp_path, monkeypatch):
    def busy(self, document_id: str):
        raise StorageUnavailableError(document_id, "429 TooManyRequests")

    monkeypatch.setattr(SqliteDocumentRecords, "get", busy)
    app, _, _ = make_app(tmp_path)
    with TestClient(app) as client:
        answer = client.get("/v1/documents/d1")
    assert answer.status_code == 503
    assert answer.headers["Retry-After"] == "5"
    assert answer.json()["error"]["code"] == "storage_unavailable"
