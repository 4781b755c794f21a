"""Identity: the Cognito user pool, its admin group and the app client."""

from __future__ import annotations

import pulumi
import pytest

from infra.aws.identity import Identity, IdentityArgs
from tests.infra.mocks import Stack, run_program

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")

POOL = "aws:cognito/userPool:UserPool"
CLIENT = "aws:cognito/userPoolClient:UserPoolClient"


def _identity(**overrides: object) -> Stack:
    def program() -> None:
        identity = Identity("auth", IdentityArgs(**overrides))  # type: ignore[arg-type]
        for key in ("user_pool_id", "client_id", "issuer", "jwks_url"):
            pulumi.export(key, getattr(identity, key))

    return run_program(program)


@pytest.fixture(scope="module")
def default() -> Stack:
    return _identity()


def test_users_sign_in_with_their_email_and_a_strong_password(default: Stack) -> None:
    pool = default.one(POOL).inputs
    assert pool["usernameAttributes"] == ["email"]
    assert pool["autoVerifiedAttributes"] == ["email"]
    policy = pool["passwordPolicy"]
    assert policy["minimumLength"] >= 12
    assert all(
        policy[f"require{kind}"] for kind in ("Lowercase", "Uppercase", "Numbers", "Symbols")
    )
    assert pool["adminCreateUserConfig"] == {"allowAdminCreateUserOnly": True}
    assert pool["deletionProtection"] == "ACTIVE"


@pytest.mark.parametrize(
    ("mfa", "configuration", "totp"),
    [("off", "OFF", None), ("optional", "OPTIONAL", True), ("on", "ON", True)],
)
def test_mfa_follows_the_setting_with_authenticator_apps(
    mfa: str, configuration: str, totp: bool | None
) -> None:
    pool = _identity(mfa=mfa).one(POOL).inputs
    assert pool["mfaConfiguration"] == configuration
    assert (pool.get("softwareTokenMfaConfiguration") or {}).get("enabled") == totp


def test_there_is_an_admin_group(default: Stack) -> None:
    group = default.one("aws:cognito/userGroup:UserGroup").inputs
    assert (group["name"], group["userPoolId"]) == ("admin", "auth-users-id")


def test_the_app_client_has_no_secret_and_the_three_flows(default: Stack) -> None:
    client = default.one(CLIENT).inputs
    assert client["generateSecret"] is False
    assert sorted(client["explicitAuthFlows"]) == [
        "ALLOW_REFRESH_TOKEN_AUTH",
        "ALLOW_USER_PASSWORD_AUTH",
        "ALLOW_USER_SRP_AUTH",
    ]
    assert (client["accessTokenValidity"], client["idTokenValidity"]) == (60, 60)
    assert client["refreshTokenValidity"] == 30
    assert client["tokenValidityUnits"] == {
        "accessToken": "minutes",
        "idToken": "minutes",
        "refreshToken": "days",
    }
    assert "allowedOauthFlows" not in client


def test_issuer_and_jwks_point_at_the_pool(default: Stack) -> None:
    issuer = default.outputs["issuer"]
    assert issuer == "https://cognito-idp.eu-west-3.amazonaws.com/eu-west-3_pool"
    assert default.outputs["jwks_url"] == f"{issuer}/.well-known/jwks.json"
    assert default.outputs["client_id"] == "auth-client-id"


def test_the_hosted_sign_in_page_is_optional(default: Stack) -> None:
    assert default.of_type("aws:cognito/userPoolDomain:UserPoolDomain") == []
    hosted = _identity(domain_prefix="mlops-dev", callback_urls=["https://app.example.com/cb"])
    domain = hosted.one("aws:cognito/userPoolDomain:UserPoolDomain").inputs
    assert domain["domain"] == "mlops-dev"
    client = hosted.one(CLIENT).inputs
    assert client["allowedOauthFlows"] == ["code"]
    assert client["callbackUrls"] == ["https://app.example.com/cb"]


@pytest.mark.parametrize(
    ("overrides", "message"),
    [({"mfa": "sms"}, "mfa must be one of"), ({"callback_urls": ["https://x"]}, "domain_prefix")],
)
def test_bad_settings_create_nothing(overrides: dict[str, object], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        Identity("auth", IdentityArgs(**overrides))  # type: ignore[arg-type]
