"""POST /v1/documents/upload-url in local mode: a signed PUT to the API itself
stands in for the cloud's presigned URL, and the upload is then processed."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from tests.e2e.conftest import wait_for_document
from tests.unit.api.test_hostile_uploads import text_png_bytes


def ask(client, content_type="image/png", filename="scan.png"):
    return client.post(
        "/v1/documents/upload-url", json={"content_type": content_type, "filename": filename}
    )


def test_the_url_takes_the_bytes_and_the_document_is_processed(client):
    answer = ask(client)
    assert answer.status_code == 201, answer.text
    body = answer.json()
    assert body["method"] == "PUT" and body["status"] == "pending"
    assert body["url"].startswith("http://testserver/v1/uploads/")
    assert client.get(f"/v1/documents/{body['id']}").json()["status"] == "pending"

    png = text_png_bytes()
    sent = client.put(body["url"], content=png, headers=body["headers"])
    assert sent.status_code == 204, sent.text
    done = wait_for_document(client, body["id"], timeout=60)
    assert done["status"] == "done", done
    assert (done["filename"], done["size"]) == ("scan.png", len(png))


def test_an_unsupported_type_is_415_and_creates_nothing(client):
    answer = ask(client, content_type="text/html")
    assert answer.status_code == 415
    assert "image/png" in answer.json()["error"]["message"]


@pytest.mark.parametrize(
    ("mutate", "status"),
    [
        (lambda url: url[:-3] + ("AAA" if not url.endswith("AAA") else "BBB"), 403),
        (lambda url: url.replace("/v1/uploads/", "/v1/uploads/x"), 403),
    ],
)
def test_a_tampered_url_is_refused(client, mutate, status):
    body = ask(client).json()
    sent = client.put(mutate(body["url"]), content=text_png_bytes(), headers=body["headers"])
    assert sent.status_code == status, sent.text
    assert "ask for a new one" in sent.json()["error"]["message"]


def test_the_declared_type_must_be_sent(client):
    body = ask(client).json()
    sent = client.put(body["url"], content=text_png_bytes(), headers={"Content-Type": "image/gif"})
    assert sent.status_code == 403
    assert "image/png" in sent.json()["error"]["message"]


def test_bytes_that_are_not_a_document_are_415(client):
    body = ask(client).json()
    sent = client.put(body["url"], content=b"<html>hello</html>", headers=body["headers"])
    assert sent.status_code == 415


def test_an_expired_url_is_refused(app_parts, client):
    import time

    from app.adapters.local.upload_tokens import UploadGrant

    body = ask(client).json()
    store = app_parts[0].state.container.adapters.objects
    grant = store.signer.verify(body["url"].rsplit("/", 1)[1])
    expired = store.signer.sign(
        UploadGrant(grant.key, grant.content_type, grant.max_bytes, time.time() - 1)
    )
    sent = client.put(f"/v1/uploads/{expired}", content=text_png_bytes(), headers=body["headers"])
    assert sent.status_code == 403
    assert "expired" in sent.json()["error"]["message"]
    assert client.get(f"/v1/documents/{body['id']}").json()["status"] == "pending"


def test_a_url_takes_one_upload(client):
    body = ask(client).json()
    assert client.put(body["url"], content=text_png_bytes(), headers=body["headers"]).status_code
    again = client.put(body["url"], content=text_png_bytes(), headers=body["headers"])
    assert again.status_code == 409
    assert "new upload URL" in again.json()["error"]["message"]


def test_a_token_that_is_not_ascii_is_403_not_500(client):
    sent = client.put("/v1/uploads/abc.%C3%A9", content=b"x", headers={"Content-Type": "image/png"})
    assert sent.status_code == 403


def test_the_upload_route_needs_no_bearer_token_but_upload_url_does(tmp_path):
    from fastapi.testclient import TestClient

    from app.auth.dev import mint
    from tests.unit.api.conftest import make_app

    app, _source, _jobs = make_app(tmp_path, auth="required")
    with TestClient(app) as client:
        assert ask(client).status_code == 401
        token = mint(tmp_path / "dev-auth", "u1")
        body = client.post(
            "/v1/documents/upload-url",
            json={"content_type": "image/png"},
            headers={"Authorization": f"Bearer {token}"},
        ).json()
        sent = client.put(body["url"], content=text_png_bytes(), headers=body["headers"])
        assert sent.status_code == 204


def _resigned(client, **fields):
    """A token signed with this server's own key whose fields were chosen by hand:
    what someone holding the key (or a bug in the signer) could produce."""
    from app.adapters.local.upload_tokens import UploadGrant

    signer = client.app.state.container.adapters.objects.signer
    grant = {
        "key": "uploads/x",
        "content_type": "image/png",
        "max_bytes": 10_000,
        "expires_at": 4e9,
    }
    return signer.sign(UploadGrant(**{**grant, **fields}))


@pytest.mark.parametrize(
    "fields",
    [
        {"key": "../../x"},
        {"key": "uploads/../../etc/passwd"},
        {"key": "/abs"},
        {"expires_at": float("nan")},
        {"expires_at": float("inf")},
        {"max_bytes": -1},
        {"max_bytes": float("inf")},
    ],
    ids=repr,
)
def test_a_signed_token_with_impossible_fields_is_403(client, fields):
    sent = client.put(
        f"/v1/uploads/{_resigned(client, **fields)}",
        content=text_png_bytes(),
        headers={"Content-Type": "image/png"},
    )
    assert sent.status_code == 403, sent.text
    assert "ask for a new one" in sent.json()["error"]["message"]


def test_a_500_on_an_upload_url_does_not_log_its_token(client, monkeypatch, caplog):
    body = ask(client).json()
    token = body["url"].rsplit("/", 1)[-1]

    def broken(*_args, **_kwargs):
        raise RuntimeError("disk on fire")

    monkeypatch.setattr(client.app.state.container.documents, "receive_direct", broken)
    server_side = TestClient(client.app, raise_server_exceptions=False)
    with caplog.at_level("INFO", logger="app"):
        sent = server_side.put(body["url"], content=text_png_bytes(), headers=body["headers"])
    assert sent.status_code == 500
    logged = "\n".join(r.getMessage() for r in caplog.records if r.name.startswith("app"))
    assert "/v1/uploads/{token}" in logged
    assert token not in logged
