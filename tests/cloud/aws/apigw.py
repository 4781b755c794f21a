"""API Gateway HTTP API (payload 2.0) events from the recorded templates, and a Cognito user
pool on the moto server whose tokens they carry. Used by the Lambda tests and bench/cold_start.
"""

from __future__ import annotations

import base64
import copy
import json
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

EVENTS = Path(__file__).resolve().parents[2] / "events" / "aws"
PASSWORD = "Corr3ct-Horse-Battery!"


@cache
def _template(name: str) -> dict[str, Any]:
    return json.loads((EVENTS / name).read_text())


def gateway_claims(token: str) -> dict[str, str]:
    """The token's claims the way the JWT authorizer hands them on: every value a string,
    lists as ``[a b]``."""
    payload = token.split(".")[1]
    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    return {
        key: f"[{' '.join(map(str, value))}]" if isinstance(value, list) else str(value)
        for key, value in claims.items()
    }


def http_api_event(
    method: str,
    path: str,
    *,
    token: str | None = None,
    body: bytes | None = None,
    content_type: str = "application/json",
    binary: bool = False,
) -> dict[str, Any]:
    """An event for ``method path``: with ``token``, a ``/v1`` route behind the Cognito JWT
    authorizer (bearer header + claims); without, the public template (no authorizer).
    ``binary`` bodies are base64-encoded, as API Gateway does for non-text payloads."""
    event = copy.deepcopy(
        _template("apigw_v2_jwt_request.json" if token else "apigw_v2_public_request.json")
    )
    route = "ANY /v1/{proxy+}" if path.startswith("/v1/") else f"{method} {path}"
    event["routeKey"] = event["requestContext"]["routeKey"] = route
    event["rawPath"] = event["requestContext"]["http"]["path"] = path
    event["requestContext"]["http"]["method"] = method
    headers = event["headers"]
    if path.startswith("/v1/"):
        event["pathParameters"] = {"proxy": path.removeprefix("/v1/")}
    else:
        event.pop("pathParameters", None)
    if token:
        headers["authorization"] = f"Bearer {token}"
        event["requestContext"]["authorizer"]["jwt"]["claims"] = gateway_claims(token)
    if body is None:
        for key in ("content-type", "content-length"):
            headers.pop(key, None)
        event.pop("body", None)
        event["isBase64Encoded"] = False
    else:
        headers["content-type"] = content_type
        headers["content-length"] = str(len(body))
        event["body"] = base64.b64encode(body).decode() if binary else body.decode()
        event["isBase64Encoded"] = binary
    return event


def multipart(field: str, filename: str, data: bytes, media_type: str) -> tuple[bytes, str]:
    """A multipart/form-data body with one file, and its content type."""
    boundary = "----mlopsBoundary7MA4YWxkTrZu0gW"
    body = (
        (
            f'--{boundary}\r\nContent-Disposition: form-data; name="{field}"; filename="{filename}"'
            f"\r\nContent-Type: {media_type}\r\n\r\n"
        ).encode()
        + data
        + f"\r\n--{boundary}--\r\n".encode()
    )
    return body, f"multipart/form-data; boundary={boundary}"


@dataclass(frozen=True)
class CognitoPool:
    issuer: str
    jwks_url: str
    client_id: str
    tokens: dict[str, str]  # user -> access token
    id_tokens: dict[str, str]  # user -> ID token

    def token(self, user: str, kind: str = "AccessToken") -> str:
        return self.tokens[user] if kind == "AccessToken" else self.id_tokens[user]

    def env(self) -> dict[str, str]:
        """The app's auth settings for this pool (the keys come from the emulator)."""
        return {
            "MLOPS_AUTH_ISSUER": self.issuer,
            "MLOPS_AUTH_AUDIENCE": self.client_id,
            "MLOPS_AUTH_JWKS_URL": self.jwks_url,
        }


def cognito_pool(
    idp: Any,
    endpoint: str,
    region: str,
    users: tuple[str, ...],
    *,
    admins: tuple[str, ...] = (),
    name: str = "documents",
) -> CognitoPool:
    """A user pool, an app client, an ``admin`` group and signed-in users (``admins``
    among them in the group) on the moto server at ``endpoint``."""
    pool_id = idp.create_user_pool(PoolName=name)["UserPool"]["Id"]
    client_id = idp.create_user_pool_client(
        UserPoolId=pool_id,
        ClientName="web",
        GenerateSecret=False,
        ExplicitAuthFlows=["ALLOW_USER_PASSWORD_AUTH", "ALLOW_REFRESH_TOKEN_AUTH"],
    )["UserPoolClient"]["ClientId"]
    idp.create_group(UserPoolId=pool_id, GroupName="admin")
    access, ids = {}, {}
    for user in (*users, *admins):
        idp.admin_create_user(UserPoolId=pool_id, Username=user, MessageAction="SUPPRESS")
        idp.admin_set_user_password(
            UserPoolId=pool_id, Username=user, Password=PASSWORD, Permanent=True
        )
        if user in admins:
            idp.admin_add_user_to_group(UserPoolId=pool_id, Username=user, GroupName="admin")
        result = idp.initiate_auth(
            ClientId=client_id,
            AuthFlow="USER_PASSWORD_AUTH",
            AuthParameters={"USERNAME": user, "PASSWORD": PASSWORD},
        )["AuthenticationResult"]
        access[user], ids[user] = result["AccessToken"], result["IdToken"]
    return CognitoPool(
        # Cognito's issuer is its public URL; the keys come from the emulator.
        issuer=f"https://cognito-idp.{region}.amazonaws.com/{pool_id}",
        jwks_url=f"{endpoint}/{pool_id}/.well-known/jwks.json",
        client_id=client_id,
        tokens=access,
        id_tokens=ids,
    )
