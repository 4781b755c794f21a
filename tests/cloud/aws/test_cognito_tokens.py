"""Real Cognito tokens (moto's user pool, RS256, JWKS over HTTP) against the app's verifier."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import boto3
import moto.server as moto_server
import pytest
from fastapi.testclient import TestClient

from tests.unit.api.conftest import make_app

PASSWORD = "Corr3ct-Horse-Battery!"


@dataclass
class UserPool:
    issuer: str
    jwks_url: str
    client_id: str
    tokens: dict[str, dict[str, str]]  # user -> {"AccessToken": ..., "IdToken": ...}


@pytest.fixture(scope="module")
def pool() -> Iterator[UserPool]:
    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    server = moto_server.ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    endpoint = f"http://{host}:{port}"
    try:
        idp = boto3.client(
            "cognito-idp",
            region_name="us-east-1",
            endpoint_url=endpoint,
            aws_access_key_id="testing",
            aws_secret_access_key="testing",
        )
        pool_id = idp.create_user_pool(PoolName="documents")["UserPool"]["Id"]
        client_id = idp.create_user_pool_client(
            UserPoolId=pool_id,
            ClientName="web",
            GenerateSecret=False,
            ExplicitAuthFlows=["ALLOW_USER_PASSWORD_AUTH", "ALLOW_REFRESH_TOKEN_AUTH"],
        )["UserPoolClient"]["ClientId"]
        idp.create_group(UserPoolId=pool_id, GroupName="admin")
        tokens = {}
        for user in ("alice", "bob", "root"):
            idp.admin_create_user(UserPoolId=pool_id, Username=user, MessageAction="SUPPRESS")
            idp.admin_set_user_password(
                UserPoolId=pool_id, Username=user, Password=PASSWORD, Permanent=True
            )
            if user == "root":
                idp.admin_add_user_to_group(UserPoolId=pool_id, Username=user, GroupName="admin")
            tokens[user] = idp.initiate_auth(
                ClientId=client_id,
                AuthFlow="USER_PASSWORD_AUTH",
                AuthParameters={"USERNAME": user, "PASSWORD": PASSWORD},
            )["AuthenticationResult"]
        yield UserPool(
            # Cognito's issuer is its public URL; the keys come from the emulator.
            issuer=f"https://cognito-idp.us-east-1.amazonaws.com/{pool_id}",
            jwks_url=f"{endpoint}/{pool_id}/.well-known/jwks.json",
            client_id=client_id,
            tokens=tokens,
        )
    finally:
        server.stop()


@pytest.fixture
def client(pool: UserPool, tmp_path: Path) -> Iterator[TestClient]:
    app, _source, _jobs = make_app(
        tmp_path,
        auth="required",
        auth_issuer=pool.issuer,
        auth_audience=pool.client_id,
        auth_jwks_url=pool.jwks_url,
    )
    with TestClient(app) as c:
        yield c


def bearer(pool: UserPool, user: str, kind: str = "AccessToken") -> dict[str, str]:
    return {"Authorization": f"Bearer {pool.tokens[user][kind]}"}


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
