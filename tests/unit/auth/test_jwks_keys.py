"""The issuer's key set over HTTP: fetched once, refetched for a rotated key, not flooded."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa

from app.auth.tokens import (
    AuthUnavailableError,
    InvalidTokenError,
    JwksKeys,
    TokenPolicy,
    TokenVerifier,
)

ISSUER = "https://idp.example"


class Issuer:
    """Serves a JWKS whose keys the test rotates, and counts the fetches."""

    def __init__(self) -> None:
        self.keys: dict[str, rsa.RSAPrivateKey] = {}
        self.fetches = 0
        self.add("k1")

    def add(self, kid: str) -> None:
        self.keys[kid] = rsa.generate_private_key(public_exponent=65537, key_size=2048)

    def jwks(self) -> dict:
        return {
            "keys": [
                {
                    **jwt.algorithms.RSAAlgorithm.to_jwk(k.public_key(), as_dict=True),
                    "kid": kid,
                    "alg": "RS256",
                }
                for kid, k in self.keys.items()
            ]
        }

    def token(self, kid: str, sub: str = "alice") -> str:
        claims = {"iss": ISSUER, "aud": "api", "sub": sub, "exp": int(time.time()) + 60}
        return jwt.encode(claims, self.keys[kid], algorithm="RS256", headers={"kid": kid})


@pytest.fixture
def issuer() -> Iterator[tuple[Issuer, str]]:
    state = Issuer()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            state.fetches += 1
            body = json.dumps(state.jwks()).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *_args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield state, f"http://127.0.0.1:{server.server_address[1]}/jwks.json"
    finally:
        server.shutdown()


def verifier(url: str, *, min_refresh: float = 60) -> TokenVerifier:
    keys = JwksKeys(url, timeout=2, min_refresh_seconds=min_refresh)
    return TokenVerifier(TokenPolicy(issuer=ISSUER, audiences=("api",)), keys)


def test_the_key_set_is_fetched_once_for_many_tokens(issuer):
    state, url = issuer
    check = verifier(url)
    for i in range(5):
        assert check.verify(state.token("k1", sub=f"u{i}")).subject == f"u{i}"
    assert state.fetches == 1


def test_a_rotated_key_is_found_by_refetching_once(issuer):
    state, url = issuer
    check = verifier(url)
    check.verify(state.token("k1"))
    state.add("k2")  # the issuer rotates
    assert check.verify(state.token("k2", sub="bob")).subject == "bob"
    assert state.fetches == 2


def test_made_up_key_ids_do_not_flood_the_issuer(issuer):
    state, url = issuer
    check = verifier(url, min_refresh=60)
    check.verify(state.token("k1"))
    forged = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    for i in range(20):
        claims = {"iss": ISSUER, "aud": "api", "sub": "x", "exp": int(time.time()) + 60}
        token = jwt.encode(claims, forged, algorithm="RS256", headers={"kid": f"made-up-{i}"})
        with pytest.raises(InvalidTokenError, match="key this API does not know"):
            check.verify(token)
    assert state.fetches == 2, "one refetch for the first unknown kid, then none for a minute"


def test_an_unreachable_issuer_is_unavailable_not_invalid():
    check = verifier("http://127.0.0.1:9/jwks.json")
    with pytest.raises(AuthUnavailableError, match="could not be fetched"):
        check.verify(Issuer().token("k1"))
