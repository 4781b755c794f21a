"""Cognito: the user pool that signs the API's tokens, its `admin` group and app client.

Users sign in with their email; only an administrator creates accounts. The app client
has no secret (browsers and the CLI use it) and allows SRP, password and refresh flows.

Example::

    identity = Identity("auth", IdentityArgs(mfa="optional"))
    identity.issuer  # https://cognito-idp.<region>.amazonaws.com/<pool id>
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import pulumi
from pulumi_aws import cognito

from infra.aws.choices import MFA_MODES

ADMIN_GROUP = "admin"


@dataclass
class IdentityArgs:
    mfa: str = "optional"
    access_token_minutes: int = 60
    id_token_minutes: int = 60
    refresh_token_days: int = 30
    # A Cognito-hosted sign-in page at https://<prefix>.auth.<region>.amazoncognito.com.
    domain_prefix: str | None = None
    # OAuth code-flow redirect URLs; needs domain_prefix.
    callback_urls: Sequence[str] = ()
    # Deleting the pool deletes every account: refuse it unless this is a throwaway stack.
    deletion_protection: bool = True
    tags: dict[str, str] = field(default_factory=dict)


class Identity(pulumi.ComponentResource):
    user_pool_id: pulumi.Output[str]
    user_pool_arn: pulumi.Output[str]
    client_id: pulumi.Output[str]
    issuer: pulumi.Output[str]
    jwks_url: pulumi.Output[str]
    admin_group: str
    domain: pulumi.Output[str] | None

    def __init__(
        self, name: str, args: IdentityArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        if args.mfa not in MFA_MODES:
            raise ValueError(f"mfa must be one of {sorted(MFA_MODES)}, got {args.mfa!r}")
        if args.callback_urls and not args.domain_prefix:
            raise ValueError("callback_urls need a domain_prefix for the hosted sign-in page")
        super().__init__("mlops:aws:Identity", name, None, opts)
        self._name = name
        self._args = args
        self._child = pulumi.ResourceOptions(parent=self)

        pool = self._build_pool()
        cognito.UserGroup(
            f"{name}-admin",
            name=ADMIN_GROUP,
            user_pool_id=pool.id,
            description="May manage models, training jobs and monitoring; reaches MLflow.",
            precedence=0,
            opts=self._child,
        )
        self.domain = self._build_domain(pool)
        client = self._build_client(pool)

        self.user_pool_id = pool.id
        self.user_pool_arn = pool.arn
        self.client_id = client.id
        self.issuer = pulumi.Output.concat("https://", pool.endpoint)
        self.jwks_url = pulumi.Output.concat(self.issuer, "/.well-known/jwks.json")
        self.admin_group = ADMIN_GROUP
        self.register_outputs(
            {
                "user_pool_id": self.user_pool_id,
                "client_id": self.client_id,
                "issuer": self.issuer,
                "jwks_url": self.jwks_url,
            }
        )

    def _build_pool(self) -> cognito.UserPool:
        mfa = MFA_MODES[self._args.mfa]
        return cognito.UserPool(
            f"{self._name}-users",
            username_attributes=["email"],
            auto_verified_attributes=["email"],
            username_configuration={"case_sensitive": False},
            admin_create_user_config={"allow_admin_create_user_only": True},
            password_policy={
                "minimum_length": 12,
                "require_lowercase": True,
                "require_uppercase": True,
                "require_numbers": True,
                "require_symbols": True,
                "temporary_password_validity_days": 3,
            },
            mfa_configuration=mfa,
            # Authenticator apps only: SMS MFA would need an SNS role and costs per message.
            software_token_mfa_configuration={"enabled": True} if mfa != "OFF" else None,
            deletion_protection="ACTIVE" if self._args.deletion_protection else "INACTIVE",
            account_recovery_setting={
                "recovery_mechanisms": [{"name": "verified_email", "priority": 1}]
            },
            tags=self._args.tags,
            opts=self._child,
        )

    def _build_domain(self, pool: cognito.UserPool) -> pulumi.Output[str] | None:
        if not self._args.domain_prefix:
            return None
        domain = cognito.UserPoolDomain(
            f"{self._name}-domain",
            domain=self._args.domain_prefix,
            user_pool_id=pool.id,
            opts=self._child,
        )
        return domain.domain

    def _build_client(self, pool: cognito.UserPool) -> cognito.UserPoolClient:
        args = self._args
        oauth: dict[str, object] = {}
        if args.callback_urls:
            oauth = {
                "allowed_oauth_flows_user_pool_client": True,
                "allowed_oauth_flows": ["code"],
                "allowed_oauth_scopes": ["openid", "email", "profile"],
                "callback_urls": list(args.callback_urls),
            }
        return cognito.UserPoolClient(
            f"{self._name}-client",
            user_pool_id=pool.id,
            generate_secret=False,
            explicit_auth_flows=[
                "ALLOW_USER_PASSWORD_AUTH",
                "ALLOW_USER_SRP_AUTH",
                "ALLOW_REFRESH_TOKEN_AUTH",
            ],
            access_token_validity=args.access_token_minutes,
            id_token_validity=args.id_token_minutes,
            refresh_token_validity=args.refresh_token_days,
            token_validity_units={
                "access_token": "minutes",
                "id_token": "minutes",
                "refresh_token": "days",
            },
            prevent_user_existence_errors="ENABLED",
            enable_token_revocation=True,
            supported_identity_providers=["COGNITO"],
            opts=self._child,
            **oauth,
        )
