import subprocess
import sys

import pytest

from app.settings import Cloud, SettingsError, load_settings


def test_defaults_are_the_local_embedded_mode(monkeypatch):
    for key in list(__import__("os").environ):
        if key.startswith("MLOPS_"):
            monkeypatch.delenv(key)
    settings = load_settings()
    assert settings.cloud is Cloud.LOCAL
    assert settings.tracking_uri.startswith("sqlite:///")
    assert settings.artifact_root.startswith("file://")
    assert settings.port == 8000 and settings.host == "127.0.0.1"


def test_environment_uses_the_mlops_prefix(monkeypatch):
    monkeypatch.setenv("MLOPS_MAX_PDF_PAGES", "3")
    monkeypatch.setenv("MLOPS_OCR_ENGINE", "rapidocr")
    settings = load_settings()
    assert settings.max_pdf_pages == 3 and settings.ocr_engine.value == "rapidocr"


@pytest.mark.parametrize(
    ("name", "value", "expected"),
    [
        ("MLOPS_PORT", "eighty", "MLOPS_PORT"),
        ("MLOPS_CLOUD", "openstack", "MLOPS_CLOUD"),
        ("MLOPS_MAX_UPLOAD_BYTES", "-1", "MLOPS_MAX_UPLOAD_BYTES"),
        ("MLOPS_LOG_LEVEL", "loud", "log_level"),
    ],
)
def test_bad_settings_fail_with_one_line_naming_the_variable(monkeypatch, name, value, expected):
    monkeypatch.setenv(name, value)
    with pytest.raises(SettingsError) as info:
        load_settings()
    message = str(info.value)
    assert "\n" not in message and expected in message


def test_mlops_cli_exits_2_with_one_line_on_bad_settings(tmp_path):
    result = subprocess.run(
        [sys.executable, "-m", "app.cli", "serve"],
        env={"MLOPS_PORT": "eighty", "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        timeout=60,
        cwd=tmp_path,
        check=False,
    )
    assert result.returncode == 2
    assert result.stderr.strip().count("\n") == 0
    assert "MLOPS_PORT" in result.stderr


AUTH = {"auth_issuer": "https://issuer.example.com", "auth_audience": "api"}


@pytest.mark.parametrize(
    ("cloud", "given", "missing"),
    [
        ("aws", {}, ["MLOPS_UPLOADS_BUCKET", "MLOPS_RECORDS_TABLE", "MLOPS_MLFLOW_TRACKING_URI"]),
        (
            "azure",
            {"uploads_bucket": "uploads"},
            [
                "MLOPS_AZURE_STORAGE_ACCOUNT_URL or MLOPS_AZURE_STORAGE_CONNECTION_STRING",
                "MLOPS_AZURE_COSMOS_ENDPOINT",
                "MLOPS_MLFLOW_TRACKING_URI",
            ],
        ),
        ("gcp", {"gcp_project": "p"}, ["MLOPS_UPLOADS_BUCKET", "MLOPS_MLFLOW_TRACKING_URI"]),
    ],
)
def test_a_cloud_names_the_settings_it_cannot_start_without(cloud, given, missing):
    with pytest.raises(SettingsError) as info:
        load_settings(cloud=cloud, **given, **AUTH)
    message = str(info.value)
    assert f"MLOPS_CLOUD={cloud} needs {', '.join(missing)}" in message


@pytest.mark.parametrize(
    ("cloud", "given"),
    [
        (
            "azure",
            {
                "uploads_bucket": "uploads",
                "azure_storage_account_url": "https://docs.blob.core.windows.net",
                "azure_cosmos_endpoint": "https://records.documents.azure.com:443/",
            },
        ),
        (
            "azure",
            {
                "uploads_bucket": "u",
                "azure_storage_connection_string": "UseDevelopmentStorage=true",
                "azure_cosmos_endpoint": "https://c.documents.azure.com",
            },
        ),
        ("gcp", {"uploads_bucket": "uploads-1a2b", "gcp_project": "mlops-prod"}),
    ],
)
def test_a_cloud_starts_with_its_settings(cloud, given):
    settings = load_settings(
        cloud=cloud, mlflow_tracking_uri="https://mlflow.internal/mlflow", **given, **AUTH
    )
    assert settings.cloud.value == cloud and settings.auth_required


@pytest.mark.parametrize("host", ["0.0.0.0", "::", "192.0.2.10", "mlops.example.com"])
def test_auth_off_on_a_network_address_refuses_to_start(monkeypatch, host):
    """With auth off every caller is the local admin: on an address others can reach,
    that hands training and promotion to the network."""
    for key in list(__import__("os").environ):
        if key.startswith("MLOPS_"):
            monkeypatch.delenv(key)
    with pytest.raises(SettingsError) as info:
        load_settings(host=host)
    message = str(info.value)
    assert "\n" not in message
    assert "MLOPS_AUTH=required" in message and "MLOPS_AUTH=off-insecure" in message
    with pytest.raises(SettingsError):
        load_settings(host=host, auth="off")
    opted_in = load_settings(host=host, auth="off-insecure")
    assert not opted_in.auth_required
    assert load_settings(host=host, auth="required").auth_required


@pytest.mark.parametrize("host", ["127.0.0.1", "127.0.0.2", "localhost", "::1"])
def test_auth_off_on_loopback_starts(monkeypatch, host):
    for key in list(__import__("os").environ):
        if key.startswith("MLOPS_"):
            monkeypatch.delenv(key)
    assert not load_settings(host=host).auth_required
