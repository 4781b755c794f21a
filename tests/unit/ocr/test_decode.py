import contextlib
import random
import resource
import time

import numpy as np
import pytest
from PIL import Image

from app.ocr import decode
from app.ocr.decode import DecodeLimits, iter_pages, load_pages
from app.ocr.errors import REASON_CODES, UnreadableDocumentError
from tests.unit.ocr.samples import (
    CATALOG,
    ENGLISH,
    blank_pdf,
    build_pdf,
    encode,
    encrypted_pdf,
    png_with_declared_size,
    render_text,
)

LIMITS = DecodeLimits()


def reason(data: bytes, limits: DecodeLimits = LIMITS) -> UnreadableDocumentError:
    with pytest.raises(UnreadableDocumentError) as info:
        load_pages(data, limits)
    exc = info.value
    assert exc.reason_code in REASON_CODES
    message = str(exc)
    assert message.endswith(".") and "\n" not in message and len(message) < 200
    return exc


@pytest.fixture(scope="module")
def text_png() -> bytes:
    image, _ = render_text(ENGLISH, width=800, font_px=24)
    return encode(image)


def test_a_png_decodes_to_one_grey_page(text_png):
    pages = load_pages(text_png, LIMITS)
    assert len(pages) == 1
    assert pages[0].mode == "L"
    assert pages[0].width == 800


def test_empty_file():
    exc = reason(b"")
    assert exc.reason_code == "empty"
    assert str(exc) == "The file is empty (0 bytes)."


def test_too_large_is_checked_before_anything_else():
    assert reason(b"\x00" * 2000, DecodeLimits(max_bytes=1000)).reason_code == "too_large"


@pytest.mark.parametrize("data", [b"plain text, not an image", bytes(range(256)) * 8])
def test_unknown_bytes_are_unsupported(data):
    assert reason(data).reason_code == "unsupported_type"


def test_errors_are_raised_when_iteration_is_set_up_not_later():
    with pytest.raises(UnreadableDocumentError):
        iter_pages(b"", LIMITS)
    with pytest.raises(UnreadableDocumentError):
        iter_pages(blank_pdf(3), DecodeLimits(max_pages=2))


def test_truncated_png(text_png):
    assert reason(text_png[: len(text_png) // 2]).reason_code == "truncated"


def test_truncated_jpeg():
    noise = np.random.default_rng(0).integers(0, 255, (300, 400, 3), dtype=np.uint8)
    jpeg = encode(Image.fromarray(noise), "JPEG", quality=90)
    assert reason(jpeg[: int(len(jpeg) * 0.6)]).reason_code == "truncated"


@pytest.mark.parametrize(
    "size",
    [
        (30_000, 30_000),  # past Pillow's own bomb guard
        (8_000, 6_000),  # under Pillow's guard, over our 40 Mpx limit
    ],
)
def test_decompression_bomb_is_refused_from_its_header(size):
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    started = time.perf_counter()
    exc = reason(png_with_declared_size(*size))
    assert exc.reason_code == "too_many_pixels"
    assert time.perf_counter() - started < 1
    grown_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before
    assert grown_kib < 100 * 1024  # nothing close to the 0.9-48 GB the header asks for


def test_pixel_limit_is_configurable(text_png):
    assert reason(text_png, DecodeLimits(max_pixels=10_000)).reason_code == "too_many_pixels"


def test_multi_page_tiff_gives_pages_and_respects_max_pages():
    frames = [Image.new("L", (40, 30), shade) for shade in (0, 128, 255)]
    tiff = encode(frames[0], "TIFF", save_all=True, append_images=frames[1:])
    pages = load_pages(tiff, LIMITS)
    assert [p.getpixel((0, 0)) for p in pages] == [0, 128, 255]
    assert reason(tiff, DecodeLimits(max_pages=2)).reason_code == "too_many_pages"


def test_animated_gif_is_one_page():
    frames = [Image.new("P", (20, 20), i) for i in range(5)]
    gif = encode(frames[0], "GIF", save_all=True, append_images=frames[1:])
    assert len(load_pages(gif, LIMITS)) == 1


def test_transparent_background_becomes_white_not_black():
    image = Image.new("RGBA", (20, 20), (0, 0, 0, 0))
    image.paste((0, 0, 0, 255), (5, 5, 15, 15))
    (page,) = load_pages(encode(image), LIMITS)
    assert page.mode == "RGB"
    assert page.getpixel((0, 0)) == (255, 255, 255)
    assert page.getpixel((10, 10)) == (0, 0, 0)


def test_sixteen_bit_grey_is_scaled_not_clipped():
    image = Image.fromarray(np.full((10, 10), 32768, dtype=np.uint16))
    (page,) = load_pages(encode(image), LIMITS)
    assert page.mode == "L"
    assert page.getpixel((0, 0)) == 128


def test_exif_orientation_is_applied():
    exif = Image.Exif()
    exif[0x0112] = 6  # rotate 90 degrees clockwise on display
    jpeg = encode(Image.new("RGB", (40, 20), "white"), "JPEG", exif=exif)
    (page,) = load_pages(jpeg, LIMITS)
    assert page.size == (20, 40)


def test_cmyk_jpeg_becomes_rgb():
    (page,) = load_pages(encode(Image.new("CMYK", (10, 10), (0, 0, 0, 0)), "JPEG"), LIMITS)
    assert page.mode == "RGB"


def test_pdf_pages_are_rendered_grey_at_the_configured_dpi():
    images = [Image.new("L", (144, 72), 255), Image.new("L", (72, 72), 0)]
    pdf = encode(images[0], "PDF", save_all=True, append_images=images[1:], resolution=72)
    pages = load_pages(pdf, DecodeLimits(pdf_dpi=100))
    assert [p.mode for p in pages] == ["L", "L"]
    assert [p.size for p in pages] == [(200, 100), (100, 100)]
    assert pages[0].getpixel((50, 50)) == 255 and pages[1].getpixel((50, 50)) == 0


def test_500_page_pdf_fails_fast_without_rendering(monkeypatch):
    pdf = blank_pdf(500, 10, 10)

    def no_render(*args, **kwargs):
        raise AssertionError("a page was rendered")

    monkeypatch.setattr(decode._PdfPages, "_render", no_render)
    started = time.perf_counter()
    exc = reason(pdf)
    assert exc.reason_code == "too_many_pages"
    assert "500" in str(exc)
    assert time.perf_counter() - started < 0.5


def test_oversized_pdf_page_is_rendered_within_the_pixel_budget():
    (page,) = load_pages(blank_pdf(1), DecodeLimits(max_pixels=1_000_000))
    assert page.width * page.height <= 1_000_000
    assert page.width > 600  # about 100 dpi on a Letter page, still readable


def test_absurd_pdf_page_size_is_refused_before_rendering():
    assert reason(blank_pdf(1, 14_400, 14_400)).reason_code == "too_many_pixels"


def test_encrypted_pdf():
    exc = reason(encrypted_pdf())
    assert exc.reason_code == "unsupported_type"
    assert "password" in str(exc)


@pytest.mark.parametrize(
    "data",
    [
        b"%PDF-1.4\n this is not a PDF body",
        build_pdf(CATALOG)[:40],
    ],
)
def test_damaged_pdf(data):
    assert reason(data).reason_code == "truncated"


def test_pdf_without_pages():
    pdf = build_pdf([b"<< /Type /Catalog /Pages 2 0 R >>", b"<< /Type /Pages /Kids [] /Count 0 >>"])
    assert reason(pdf).reason_code == "empty"


@pytest.mark.filterwarnings("ignore::UserWarning")
def test_corrupted_files_never_leak_a_raw_exception(text_png):
    rng = random.Random(7)
    tiff = encode(Image.new("L", (64, 64), 200), "TIFF")
    jpeg = encode(Image.new("RGB", (64, 64), "white"), "JPEG")
    pdf = encode(Image.new("L", (64, 64), 255), "PDF")
    for original in (text_png, tiff, jpeg, pdf):
        for _ in range(12):
            data = bytearray(original)
            for _ in range(rng.randint(1, 8)):
                position = rng.randrange(8, len(data))
                data[position] = rng.randrange(256)
            with contextlib.suppress(UnreadableDocumentError):
                load_pages(bytes(data), DecodeLimits(max_pixels=5_000_000))
