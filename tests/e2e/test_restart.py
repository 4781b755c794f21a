"""Killing the app while documents are pending loses none of them."""

from tests.e2e.conftest import AppProcess, wait_for_document
from tests.e2e.test_documents import rendered


def test_pending_documents_are_finished_after_a_kill_and_restart(trained):
    first = AppProcess(trained.data_dir).start()
    with first.client() as client:
        ids = [
            client.post(
                "/v1/documents", files={"file": (f"d{i}.png", rendered("letter", "fr", 300 + i))}
            ).json()["id"]
            for i in range(3)
        ]
        statuses = [client.get(f"/v1/documents/{i}").json()["status"] for i in ids]
    first.kill()  # SIGKILL: no shutdown hook runs
    assert "pending" in statuses, statuses  # one OCR worker: the later uploads still wait

    second = AppProcess(trained.data_dir).start()
    try:
        with second.client() as client:
            finished = [wait_for_document(client, i) for i in ids]
    finally:
        second.stop()
    assert [d["status"] for d in finished] == ["done"] * 3
    assert all(d["prediction"]["label"] == "letter" for d in finished)
