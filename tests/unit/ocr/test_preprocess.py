import pytest
from PIL import Image

from app.ocr.preprocess import deskew, downscale_for_ocr, estimate_line_height, estimate_skew
from tests.unit.ocr.samples import ENGLISH, render_text

TEXT = " ".join([ENGLISH] * 3)


@pytest.mark.parametrize("font_px", [25, 46, 70])  # 6, 11 and 17 pt at 300 dpi
def test_line_height_follows_the_font_size(font_px):
    image, _ = render_text(TEXT, width=2000, font_px=font_px)
    height = estimate_line_height(image)
    assert height is not None
    assert 0.7 * font_px <= height <= 1.15 * font_px


def test_blank_or_tiny_pages_have_no_estimate():
    assert estimate_line_height(Image.new("L", (1000, 1000), 255)) is None
    assert estimate_line_height(Image.new("L", (10, 10), 0)) is None


def test_large_print_is_shrunk_to_the_target_and_small_print_is_left_alone():
    large, _ = render_text(TEXT, width=2400, font_px=60)
    shrunk = downscale_for_ocr(large, 24)
    assert shrunk.width < large.width * 0.6
    assert 20 <= (estimate_line_height(shrunk) or 0) <= 30

    small, _ = render_text(TEXT, width=1200, font_px=22)
    assert downscale_for_ocr(small, 24) is small


@pytest.mark.parametrize("tilt", [-2.0, -0.6, 1.5])
def test_skew_is_measured_and_removed(tilt):
    page, _ = render_text(TEXT, width=1400, font_px=24)
    tilted = page.rotate(tilt, resample=Image.Resampling.BILINEAR, fillcolor=255)
    assert estimate_skew(tilted) == pytest.approx(-tilt, abs=0.15)
    assert abs(estimate_skew(deskew(tilted))) <= 0.15


def test_straight_or_blank_pages_are_not_rotated():
    page, _ = render_text(TEXT, width=1400, font_px=24)
    assert deskew(page) is page
    assert estimate_skew(Image.new("L", (500, 500), 255)) == 0.0
