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


def test_auth_required_with_an_issuer_but_no_audience_refuses_to_start(monkeypatch, capsys):
    monkeypatch.setenv("MLOPS_AUTH", "required")
    monkeypatch.setenv("MLOPS_AUTH_ISSUER", "https://issuer.example")
    assert main(["serve"]) == 2
    assert "MLOPS_AUTH_AUDIENCE" in capsys.readouterr().err


def test_a_cloud_deployment_cannot_turn_auth_off(monkeypatch, capsys):
    monkeypatch.setenv("MLOPS_CLOUD", "aws")
    monkeypatch.setenv("MLOPS_UPLOADS_BUCKET", "uploads")
    monkeypatch.setenv("MLOPS_RECORDS_TABLE", "records")
    monkeypatch.setenv("MLOPS_MLFLOW_TRACKING_URI", "http://mlflow:5000")
    monkeypatch.setenv("MLOPS_AUTH", "off")
    assert main(["serve"]) == 2
    assert "only be off in local mode" in capsys.readouterr().err


def test_a_cloud_deployment_names_the_resources_it_is_missing(monkeypatch, capsys):
    monkeypatch.setenv("MLOPS_CLOUD", "aws")
    monkeypatch.setenv("MLOPS_AUTH_ISSUER", "https://issuer.example")
    monkeypatch.setenv("MLOPS_AUTH_AUDIENCE", "api")
    assert main(["serve"]) == 2
    err = capsys.readouterr().err
    assert "MLOPS_UPLOADS_BUCKET, MLOPS_RECORDS_TABLE, MLOPS_MLFLOW_TRACKING_URI" in err
    assert len(err.strip().splitlines()) == 1


def test_token_is_refused_outside_the_local_dev_issuer(monkeypatch, capsys):
    monkeypatch.setenv("MLOPS_AUTH_ISSUER", "https://issuer.example")
    monkeypatch.setenv("MLOPS_AUTH_AUDIENCE", "api")
    assert main(["token"]) == 2
    assert "identity provider" in capsys.readouterr().err


def test_train_without_tesseract_stops_with_the_install_hint(monkeypatch, tmp_path, capsys):
    monkeypatch.setenv("MLOPS_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("PATH", str(tmp_path))  # no tesseract binary to be found
    code = main(["train", "--generate", "10", "--heldout", "1", "--quiet"])
    assert code == 2
    assert "apt-get install" in capsys.readouterr().err


def test_a_cloud_without_its_adapters_stops_with_one_line(monkeypatch, capsys):
    monkeypatch.setenv("MLOPS_CLOUD", "gcp")
    monkeypatch.setenv("MLOPS_AUTH_ISSUER", "https://issuer.example")
    monkeypatch.setenv("MLOPS_AUTH_AUDIENCE", "api")
    assert main(["serve"]) == 2
    err = capsys.readouterr().err
    assert "MLOPS_CLOUD=gcp" in err and len(err.strip().splitlines()) == 1


def test_naming_an_issuer_turns_auth_on_locally(monkeypatch):
    from app.settings import load_settings

    monkeypatch.setenv("MLOPS_AUTH_ISSUER", "https://issuer.example")
    monkeypatch.setenv("MLOPS_AUTH_AUDIENCE", "api")
    assert load_settings().auth_required
    monkeypatch.setenv("MLOPS_AUTH", "off")
    assert not load_settings().auth_required


def test_token_minutes_out_of_range_is_one_short_error(capsys):
    with pytest.raises(SystemExit):
        main(["token", "--minutes", "0"])
    err = capsys.readouterr().err
    assert "from 1 to 1440" in err and len(err) < 400
