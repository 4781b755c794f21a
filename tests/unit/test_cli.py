"""The `mlops` command line, as a user types it."""

import pytest

from app.cli import main
from app.domain.labels import DOCUMENT_CLASSES


def test_generate_writes_one_folder_per_class(tmp_path):
    assert main(["generate", str(tmp_path), "--per-class", "1", "--formats", "jpg", "--quiet"]) == 0
    assert sorted(p.name for p in tmp_path.iterdir() if p.is_dir()) == sorted(DOCUMENT_CLASSES)
    assert len(list(tmp_path.rglob("*.jpg"))) == len(DOCUMENT_CLASSES)


def test_generate_bad_format_exits_2_naming_the_command(tmp_path, capsys):
    with pytest.raises(SystemExit) as info:
        main(["generate", str(tmp_path), "--per-class", "1", "--formats", "gif"])
    assert info.value.code == 2
    assert (
        "mlops generate: error: argument --formats: unknown format 'gif'" in capsys.readouterr().err
    )


def test_train_rejects_a_non_positive_generate(capsys):
    assert main(["train", "--generate", "0"]) == 2
    assert "--generate must be at least 1" in capsys.readouterr().err
