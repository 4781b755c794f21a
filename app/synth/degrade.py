"""Scan/photo degradation: rotation, blur, resolution loss, lighting, noise, JPEG artefacts.

All randomness comes from the `random.Random` passed in (numpy's generator is seeded from
it), so the same seed gives byte-identical pages.
"""

import io
import random

import numpy as np
from PIL import Image, ImageFilter

LEVELS = ("none", "light", "heavy")


def degrade(image: Image.Image, level: str, rng: random.Random) -> Image.Image:
    if level not in LEVELS:
        raise ValueError(f"unknown degrade level {level!r}; expected one of {LEVELS}")
    if level == "none":
        return image
    heavy = level == "heavy"
    np_rng = np.random.default_rng(rng.getrandbits(64))
    background = _background(image)

    angle = rng.uniform(-2.0, 2.0) if heavy else rng.uniform(-0.8, 0.8) * (rng.random() < 0.7)
    if abs(angle) > 0.05:
        # Bilinear is plenty for turns of a degree or two, and twice as fast as bicubic.
        image = image.rotate(
            angle, resample=Image.Resampling.BILINEAR, expand=False, fillcolor=background
        )
    if heavy and rng.random() < 0.6:
        # A low-resolution scan or photo, brought back to the nominal size.
        factor = rng.uniform(0.6, 0.85)
        small = (max(1, round(image.width * factor)), max(1, round(image.height * factor)))
        image = image.resize(small, Image.Resampling.BILINEAR).resize(
            image.size, Image.Resampling.BILINEAR
        )
    radius = rng.uniform(0.5, 1.0) if heavy else rng.uniform(0.2, 0.55) * (rng.random() < 0.6)
    if radius > 0.05:
        image = image.filter(ImageFilter.GaussianBlur(radius))

    contrast = rng.uniform(0.7, 0.9) if heavy else rng.uniform(0.9, 1.0)
    brightness = rng.uniform(-25, 20) if heavy else rng.uniform(-6, 6)
    sigma = rng.uniform(8, 16) if heavy else rng.uniform(1.5, 4.5)
    # Contrast shrinks towards paper white so the page does not turn grey as a whole; a
    # lookup table is far cheaper than float maths on a colour A4 page.
    lut = [min(255, max(0, round(255 - (255 - v) * contrast + brightness))) for v in range(256)]
    image = image.point(lut * len(image.getbands()))
    pixels = np.asarray(image, dtype=np.int16)
    height, width = pixels.shape[:2]
    noise = np_rng.standard_normal((height, width), dtype=np.float32) * sigma
    if heavy:
        if rng.random() < 0.5:
            noise += _illumination(np_rng, height, width)
        noise += _speckles(np_rng, height, width)
    grain = noise.astype(np.int16)  # one grain for all channels, like scanner noise
    pixels += grain if pixels.ndim == 2 else grain[:, :, None]
    np.clip(pixels, 0, 255, out=pixels)
    image = Image.fromarray(pixels.astype(np.uint8))

    if heavy:
        buffer = io.BytesIO()
        image.save(buffer, "JPEG", quality=rng.randint(25, 50))
        image = Image.open(io.BytesIO(buffer.getvalue())).copy()  # a plain in-memory image
    return image


def _background(image: Image.Image) -> int | tuple[int, ...]:
    """Colour of the top-left pixel: what rotation should reveal at the corners."""
    pixel = image.getpixel((0, 0))
    return pixel if isinstance(pixel, (int, tuple)) else 255  # type: ignore[return-value]


def _illumination(np_rng: np.random.Generator, height: int, width: int) -> np.ndarray:
    """Uneven lighting: a darkening ramp across the page, as from a phone photo.

    Kept mild: Tesseract binarises with one global threshold, and a ramp much stronger than
    this wipes out every word on pale pages (ID cards), which no longer tests anything.
    """
    strength = np_rng.uniform(4, 12)
    ys = np.linspace(0.0, 1.0, height, dtype=np.float32)[:, None]
    xs = np.linspace(0.0, 1.0, width, dtype=np.float32)[None, :]
    wx, wy = np_rng.uniform(-1, 1, size=2)
    ramp = wx * xs + wy * ys
    ramp -= ramp.max()
    return ramp * strength / max(abs(wx) + abs(wy), 1e-3)


def _speckles(np_rng: np.random.Generator, height: int, width: int) -> np.ndarray:
    """Dust and toner specks."""
    out = np.zeros((height, width), dtype=np.float32)
    count = int(height * width * 2e-4)
    ys = np_rng.integers(0, height, count)
    xs = np_rng.integers(0, width, count)
    out[ys, xs] = -np_rng.uniform(60, 160, count).astype(np.float32)
    return out
