"""The bearer-token check behind ``CurrentUser``: one authenticator per app, from settings."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import TYPE_CHECKING

from fastapi import HTTPException, Request

from app.auth.settings import build_verifier
from app.domain.identity import LOCAL_PRINCIPAL, Principal
from app.settings import AuthMode, Settings

if TYPE_CHECKING:
    # PyJWT and cryptography load only when auth is on (~0.15 s of import).
    from app.auth.tokens import TokenVerifier

log = logging.getLogger(__name__)

Authenticator = Callable[[Request], Principal]


def local_user(_request: Request) -> Principal:
    return LOCAL_PRINCIPAL


def bearer(verifier: TokenVerifier, header: str = "authorization") -> Authenticator:
    """Check the bearer token in ``header``: ``Authorization``, or where a gateway that
    authenticates itself to the app moves the caller's (GCP API Gateway puts its own
    Google ID token in ``Authorization`` and the caller's in ``X-Forwarded-Authorization``)."""
    from app.auth.tokens import AuthUnavailableError, InvalidTokenError

    def authenticate(request: Request) -> Principal:
        scheme, _, token = request.headers.get(header, "").partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise HTTPException(
                401,
                "Sign in first: send 'Authorization: Bearer <token>'.",
                headers={"WWW-Authenticate": "Bearer"},
            )
        try:
            return verifier.verify(token.strip())
        except InvalidTokenError as exc:
            raise HTTPException(
                401, str(exc), headers={"WWW-Authenticate": 'Bearer error="invalid_token"'}
            ) from exc
        except AuthUnavailableError as exc:
            raise HTTPException(503, str(exc)) from exc

    return authenticate


def build_authenticator(settings: Settings) -> Authenticator:
    if not settings.auth_required:
        log.warning("authentication is OFF (local mode): every caller is the local admin user")
        if settings.auth is AuthMode.OFF_INSECURE:
            log.critical(
                "MLOPS_AUTH=off-insecure on %s: anyone who reaches this address is admin",
                settings.host,
            )
        return local_user
    return bearer(build_verifier(settings), settings.auth_header)
