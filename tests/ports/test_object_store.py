from datetime import UTC, datetime, timedelta

import pytest

from app.domain.documents import InvalidObjectKeyError, ObjectNotFoundError
from app.ports import ObjectStore


def test_adapter_satisfies_the_port(object_store):
    assert isinstance(object_store, ObjectStore)


def test_put_then_get_returns_the_same_bytes(object_store):
    version = object_store.put("uploads/a1", b"\x89PNG data", content_type="image/png")
    assert version
    assert object_store.get("uploads/a1") == b"\x89PNG data"


def test_put_overwrites_and_changes_the_version(object_store):
    first = object_store.put("uploads/a1", b"one", content_type="image/png")
    second = object_store.put("uploads/a1", b"two", content_type="image/png")
    assert object_store.get("uploads/a1") == b"two"
    assert first != second


def test_get_of_a_missing_key_raises_the_domain_error(object_store):
    with pytest.raises(ObjectNotFoundError):
        object_store.get("uploads/missing")


def test_delete_removes_and_is_idempotent(object_store):
    object_store.put("uploads/a1", b"x", content_type="image/png")
    object_store.delete("uploads/a1")
    object_store.delete("uploads/a1")
    with pytest.raises(ObjectNotFoundError):
        object_store.get("uploads/a1")


@pytest.mark.parametrize("key", ["../escape", "uploads/../../etc/passwd", "/abs", "a//b", "a\\b"])
def test_keys_that_could_escape_are_refused(object_store, key):
    with pytest.raises(InvalidObjectKeyError):
        object_store.put(key, b"x", content_type="image/png")


def test_a_presigned_upload_names_its_method_limit_and_expiry(object_store):
    before = datetime.now(UTC)
    presigned = object_store.presign_upload(
        "uploads/p1", content_type="image/png", max_bytes=1000, expires_seconds=60
    )
    assert presigned.method in ("POST", "PUT")
    assert presigned.url
    assert presigned.max_bytes == 1000
    assert (
        before + timedelta(seconds=55)
        < presigned.expires_at
        <= datetime.now(UTC) + timedelta(seconds=61)
    )


def test_a_presigned_upload_refuses_keys_outside_the_store(object_store):
    with pytest.raises(InvalidObjectKeyError):
        object_store.presign_upload(
            "../etc/passwd", content_type="image/png", max_bytes=10, expires_seconds=60
        )


def test_exists_answers_for_stored_and_absent_keys(object_store):
    assert object_store.exists("uploads/e1") is False
    object_store.put("uploads/e1", b"\x89PNG", content_type="image/png")
    assert object_store.exists("uploads/e1") is True
    object_store.delete("uploads/e1")
    assert object_store.exists("uploads/e1") is False
