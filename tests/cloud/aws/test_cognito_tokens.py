"""Real Cognito tokens (moto's user pool, RS256, JWKS over HTTP) against the app's verifier."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from tests.cloud.aws.apigw import CognitoPool, cognito_pool
from tests.cloud.aws.conftest import REGION, MotoServer
from tests.unit.api.conftest import make_app


@pytest.fixture(scope="module")
def pool(moto_server: MotoServer) -> CognitoPool:
    idp = moto_server.client("cognito-idp")
    return cognito_pool(idp, moto_server.endpoint, REGION, ("alice", "bob"), admins=("root",))


@pytest.fixture
def client(pool: CognitoPool, tmp_path: Path) -> Iterator[TestClient]:
    app, _source, _jobs = make_app(
        tmp_path,
        auth="required",
        auth_issuer=pool.issuer,
        auth_audience=pool.client_id,
        auth_jwks_url=pool.jwks_url,
    )
    with TestClient(app) as c:
        yield c


def bearer(pool: CognitoPool, user: str, kind: str = "AccessToken") -> dict[str, str]:
    return {"Authorization": f"Bearer {pool.token(user, kind)}"}


@pytest.mark.parametrize("kind", ["AccessToken", "IdToken"])
def test_cognito_access_and_id_tokens_are_accepted(client, pool, kind):
    response = client.post(
        "/v1/predict", json={"texts": ["Facture"]}, headers=bearer(pool, "alice", kind)
    )
    assert response.status_code == 200, response.text


def test_the_admin_group_opens_admin_routes_and_only_it(client, pool):
    assert client.get("/v1/models", headers=bearer(pool, "root")).status_code == 200
    assert client.get("/v1/monitoring", headers=bearer(pool, "root", "IdToken")).status_code == 200
    assert client.get("/v1/models", headers=bearer(pool, "alice")).status_code == 403


def test_ownership_holds_between_cognito_users(client, pool):
    pid = client.post(
        "/v1/predict", json={"texts": ["Facture"]}, headers=bearer(pool, "alice")
    ).json()["predictions"][0]["id"]
    path = f"/v1/predictions/{pid}/feedback"
    assert (
        client.post(path, json={"label": "invoice"}, headers=bearer(pool, "bob")).status_code == 404
    )
    assert (
        client.post(path, json={"label": "invoice"}, headers=bearer(pool, "root")).status_code
        == 201
    )


def test_a_token_for_another_app_client_is_refused(pool, tmp_path):
    app, _s, _j = make_app(
        tmp_path,
        auth="required",
        auth_issuer=pool.issuer,
        auth_audience="some-other-client",
        auth_jwks_url=pool.jwks_url,
    )
    with TestClient(app) as c:
        response = c.post("/v1/predict", json={"texts": ["x"]}, headers=bearer(pool, "alice"))
        assert response.status_code == 401
        assert "another application" in response.json()["error"]["message"]


def test_an_unreachable_jwks_is_503_not_an_open_door(pool, tmp_path):
    app, _s, _j = make_app(
        tmp_path,
        auth="required",
        auth_issuer=pool.issuer,
        auth_audience=pool.client_id,
        auth_jwks_url="http://127.0.0.1:9/jwks.json",
        auth_jwks_timeout_seconds=1,
    )
    with TestClient(app) as c:
        response = c.post("/v1/predict", json={"texts": ["x"]}, headers=bearer(pool, "alice"))
        assert response.status_code == 503
        assert "could not be fetched" in response.json()["error"]["message"]
