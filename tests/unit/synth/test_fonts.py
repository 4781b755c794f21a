import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from app.domain.labels import DOCUMENT_CLASSES
from app.synth import fonts
from app.synth.documents import make_document
from app.synth.render import render_pages

DEJAVU = Path("/usr/share/fonts/truetype/dejavu")


@pytest.fixture
def font_dirs(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Lets a test point font discovery elsewhere; caches are reset around it."""
    fonts.families.cache_clear()
    yield
    monkeypatch.undo()
    fonts.families.cache_clear()


def test_installed_families_have_regular_and_bold_faces() -> None:
    found = fonts.families()
    assert found
    for family in found:
        assert os.path.isfile(family.regular) and os.path.isfile(family.bold)
    assert any(f.mono for f in found)
    assert any(not f.mono for f in found)


@pytest.mark.skipif(not DEJAVU.is_dir(), reason="DejaVu fonts are not installed")
def test_works_with_dejavu_only(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, font_dirs: None
) -> None:
    (tmp_path / "dejavu").symlink_to(DEJAVU)
    monkeypatch.setattr(fonts, "FONT_DIRS", (str(tmp_path),))
    names = {f.name for f in fonts.families()}
    assert names and all(name.startswith("DejaVu") for name in names)
    for label in DOCUMENT_CLASSES:
        assert render_pages(make_document(label, "fr", 1), dpi=72)


def test_falls_back_to_pillow_font_without_any_font(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, font_dirs: None
) -> None:
    monkeypatch.setattr(fonts, "FONT_DIRS", (str(tmp_path),))
    assert [f.name for f in fonts.families()] == ["Pillow default"]
    for label in DOCUMENT_CLASSES:
        assert render_pages(make_document(label, "en", 1), dpi=72)
