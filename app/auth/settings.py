"""The token verifier the settings describe; shared by the app and the Lambda
authorizer, so it imports neither FastAPI nor PyJWT until it is built."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from app.settings import Settings

if TYPE_CHECKING:
    from app.auth.tokens import TokenVerifier

log = logging.getLogger(__name__)


def build_verifier(settings: Settings) -> TokenVerifier:
    """The issuer from settings, or the local dev issuer (local mode, no issuer set)."""
    from app.auth.tokens import JwksKeys, StaticKeys, TokenPolicy, TokenVerifier

    if not settings.auth_issuer:
        from app.auth.dev import DEV_AUDIENCE, DEV_ISSUER, dev_jwks

        log.warning(
            "authentication is ON with the local DEV issuer: mint tokens with `mlops token`"
            " (development only; set MLOPS_AUTH_ISSUER for a real identity provider)"
        )
        policy = TokenPolicy(
            issuer=DEV_ISSUER,
            audiences=(DEV_AUDIENCE,),
            admin_group="admin",
            group_claims=("groups",),
        )
        return TokenVerifier(policy, StaticKeys(dev_jwks(settings.dev_auth_dir)))
    issuer = settings.auth_issuer.rstrip("/")
    jwks_url = settings.auth_jwks_url or f"{issuer}/.well-known/jwks.json"
    policy = TokenPolicy(
        issuer=issuer,
        audiences=settings.audiences,
        algorithms=settings.algorithms,
        leeway_seconds=settings.auth_leeway_seconds,
        admin_group=settings.auth_admin_group,
        group_claims=settings.group_claims,
    )
    return TokenVerifier(policy, JwksKeys(jwks_url, timeout=settings.auth_jwks_timeout_seconds))
