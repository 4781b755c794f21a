import csv
import subprocess
import sys
from pathlib import Path

import pypdfium2 as pdfium
import pytest

from app.domain.labels import DOCUMENT_CLASSES
from app.synth.dataset import MANIFEST_COLUMNS, main, write_dataset

ROOT = Path(__file__).resolve().parents[3]


def _manifest(out: Path) -> list[dict[str, str]]:
    with open(out / "manifest.csv", newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def test_write_dataset_layout_and_manifest(tmp_path: Path) -> None:
    out = write_dataset(tmp_path / "ds", per_class=3, seed=5, dpi=72, progress=False)
    assert out == tmp_path / "ds"
    rows = _manifest(out)
    assert tuple(rows[0]) == MANIFEST_COLUMNS
    assert len(rows) == 3 * len(DOCUMENT_CLASSES)
    assert sorted(p.name for p in out.iterdir()) == sorted([*DOCUMENT_CLASSES, "manifest.csv"])
    for row in rows:
        path = out / row["path"]
        assert path.is_file() and path.stat().st_size > 0
        assert path.parent.name == row["label"]
        assert path.name.startswith(f"{row['label']}-{row['lang']}-")
        assert path.suffix == f".{row['format']}"
        assert row["text"].strip()
        if row["format"] == "pdf":
            assert len(pdfium.PdfDocument(path)) == int(row["pages"])
        else:
            assert row["pages"] == "1"
    # Formats rotate within each class, so every class gets all three.
    for label in DOCUMENT_CLASSES:
        assert {r["format"] for r in rows if r["label"] == label} == {"png", "jpg", "pdf"}


def test_write_dataset_is_deterministic(tmp_path: Path) -> None:
    a = write_dataset(tmp_path / "a", per_class=1, seed=9, dpi=72, progress=False)
    b = write_dataset(tmp_path / "b", per_class=1, seed=9, dpi=72, progress=False)
    for row in _manifest(a):
        assert (a / row["path"]).read_bytes() == (b / row["path"]).read_bytes()
    assert _manifest(a) == _manifest(b)


def test_write_dataset_rejects_bad_arguments(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="formats"):
        write_dataset(tmp_path, per_class=1, seed=0, formats=("tiff",), progress=False)
    with pytest.raises(ValueError, match="langs"):
        write_dataset(tmp_path, per_class=1, seed=0, langs=("de",), progress=False)


def test_cli_writes_a_dataset(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    argv = [
        str(tmp_path / "out"),
        "--per-class",
        "1",
        "--seed",
        "3",
        "--dpi",
        "72",
        "--formats",
        "png",
        "--langs",
        "fr",
        "--degrade",
        "none",
        "--quiet",
    ]
    assert main(argv) == 0
    rows = _manifest(tmp_path / "out")
    assert {r["format"] for r in rows} == {"png"}
    assert {r["lang"] for r in rows} == {"fr"}
    assert "manifest.csv" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--per-class", "2", "--formats", "png,gif"], "unknown format 'gif'"),
        (["--per-class", "2", "--langs", "de"], "unknown language 'de'"),
        (["--per-class", "0"], "outside 1.."),
        (["--per-class", "x"], "not an integer"),
        (["--per-class", "2", "--degrade", "extreme"], "invalid choice: 'extreme'"),
        (["--per-class", "2", "--dpi", "10"], "outside 50..1200"),
        ([], "required: --per-class"),
    ],
)
def test_cli_bad_arguments_exit_2_with_a_clear_message(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], args: list[str], message: str
) -> None:
    with pytest.raises(SystemExit) as excinfo:
        main([str(tmp_path / "out"), *args])
    assert excinfo.value.code == 2
    err = capsys.readouterr().err
    assert message in err
    assert not (tmp_path / "out").exists()


def test_python_dash_m_entry_point(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "app.synth", str(tmp_path), "--per-class", "1", "--formats", "bmp"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 2
    assert "unknown format 'bmp'" in done.stderr.splitlines()[-1]


def test_importing_the_package_is_free() -> None:
    code = "import sys, app.synth; print(any(m.startswith(('PIL', 'faker')) for m in sys.modules))"
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True)
    assert done.stdout.strip() == "False", done.stderr
