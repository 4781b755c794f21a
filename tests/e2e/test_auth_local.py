"""`MLOPS_AUTH=required` locally: the dev issuer and `mlops token`, end to end."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator

import pytest

from tests.e2e.conftest import AppProcess, TrainedRegistry


@pytest.fixture(scope="module")
def secured(trained: TrainedRegistry) -> Iterator[AppProcess]:
    process = AppProcess(trained.data_dir, MLOPS_AUTH="required").start()
    yield process
    process.stop()


def mint(trained: TrainedRegistry, *args: str) -> str:
    result = subprocess.run(
        [sys.executable, "-m", "app.cli", "token", *args],
        env={**os.environ, "MLOPS_DATA_DIR": str(trained.data_dir)},
        capture_output=True,
        text=True,
        check=True,
    )
    assert "dev-only" in result.stderr
    return result.stdout.strip()


def test_the_start_up_says_auth_is_on_and_how_to_get_a_token(secured):
    secured.printed_commands()
    output = "".join(secured.output)
    assert "local DEV issuer" in output
    assert "mlops token" in output


def test_requests_need_a_token_from_mlops_token(secured, trained):
    with secured.client() as client:
        assert client.get("/health").status_code == 200
        refused = client.post("/v1/predict", json={"texts": ["Facture"]})
        assert refused.status_code == 401
        user = {"Authorization": f"Bearer {mint(trained, '--sub', 'alice')}"}
        admin = {"Authorization": f"Bearer {mint(trained, '--sub', 'ops', '--admin')}"}
        assert (
            client.post("/v1/predict", json={"texts": ["Facture"]}, headers=user).status_code == 200
        )
        assert client.get("/v1/models", headers=user).status_code == 403
        assert client.get("/v1/models", headers=admin).status_code == 200
