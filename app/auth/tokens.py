"""JWT verification with PyJWT: signature from the issuer's JWKS, issuer, audience, time.

The app checks tokens itself even behind a gateway that already did, so a
misconfigured gateway route is not an open door.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Protocol

import jwt

from app.domain.identity import Principal

# After a failed JWKS fetch, requests get 503 without a new fetch for this long.
FETCH_BACKOFF_SECONDS = 5.0
# Token uses a Cognito token may carry; other issuers have no such claim.
_TOKEN_USES = {"access", "id"}


class InvalidTokenError(Exception):
    """The token cannot be trusted; the message tells the caller what is wrong."""


class AuthUnavailableError(Exception):
    """The issuer's keys cannot be fetched: tokens can't be checked right now."""


@dataclass(frozen=True)
class TokenPolicy:
    issuer: str
    audiences: tuple[str, ...]
    algorithms: tuple[str, ...] = ("RS256", "ES256")
    leeway_seconds: int = 30
    admin_group: str = "admin"
    group_claims: tuple[str, ...] = ("cognito:groups", "groups", "roles")


class SigningKeys(Protocol):
    def key(self, kid: str | None) -> jwt.PyJWK: ...


class JwksKeys:
    """The issuer's JWKS, fetched on first use and cached; an unknown ``kid`` refetches
    it (keys rotate), at most once per ``min_refresh_seconds`` so a flood of
    made-up key ids cannot turn into a flood of requests to the issuer."""

    def __init__(self, url: str, *, timeout: float, min_refresh_seconds: float = 60) -> None:
        self.url = url
        self._client = jwt.PyJWKClient(url, cache_jwk_set=True, lifespan=3600, timeout=timeout)
        self._min_refresh = min_refresh_seconds
        self._last_refresh = float("-inf")
        self._failed_at = float("-inf")
        self._lock = threading.Lock()

    def _find(self, kid: str | None, *, refresh: bool) -> jwt.PyJWK | None:
        # While the issuer is down, answer 503 at once for a few seconds instead of
        # holding a worker thread on a fetch per request.
        if time.monotonic() - self._failed_at < FETCH_BACKOFF_SECONDS:
            raise AuthUnavailableError(self._unavailable)
        try:
            keys = self._client.get_jwk_set(refresh=refresh).keys
        except jwt.PyJWKClientError as exc:
            self._failed_at = time.monotonic()
            raise AuthUnavailableError(self._unavailable) from exc
        return next((k for k in keys if k.key_id == kid), None)

    @property
    def _unavailable(self) -> str:
        return f"The token issuer's keys could not be fetched from {self.url}; try again."

    def key(self, kid: str | None) -> jwt.PyJWK:
        found = self._find(kid, refresh=False)
        if found is None:
            with self._lock:
                if time.monotonic() - self._last_refresh >= self._min_refresh:
                    self._last_refresh = time.monotonic()
                    found = self._find(kid, refresh=True)
        if found is None:
            raise InvalidTokenError("The token is signed with a key this API does not know.")
        return found


class StaticKeys:
    """A fixed key set (the local dev issuer)."""

    def __init__(self, jwks: Mapping[str, Any]) -> None:
        self._keys = jwt.PyJWKSet.from_dict(dict(jwks)).keys

    def key(self, kid: str | None) -> jwt.PyJWK:
        for key in self._keys:
            if key.key_id == kid:
                return key
        raise InvalidTokenError("The token is signed with a key this API does not know.")


class TokenVerifier:
    """Example::

    verifier = TokenVerifier(policy, JwksKeys(f"{issuer}/.well-known/jwks.json", timeout=5))
    principal = verifier.verify(token)      # Principal(subject="…", is_admin=False)
    """

    def __init__(self, policy: TokenPolicy, keys: SigningKeys) -> None:
        self.policy = policy
        self.keys = keys

    def verify(self, token: str) -> Principal:
        claims = self._decode(token)
        self._check_audience(claims)
        token_use = claims.get("token_use")
        if token_use is not None and (
            not isinstance(token_use, str) or token_use not in _TOKEN_USES
        ):
            raise InvalidTokenError(f"A {token_use!r} token cannot be used to call this API.")
        subject = claims["sub"]
        if not isinstance(subject, str) or not subject:
            raise InvalidTokenError("The token's 'sub' claim must be a non-empty string.")
        return Principal(subject=subject, is_admin=self._is_admin(claims))

    def _decode(self, token: str) -> dict[str, Any]:
        try:
            header = jwt.get_unverified_header(token)
        except jwt.PyJWTError as exc:  # not a JWT, a non-string kid, an unknown `crit`...
            raise InvalidTokenError("The token is malformed: send a JWT.") from exc
        algorithm = header.get("alg")
        # Checked before any key is used: `none`, and HS256 keyed with a public key, die here.
        if algorithm not in self.policy.algorithms:
            raise InvalidTokenError(
                f"Tokens signed with {algorithm!r} are not accepted;"
                f" use one of {', '.join(self.policy.algorithms)}."
            )
        key = self.keys.key(header.get("kid"))
        try:
            return jwt.decode(
                token,
                key,
                algorithms=[algorithm],
                issuer=self.policy.issuer,
                leeway=self.policy.leeway_seconds,
                options={"require": ["exp", "iss", "sub"], "verify_aud": False},
            )
        except jwt.ExpiredSignatureError as exc:
            raise InvalidTokenError("The token has expired: sign in again.") from exc
        except jwt.ImmatureSignatureError as exc:
            raise InvalidTokenError("The token is not valid yet.") from exc
        except jwt.InvalidIssuerError as exc:
            raise InvalidTokenError(
                "The token comes from an issuer this API does not trust."
            ) from exc
        except jwt.InvalidSignatureError as exc:
            raise InvalidTokenError("The token's signature does not verify.") from exc
        except jwt.MissingRequiredClaimError as exc:
            raise InvalidTokenError(f"The token has no {exc.claim!r} claim.") from exc
        except jwt.InvalidTokenError as exc:
            raise InvalidTokenError(f"The token is invalid: {exc}.") from exc

    def _check_audience(self, claims: Mapping[str, Any]) -> None:
        # ID tokens name the client in `aud`; Cognito access tokens in `client_id`.
        if claims.get("aud") is not None:
            names = _strings(claims, "aud")
        elif claims.get("client_id") is not None:
            names = _strings(claims, "client_id", several=False)
        else:
            names = frozenset()
        if not names & set(self.policy.audiences):
            raise InvalidTokenError("The token was issued for another application (audience).")

    def _is_admin(self, claims: Mapping[str, Any]) -> bool:
        for name in self.policy.group_claims:
            value = claims.get(name)
            if isinstance(value, str):
                value = value.replace(",", " ").split()
            # Only strings name groups; a claim of another shape (some issuers put maps
            # or numbers under `roles`) grants nothing and refuses nothing.
            if isinstance(value, list) and self.policy.admin_group in (
                v for v in value if isinstance(v, str)
            ):
                return True
        return False


def _strings(claims: Mapping[str, Any], name: str, *, several: bool = True) -> frozenset[str]:
    """A claim that must be a string (or, when ``several``, a list of strings) as a set;
    any other JSON type, even under a valid signature, is the caller's error (401)."""
    value = claims[name]
    if isinstance(value, str):
        return frozenset((value,))
    if several and isinstance(value, list) and all(isinstance(v, str) for v in value):
        return frozenset(value)
    shape = "a string or a list of strings" if several else "a string"
    raise InvalidTokenError(f"The token's {name!r} claim must be {shape}.")
