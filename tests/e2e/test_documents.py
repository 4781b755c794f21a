"""Uploads through POST /v1/documents, polled until the pipeline finishes."""

import io

import pytest
from PIL import Image

from app.synth.documents import make_document
from app.synth.render import encode, render_pages
from tests.e2e.conftest import wait_for_document


def rendered(label: str, lang: str, seed: int, fmt: str = "png") -> bytes:
    return encode(render_pages(make_document(label, lang, seed), dpi=200, degrade="light"), fmt)


@pytest.mark.parametrize(("lang", "fmt"), [("en", "png"), ("fr", "jpg")])
def test_rendered_invoice_ends_done_with_label_invoice(client, lang, fmt):
    response = client.post(
        "/v1/documents", files={"file": (f"invoice.{fmt}", rendered("invoice", lang, 424242, fmt))}
    )
    assert response.status_code == 202, response.text
    body = response.json()
    assert body["status"] == "pending"
    done = wait_for_document(client, body["id"])
    assert done["status"] == "done", done
    assert done["prediction"]["label"] == "invoice"
    assert done["language"] == lang
    assert done["prediction"]["model"]["version"]
    assert len(done["text"]) > 100


def test_multi_page_pdf_is_processed(client):
    doc = make_document("bank_statement", "fr", 99)
    pdf = encode(render_pages(doc, dpi=150, degrade="none"), "pdf")
    response = client.post("/v1/documents", files={"file": ("releve.pdf", pdf, "application/pdf")})
    done = wait_for_document(client, response.json()["id"])
    assert done["status"] == "done", done
    assert done["media_type"] == "application/pdf"


def test_truncated_image_ends_failed_with_a_reason_and_the_app_keeps_serving(client):
    image = io.BytesIO()
    Image.new("RGB", (800, 600), "white").save(image, "PNG")
    truncated = image.getvalue()[: len(image.getvalue()) // 2]
    response = client.post("/v1/documents", files={"file": ("scan.png", truncated)})
    assert response.status_code == 202
    failed = wait_for_document(client, response.json()["id"])
    assert failed["status"] == "failed"
    assert failed["error"] and "\n" not in failed["error"]
    assert client.get("/health").status_code == 200


def test_non_image_bytes_are_refused_with_415_whatever_the_name(client):
    response = client.post(
        "/v1/documents", files={"file": ("scan.png", b"MZ\x90\x00 not an image", "image/png")}
    )
    assert response.status_code == 415
    assert response.json()["error"]["code"] == "unsupported_media_type"


def test_empty_file_is_refused_with_a_clear_message(client):
    response = client.post("/v1/documents", files={"file": ("empty.png", b"")})
    assert response.status_code == 422
    assert "empty" in response.json()["error"]["message"]


def test_traversal_filename_is_only_a_display_name(client, app_process):
    data = rendered("letter", "en", 5)
    response = client.post("/v1/documents", files={"file": ("../../../../tmp/evil.png", data)})
    assert response.status_code == 202
    body = client.get(f"/v1/documents/{response.json()['id']}").json()
    assert body["filename"] == "evil.png"
    assert not (app_process.data_dir.parent / "evil.png").exists()


def test_missing_file_field_is_a_422_in_the_error_shape(client):
    response = client.post("/v1/documents", data={"x": "1"})
    assert response.status_code == 422
    assert response.json()["error"]["code"] == "validation_error"


def test_unknown_document_is_404_in_the_error_shape(client):
    response = client.get("/v1/documents/does-not-exist")
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"


def test_feedback_on_a_done_document(client):
    response = client.post(
        "/v1/documents", files={"file": ("r.png", rendered("receipt", "en", 77))}
    )
    doc = wait_for_document(client, response.json()["id"])
    fb = client.post(f"/v1/documents/{doc['id']}/feedback", json={"label": "receipt"})
    assert fb.status_code == 201, fb.text
    assert fb.json()["predicted_label"] == doc["prediction"]["label"]


def test_upload_over_the_size_limit_is_413(client):
    big = b"\x89PNG\r\n\x1a\n" + b"\0" * (21 * 1024 * 1024)
    response = client.post("/v1/documents", files={"file": ("big.png", big)})
    assert response.status_code == 413
    assert response.json()["error"]["code"] == "payload_too_large"
