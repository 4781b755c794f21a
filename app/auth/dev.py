"""A local development issuer: a key under the data dir and ``mlops token`` to sign with it.

Development only. The app trusts this key only in local mode with
``MLOPS_AUTH=required`` and no ``MLOPS_AUTH_ISSUER``; every cloud deployment
names a real issuer (Cognito, Entra ID, Google Identity Platform).
"""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any

import jwt

DEV_ISSUER = "urn:mlops:local-dev"
DEV_AUDIENCE = "mlops-local"
_KEY_FILE = "signing-key.pem"
_KID = "mlops-local-dev-1"


def _private_key(folder: Path) -> Any:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    path = folder / _KEY_FILE
    if path.exists():
        return serialization.load_pem_private_key(path.read_bytes(), password=None)
    folder.mkdir(parents=True, exist_ok=True)
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    # Created readable by the owner only, then moved into place whole.
    tmp = path.with_suffix(".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as f:
        f.write(pem)
    os.replace(tmp, path)
    return key


def dev_jwks(folder: Path) -> dict[str, Any]:
    public = jwt.algorithms.RSAAlgorithm.to_jwk(_private_key(folder).public_key(), as_dict=True)
    return {"keys": [{**public, "kid": _KID, "alg": "RS256", "use": "sig"}]}


def mint(folder: Path, subject: str, *, admin: bool = False, minutes: int = 60) -> str:
    """A signed access token for ``subject``, in the admin group when ``admin``."""
    now = int(time.time())
    claims = {
        "iss": DEV_ISSUER,
        "aud": DEV_AUDIENCE,
        "sub": subject,
        "iat": now,
        "nbf": now,
        "exp": now + minutes * 60,
        "token_use": "access",
        "groups": ["admin"] if admin else [],
    }
    return jwt.encode(claims, _private_key(folder), algorithm="RS256", headers={"kid": _KID})
