"""The /mlflow authorizer with real Cognito tokens (moto's user pool, JWKS over HTTP)."""

from __future__ import annotations

import copy
import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from app.settings import get_settings
from functions.aws import admin_authorizer
from tests.cloud.aws.apigw import CognitoPool, cognito_pool
from tests.cloud.aws.conftest import REGION, MotoServer

EVENT = json.loads(
    (Path(__file__).parents[2] / "events" / "aws" / "apigw_v2_authorizer_request.json").read_text()
)


@pytest.fixture(scope="module")
def pool(moto_server: MotoServer) -> CognitoPool:
    idp = moto_server.client("cognito-idp")
    return cognito_pool(
        idp, moto_server.endpoint, REGION, ("alice",), admins=("root",), name="admin-authorizer"
    )


def configure(monkeypatch: pytest.MonkeyPatch, **env: str) -> None:
    """A new execution environment with the authorizer's settings."""
    monkeypatch.delenv("MLOPS_CLOUD", raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    get_settings.cache_clear()
    admin_authorizer.verifier.cache_clear()


@pytest.fixture(autouse=True)
def _forget_settings() -> Iterator[None]:
    """The environment is restored after each test; what was built from it goes too."""
    yield
    get_settings.cache_clear()
    admin_authorizer.verifier.cache_clear()


@pytest.fixture
def authorizer(pool: CognitoPool, monkeypatch: pytest.MonkeyPatch) -> None:
    configure(
        monkeypatch,
        MLOPS_AUTH_ISSUER=pool.issuer,
        MLOPS_AUTH_AUDIENCE=pool.client_id,
        MLOPS_AUTH_JWKS_URL=pool.jwks_url,
    )


def authorize(authorization: str | None) -> dict[str, bool]:
    event = copy.deepcopy(EVENT)
    event["headers"].pop("authorization")
    event["identitySource"] = []
    if authorization is not None:
        event["headers"]["authorization"] = authorization
        event["identitySource"] = [authorization]
    return admin_authorizer.handler(event, None)


@pytest.mark.parametrize("kind", ["AccessToken", "IdToken"])
def test_an_admin_token_is_authorized(pool, authorizer, kind):
    assert authorize(f"Bearer {pool.token('root', kind)}") == {"isAuthorized": True}


def test_a_valid_token_outside_the_admin_group_is_refused(pool, authorizer):
    assert authorize(f"Bearer {pool.tokens['alice']}") == {"isAuthorized": False}


@pytest.mark.parametrize(
    "authorization", [None, "", "Bearer ", "Bearer not-a-jwt", "Basic cm9vdDpodW50ZXIy"]
)
def test_no_token_or_a_garbage_one_is_refused(authorizer, authorization):
    assert authorize(authorization) == {"isAuthorized": False}


def test_a_token_for_another_app_client_is_refused(pool, monkeypatch):
    configure(
        monkeypatch,
        MLOPS_AUTH_ISSUER=pool.issuer,
        MLOPS_AUTH_AUDIENCE="another-client",
        MLOPS_AUTH_JWKS_URL=pool.jwks_url,
    )
    assert authorize(f"Bearer {pool.id_tokens['root']}") == {"isAuthorized": False}


def test_unreachable_keys_refuse_rather_than_open(pool, monkeypatch):
    configure(
        monkeypatch,
        MLOPS_AUTH_ISSUER=pool.issuer,
        MLOPS_AUTH_AUDIENCE=pool.client_id,
        MLOPS_AUTH_JWKS_URL="http://127.0.0.1:9/jwks.json",
        MLOPS_AUTH_JWKS_TIMEOUT_SECONDS="1",
    )
    assert authorize(f"Bearer {pool.tokens['root']}") == {"isAuthorized": False}
