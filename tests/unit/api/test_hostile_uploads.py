"""Hostile uploads: each gets a 4xx or ends `failed` with a reason, and the app serves on."""

from __future__ import annotations

import os

import pytest
from fastapi.testclient import TestClient
from PIL import Image

from tests.e2e.conftest import wait_for_document
from tests.unit.ocr.samples import blank_pdf, encode, png_with_declared_size, render_text

RANDOM = os.urandom(4096)


def text_png_bytes() -> bytes:
    image, _lines = render_text("FACTURE N° 42 Total TTC 120,00 EUR", width=900, font_px=36)
    return encode(image)


def still_serving(client: TestClient) -> None:
    assert client.get("/health").status_code == 200
    assert client.post("/v1/predict", json={"texts": ["Facture"]}).status_code == 200


@pytest.mark.parametrize(
    ("name", "data", "status"),
    [
        ("empty.png", b"", 422),
        ("random.png", RANDOM, 415),
        ("script.pdf", b"#!/bin/sh\nrm -rf /\n", 415),
        ("page.html", b"<html><body>invoice</body></html>", 415),
    ],
)
def test_refused_before_any_processing(client, name, data, status):
    response = client.post("/v1/documents", files={"file": (name, data, "image/png")})
    assert response.status_code == status, response.text
    assert response.json()["error"]["message"]
    still_serving(client)


@pytest.mark.parametrize(
    ("name", "make", "reason"),
    [
        ("truncated.png", lambda: encode(Image.new("RGB", (400, 300), "white"))[:200], "truncated"),
        ("bomb.png", lambda: png_with_declared_size(100_000, 100_000), "pixels"),
        ("2000-pages.pdf", lambda: blank_pdf(2000, 72, 72), "pages"),
    ],
)
def test_accepted_then_failed_with_a_reason(client, name, make, reason):
    response = client.post("/v1/documents", files={"file": (name, make(), "application/pdf")})
    assert response.status_code == 202, response.text
    body = wait_for_document(client, response.json()["id"])
    assert body["status"] == "failed"
    assert reason in body["error"], body["error"]
    still_serving(client)


def test_over_the_size_limit_is_413_before_the_body_is_read(client):
    big = b"\x89PNG\r\n\x1a\n" + b"\0" * (21 * 1024 * 1024)
    response = client.post("/v1/documents", files={"file": ("big.png", big)})
    assert response.status_code == 413
    still_serving(client)


def test_a_chunked_body_over_the_limit_is_413_too(client):
    """Without a Content-Length the limit is found while reading; the multipart parser
    must not turn it into a 400."""
    boundary = "mlops-boundary"
    head = (
        f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="big.png"\r\n'
        "Content-Type: image/png\r\n\r\n"
    ).encode()

    def body():
        yield head + b"\x89PNG\r\n\x1a\n"
        for _ in range(22):
            yield b"\0" * (1024 * 1024)
        yield f"\r\n--{boundary}--\r\n".encode()

    response = client.post(
        "/v1/documents",
        content=body(),
        headers={"Content-Type": f"multipart/form-data; boundary={boundary}"},
    )
    assert response.status_code == 413, response.text
    assert response.json()["error"]["code"] == "payload_too_large"
    still_serving(client)


def test_oversized_headers_are_431_and_ordinary_ones_pass(client):
    from app.api.limits import MAX_HEADER_BYTES

    huge = {"X-Padding": "a" * (MAX_HEADER_BYTES + 1)}
    answer = client.post("/v1/predict", json={"texts": ["Facture"]}, headers=huge)
    assert answer.status_code == 431
    assert answer.json()["error"]["code"] == "headers_too_large"
    many = {f"X-H{i}": "b" * 100 for i in range(MAX_HEADER_BYTES // 100)}
    assert client.get("/health", headers=many).status_code == 431
    usual = {"Authorization": "Bearer " + "t" * 4000, "Cookie": "c" * 4000}
    assert client.get("/health", headers=usual).status_code == 200
    still_serving(client)


@pytest.mark.parametrize(
    "filename", ["../../etc/passwd", "..\\..\\windows\\win.ini", "/abs/path.png", "a\x00b.png"]
)
def test_traversal_filenames_are_only_display_names(client, app_parts, tmp_path, filename):
    response = client.post(
        "/v1/documents", files={"file": (filename, text_png_bytes(), "image/png")}
    )
    assert response.status_code == 202
    doc = wait_for_document(client, response.json()["id"])
    assert doc["status"] == "done"
    assert "/" not in doc["filename"] and "\\" not in doc["filename"]
    stored = [p for p in (tmp_path / "objects").rglob("*") if p.is_file()]
    assert all(p.resolve().is_relative_to((tmp_path / "objects").resolve()) for p in stored)
    assert not (tmp_path.parent / "etc").exists()
