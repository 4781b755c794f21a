"""Lambda REQUEST authorizer of the HTTP API's ``/mlflow`` routes (payload 2.0,
simple responses): open only to a valid bearer token of a user in the admin group.

The tokens are checked by the app's own verifier, configured from the same
settings (``MLOPS_AUTH_ISSUER``, ``MLOPS_AUTH_AUDIENCE``, ``MLOPS_AUTH_ADMIN_GROUP``).
"""

from __future__ import annotations

import functools
import logging
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from app.auth.tokens import TokenVerifier

log = logging.getLogger(__name__)


@functools.cache
def verifier() -> TokenVerifier:
    """Built once per execution environment; its JWKS is fetched once and cached."""
    from app.auth.settings import build_verifier
    from app.settings import SettingsError, get_settings

    settings = get_settings()
    if not settings.auth_issuer:  # never fall back to the local dev issuer here
        raise SettingsError("The admin authorizer needs MLOPS_AUTH_ISSUER and MLOPS_AUTH_AUDIENCE.")
    return build_verifier(settings)


def handler(event: dict[str, Any], context: Any) -> dict[str, bool]:
    from app.auth.tokens import AuthUnavailableError, InvalidTokenError

    header = (event.get("headers") or {}).get("authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return {"isAuthorized": False}
    try:
        principal = verifier().verify(token.strip())
    except InvalidTokenError as exc:
        log.info("refused: %s", exc)
        return {"isAuthorized": False}
    except AuthUnavailableError:  # closed, not open, while the issuer's keys are unreachable
        log.exception("refused: the token issuer's keys could not be fetched")
        return {"isAuthorized": False}
    if not principal.is_admin:
        log.info("refused: %s is not in the admin group", principal.subject)
    return {"isAuthorized": principal.is_admin}
