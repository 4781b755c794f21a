from concurrent.futures import ThreadPoolExecutor

import pytest

from app.domain.documents import (
    DocumentExistsError,
    DocumentNotFoundError,
    DocumentPrediction,
    DocumentStatus,
)
from app.ports import DocumentRecords
from tests.ports.conftest import EMULATED_WITHOUT_LOCKS
from tests.ports.samples import new

PREDICTION = DocumentPrediction(
    label="invoice",
    confidence=0.93,
    probabilities={"invoice": 0.93, "receipt": 0.07},
    model_name="document-classifier",
    model_version="2",
)


def test_adapter_satisfies_the_port(records):
    assert isinstance(records, DocumentRecords)


def test_create_starts_pending_and_get_returns_it(records):
    created = records.create(new())
    assert created.status is DocumentStatus.PENDING
    fetched = records.get("d1")
    assert (fetched.owner, fetched.object_key, fetched.size) == ("alice", "uploads/d1", 123)


def test_create_twice_is_refused(records):
    records.create(new())
    with pytest.raises(DocumentExistsError):
        records.create(new())


def test_get_of_unknown_id_raises(records):
    with pytest.raises(DocumentNotFoundError):
        records.get("nope")


def test_claim_is_granted_once(records):
    records.create(new())
    first = records.claim("d1", lease_seconds=60)
    second = records.claim("d1", lease_seconds=60)
    assert first is not None and first.status is DocumentStatus.PROCESSING
    assert first.attempts == 1
    assert second is None


def test_concurrent_claims_grant_exactly_one(records, request):
    if request.node.callspec.params.get("records") in EMULATED_WITHOUT_LOCKS:
        pytest.skip(
            "moto evaluates a condition and writes without a lock, so threads race inside"
            " the emulator; DynamoDB's conditional writes are atomic, and the condition"
            " itself is covered by the sequential claim tests"
        )
    records.create(new())
    with ThreadPoolExecutor(max_workers=8) as pool:
        results = list(pool.map(lambda _: records.claim("d1", lease_seconds=60), range(16)))
    assert sum(r is not None for r in results) == 1


def test_an_expired_lease_can_be_claimed_again(records):
    records.create(new())
    assert records.claim("d1", lease_seconds=-1) is not None
    again = records.claim("d1", lease_seconds=60)
    assert again is not None and again.attempts == 2


def test_a_released_claim_is_pending_again_and_not_counted(records):
    records.create(new())
    claimed = records.claim("d1", lease_seconds=600)
    assert records.release("d1", attempt=claimed.attempts) is True
    back = records.get("d1")
    assert (back.status, back.attempts) == (DocumentStatus.PENDING, 0)
    again = records.claim("d1", lease_seconds=600)  # at once, not after the lease
    assert again is not None and again.attempts == 1


def test_release_leaves_a_later_claim_and_a_finished_record_alone(records):
    records.create(new())
    records.claim("d1", lease_seconds=-1)  # attempt 1, its lease over
    records.claim("d1", lease_seconds=600)  # attempt 2 took it over
    assert records.release("d1", attempt=1) is False
    assert records.get("d1").status is DocumentStatus.PROCESSING
    records.complete("d1", text="Facture", language="fr", prediction=PREDICTION)
    assert records.release("d1", attempt=2) is False
    assert records.get("d1").status is DocumentStatus.DONE
    assert records.release("nope", attempt=1) is False


def test_a_finished_document_is_never_claimed_again(records):
    records.create(new())
    records.claim("d1", lease_seconds=60)
    records.complete("d1", text="Facture", language="fr", prediction=PREDICTION)
    assert records.claim("d1", lease_seconds=60) is None


def test_claim_of_unknown_id_raises(records):
    with pytest.raises(DocumentNotFoundError):
        records.claim("nope", lease_seconds=60)


def test_complete_stores_text_and_prediction(records):
    records.create(new())
    records.claim("d1", lease_seconds=60)
    done = records.complete("d1", text="Facture n° 1", language="fr", prediction=PREDICTION)
    assert done.status is DocumentStatus.DONE
    assert done.text == "Facture n° 1" and done.language == "fr"
    assert done.prediction == PREDICTION


def test_complete_records_the_size_read_when_given(records):
    records.create(new("sized"))
    records.create(new("kept"))
    for doc_id in ("sized", "kept"):
        records.claim(doc_id, lease_seconds=60)
    records.complete("sized", text="x", language="en", prediction=PREDICTION, size=4096)
    records.complete("kept", text="x", language="en", prediction=PREDICTION)
    assert records.get("sized").size == 4096  # uploaded straight to storage: known now
    assert records.get("kept").size == 123


def test_fail_stores_the_reason(records):
    records.create(new())
    failed = records.fail("d1", reason="The file is empty (0 bytes).")
    assert failed.status is DocumentStatus.FAILED
    assert records.get("d1").error == "The file is empty (0 bytes)."


def test_list_filters_by_owner_and_status(records):
    records.create(new("d1", "alice"))
    records.create(new("d2", "bob"))
    records.create(new("d3", "alice"))
    records.fail("d3", reason="bad")
    assert {r.id for r in records.list(owner="alice")} == {"d1", "d3"}
    assert [r.id for r in records.list(status=DocumentStatus.PENDING, owner="alice")] == ["d1"]


def test_requeue_stuck_returns_processing_to_pending(records):
    records.create(new("d1"))
    records.create(new("d2"))
    records.claim("d1", lease_seconds=600)
    assert records.requeue_stuck(older_than_seconds=3600) == 0
    assert records.requeue_stuck(older_than_seconds=0) == 1
    assert records.get("d1").status is DocumentStatus.PENDING
    assert records.claim("d1", lease_seconds=60) is not None
