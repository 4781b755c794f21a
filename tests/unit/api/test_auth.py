"""Every way a token can be wrong is a 401; roles give 403; other people's things are 404."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from fastapi.testclient import TestClient

from app.api.auth import bearer
from app.auth.tokens import StaticKeys, TokenPolicy, TokenVerifier
from tests.unit.api.conftest import make_app

ISSUER = "https://idp.example/pool-1"
CLIENT = "client-abc"


def jwk(public_key, kid: str, alg: str) -> dict:
    algorithm = jwt.algorithms.RSAAlgorithm if alg == "RS256" else jwt.algorithms.ECAlgorithm
    return {**algorithm.to_jwk(public_key, as_dict=True), "kid": kid, "alg": alg, "use": "sig"}


RSA_KEY = rsa.generate_private_key(public_exponent=65537, key_size=2048)
EC_KEY = ec.generate_private_key(ec.SECP256R1())
OTHER_KEY = rsa.generate_private_key(public_exponent=65537, key_size=2048)
JWKS = {
    "keys": [jwk(RSA_KEY.public_key(), "rsa-1", "RS256"), jwk(EC_KEY.public_key(), "ec-1", "ES256")]
}


def token(
    sub: str = "alice",
    *,
    key=RSA_KEY,
    alg: str = "RS256",
    kid: str = "rsa-1",
    groups: list[str] | None = None,
    **overrides: object,
) -> str:
    now = int(time.time())
    claims = {
        "iss": ISSUER,
        "sub": sub,
        "client_id": CLIENT,
        "token_use": "access",
        "iat": now,
        "exp": now + 600,
        "cognito:groups": groups or [],
        **overrides,
    }
    claims = {k: v for k, v in claims.items() if v is not None}
    return jwt.encode(claims, key, algorithm=alg, headers={"kid": kid})


@pytest.fixture
def client(tmp_path: Path) -> Iterator[TestClient]:
    app, _source, _jobs = make_app(tmp_path)
    policy = TokenPolicy(issuer=ISSUER, audiences=(CLIENT, "api://docs"), leeway_seconds=5)
    app.state.authenticate = bearer(TokenVerifier(policy, StaticKeys(JWKS)))
    with TestClient(app) as c:
        yield c


def call(client: TestClient, bearer_token: str | None, path: str = "/v1/predict"):
    headers = {"Authorization": f"Bearer {bearer_token}"} if bearer_token is not None else {}
    return client.post(path, json={"texts": ["Facture 12"]}, headers=headers)


def hs256_with_the_public_key_as_secret() -> str:
    pem = RSA_KEY.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    header = jwt.utils.base64url_encode(b'{"alg":"HS256","typ":"JWT","kid":"rsa-1"}')
    now = int(time.time())
    body = jwt.utils.base64url_encode(
        f'{{"iss":"{ISSUER}","sub":"mallory","client_id":"{CLIENT}","exp":{now + 600}}}'.encode()
    )
    import hashlib
    import hmac

    signature = hmac.new(pem, header + b"." + body, hashlib.sha256).digest()
    return b".".join([header, body, jwt.utils.base64url_encode(signature)]).decode()


def raw_token(header: dict) -> str:
    import json

    parts = [json.dumps(header).encode(), b'{"sub": "x"}', b"sig"]
    return ".".join(jwt.utils.base64url_encode(p).decode() for p in parts)


def alg_none() -> str:
    now = int(time.time())
    return jwt.encode(
        {"iss": ISSUER, "sub": "mallory", "client_id": CLIENT, "exp": now + 600},
        key=None,
        algorithm="none",
        headers={"kid": "rsa-1"},
    )


def test_valid_rs256_and_es256_tokens_are_accepted(client):
    assert call(client, token()).status_code == 200
    assert call(client, token(key=EC_KEY, alg="ES256", kid="ec-1")).status_code == 200
    # An ID token names the client in `aud` instead of `client_id`.
    id_token = token(client_id=None, aud=["api://docs"], token_use="id")
    assert call(client, id_token).status_code == 200


@pytest.mark.parametrize(
    ("name", "make", "message"),
    [
        ("no token", lambda: None, "Sign in first"),
        ("not a JWT", lambda: "not-a-jwt", "malformed"),
        ("object as kid", lambda: raw_token({"alg": "RS256", "kid": {}}), "malformed"),
        ("unknown crit", lambda: raw_token({"alg": "RS256", "crit": ["x"]}), "malformed"),
        ("another key", lambda: token(key=OTHER_KEY), "signature"),
        ("unknown kid", lambda: token(kid="rotated-away"), "key this API does not know"),
        ("expired", lambda: token(exp=int(time.time()) - 60), "expired"),
        ("not yet valid", lambda: token(nbf=int(time.time()) + 600), "not valid yet"),
        ("wrong issuer", lambda: token(iss="https://evil.example"), "issuer"),
        ("wrong client", lambda: token(client_id="other-app"), "another application"),
        ("wrong audience", lambda: token(client_id=None, aud="other-api"), "another application"),
        ("no audience", lambda: token(client_id=None), "another application"),
        ("no subject", lambda: token(sub=None), "'sub'"),
        ("refresh-token use", lambda: token(token_use="refresh"), "cannot be used"),
        ("alg none", alg_none, "not accepted"),
        ("HS256 keyed with the public key", hs256_with_the_public_key_as_secret, "not accepted"),
    ],
)
def test_bad_tokens_are_401_in_the_error_shape(client, name, make, message):
    response = call(client, make())
    assert response.status_code == 401, name
    assert response.json()["error"]["code"] == "unauthorized"
    assert message in response.json()["error"]["message"], response.json()
    assert response.headers["www-authenticate"].startswith("Bearer")


def test_a_basic_scheme_is_not_a_bearer_token(client):
    response = client.post(
        "/v1/predict", json={"texts": ["x"]}, headers={"Authorization": "Basic YWxpY2U6cHc="}
    )
    assert response.status_code == 401


def test_expiry_has_a_small_leeway(client):
    assert call(client, token(exp=int(time.time()) - 2)).status_code == 200


def test_health_and_metrics_need_no_token(client):
    assert client.get("/health").status_code == 200
    assert client.get("/metrics").status_code == 200


def test_users_get_403_on_admin_routes_and_admins_get_in(client):
    user = {"Authorization": f"Bearer {token('bob')}"}
    admin = {"Authorization": f"Bearer {token('root', groups=['admin'])}"}
    for path in ("/v1/models", "/v1/monitoring", "/v1/training-jobs"):
        assert client.get(path, headers=user).status_code == 403
        assert client.get(path, headers=admin).status_code == 200


def test_another_users_prediction_is_404_and_admins_see_all(client):
    alice = {"Authorization": f"Bearer {token('alice')}"}
    bob = {"Authorization": f"Bearer {token('bob')}"}
    admin = {"Authorization": f"Bearer {token('root', groups=['admin'])}"}
    pid = client.post("/v1/predict", json={"texts": ["Facture"]}, headers=alice).json()[
        "predictions"
    ][0]["id"]
    path = f"/v1/predictions/{pid}/feedback"
    assert client.post(path, json={"label": "invoice"}, headers=bob).status_code == 404
    assert client.post(path, json={"label": "invoice"}, headers=alice).status_code == 201
    assert client.post(path, json={"label": "invoice"}, headers=admin).status_code == 201


def test_another_users_document_is_404(client):
    alice = {"Authorization": f"Bearer {token('alice')}"}
    bob = {"Authorization": f"Bearer {token('bob')}"}
    from PIL import Image

    from tests.unit.ocr.samples import encode

    png = encode(Image.new("RGB", (64, 64), "white"))
    doc = client.post(
        "/v1/documents", files={"file": ("a.png", png, "image/png")}, headers=alice
    ).json()["id"]
    assert client.get(f"/v1/documents/{doc}", headers=alice).status_code == 200
    response = client.get(f"/v1/documents/{doc}", headers=bob)
    assert response.status_code == 404
    # Indistinguishable from a document that does not exist.
    missing = client.get("/v1/documents/0123456789abcdef", headers=bob).json()["error"]
    assert response.json()["error"]["message"] == missing["message"].replace(
        "0123456789abcdef", doc
    )


def test_groups_may_come_as_a_string_claim(tmp_path):
    policy = TokenPolicy(issuer=ISSUER, audiences=(CLIENT,), group_claims=("roles",))
    verifier = TokenVerifier(policy, StaticKeys(JWKS))
    assert verifier.verify(token(roles="reader admin")).is_admin
    assert not verifier.verify(token(roles="reader", groups=["admin"])).is_admin


def test_behind_gcp_api_gateway_the_callers_token_is_read_from_the_forwarded_header(tmp_path):
    """API Gateway sends its own Google ID token in Authorization and the caller's in
    X-Forwarded-Authorization; the app verifies the caller's."""
    app, _source, _jobs = make_app(tmp_path)
    policy = TokenPolicy(issuer=ISSUER, audiences=(CLIENT,), leeway_seconds=5)
    app.state.authenticate = bearer(
        TokenVerifier(policy, StaticKeys(JWKS)), "x-forwarded-authorization"
    )
    gateway = {"Authorization": f"Bearer {token(iss='https://accounts.google.com')}"}
    with TestClient(app) as c:
        body = {"texts": ["Facture 12"]}
        assert c.post("/v1/predict", json=body, headers=gateway).status_code == 401
        forwarded = {**gateway, "X-Forwarded-Authorization": f"Bearer {token()}"}
        assert c.post("/v1/predict", json=body, headers=forwarded).status_code == 200


def test_liveness_answers_without_a_model_or_a_token(tmp_path):
    app, source, _jobs = make_app(tmp_path)
    source.aliases.clear()
    policy = TokenPolicy(issuer=ISSUER, audiences=(CLIENT,))
    app.state.authenticate = bearer(TokenVerifier(policy, StaticKeys(JWKS)))
    with TestClient(app) as c:
        assert c.get("/health").status_code == 503
        assert c.get("/livez").json() == {"status": "alive"}
        assert "/livez" not in c.get("/openapi.json").json()["paths"]


@pytest.mark.parametrize(
    "claims",
    [
        {"aud": 5},
        {"aud": [5, None]},
        {"aud": {"client": CLIENT}},
        {"client_id": {"nested": "dict"}},
        {"client_id": ["a", "list"]},
        {"token_use": ["access"]},
        {"token_use": {"k": 1}},
        {"sub": {"nested": "dict"}},
        {"sub": 42},
    ],
    ids=repr,
)
def test_a_signed_token_with_claims_of_unexpected_types_is_401(client, claims):
    """A token signed by the trusted issuer may still carry claims of any JSON type;
    none of them may turn into a 500."""
    answer = call(client, token(**claims))
    assert answer.status_code == 401, answer.text
    assert answer.json()["error"]["code"] == "unauthorized"


@pytest.mark.parametrize(
    "claims",
    [
        {"cognito:groups": {"admin": True}},
        {"cognito:groups": [["admin"]]},
        {"cognito:groups": [{"name": "admin"}, 7, None]},
        {"roles": 7},
    ],
    ids=repr,
)
def test_group_claims_of_another_shape_grant_nothing_and_refuse_nothing(client, claims):
    """Some issuers put maps or numbers under ``roles``: such a claim makes no admin,
    and the user still gets in."""
    assert call(client, token(**claims)).status_code == 200
    admin_only = client.get("/v1/models", headers={"Authorization": f"Bearer {token(**claims)}"})
    assert admin_only.status_code == 403
