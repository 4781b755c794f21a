"""The GCP program's settings, checked before anything is created.

The project and region are the provider's own settings, ``gcp:project`` and
``gcp:region``, read by :func:`gcp_project` and :func:`gcp_region` when the program runs.
Keys shared with the other clouds keep their meaning and default; a setting only GCP has
gets a ``gcp``-prefixed key. This module imports no provider package.

Example::

    settings = GcpStackConfig(gcp_app_max_instances=2)
    settings.token_issuer("my-proj")   # https://securetoken.google.com/my-proj
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import ClassVar

import pulumi

from infra.checks import Check, check_images, ipv4_range, not_above, within
from infra.config import CloudStackConfig, ConfigError, config_key
from infra.gcp.sizes import check_size

PROVIDER_NAMESPACE = "gcp"
FIREBASE_ISSUER_PREFIX = "https://securetoken.google.com/"


def gcp_project() -> str:
    """``gcp:project``, the project every resource goes to."""
    return _provider_setting("project", "the project id, e.g. my-mlops-project")


def gcp_region() -> str:
    """``gcp:region``, the region of every regional resource (e.g. europe-west1)."""
    return _provider_setting("region", "a region such as europe-west1")


def _provider_setting(key: str, example: str) -> str:
    value = (pulumi.Config(PROVIDER_NAMESPACE).get(key) or "").strip()
    if not value:
        raise ConfigError(
            f"{PROVIDER_NAMESPACE}:{key} is not set: run "
            f"`pulumi config set {PROVIDER_NAMESPACE}:{key} <{key}>` ({example})."
        )
    return value


@dataclass(frozen=True)
class GcpStackConfig(CloudStackConfig):
    """Field ``foo_bar`` is config key ``mlops:fooBar``."""

    cloud: ClassVar[str] = "gcp"

    # Shared with one other cloud (the keys every cloud reads are CloudStackConfig's).
    # Most documents OCR'd at once (AWS: concurrent Lambdas; GCP: instances of one request).
    ocr_max_concurrency: int = 5
    # Token issuer: empty = Firebase Authentication / Identity Platform of the project.
    auth_issuer: str = ""
    auth_jwks_uri: str = ""
    auth_audience: str = ""

    # GCP only.
    gcp_app_cpu: int = 1
    gcp_app_memory: int = 2048
    gcp_app_min_instances: int = 1
    gcp_app_max_instances: int = 4
    gcp_app_concurrency: int = 40
    gcp_ocr_cpu: int = 1
    gcp_ocr_memory: int = 2048
    gcp_training_cpu: int = 2
    gcp_training_memory: int = 8192
    gcp_training_timeout_minutes: int = 60
    gcp_gateway_region: str = ""
    gcp_firestore_database: str = "(default)"
    gcp_firestore_location: str = ""
    gcp_mlflow_db_tier: str = "db-f1-micro"
    gcp_vpc_cidr: str = "10.8.0.0/24"
    gcp_dead_letter_retention_days: int = 7

    @classmethod
    def checks(cls) -> tuple[Check, ...]:
        return _GCP_CHECKS

    def token_issuer(self, project: str) -> str:
        return self.auth_issuer or f"{FIREBASE_ISSUER_PREFIX}{project}"

    def token_audiences(self, project: str) -> list[str]:
        """Firebase ID tokens carry the project id as ``aud``."""
        given = [a.strip() for a in self.auth_audience.split(",") if a.strip()]
        return given or [project]

    @property
    def uses_firebase(self) -> bool:
        return not self.auth_issuer


def _size(cpu: str, memory: str, what: str) -> Callable[[GcpStackConfig], str]:
    def check(c: GcpStackConfig) -> str:
        problem = check_size(getattr(c, cpu), getattr(c, memory), what)
        if not problem:
            return ""
        return f"{problem} Change mlops:{config_key(cpu)} or mlops:{config_key(memory)}."

    return check


def _check_issuer(c: GcpStackConfig) -> str:
    if not c.auth_issuer:
        if c.auth_jwks_uri:
            return "mlops:authJwksUri needs mlops:authIssuer (the issuer those keys sign for)."
        return ""
    if not c.auth_issuer.startswith("https://"):
        return f"mlops:authIssuer is {c.auth_issuer!r}; use the issuer's https:// URL (its iss)."
    if not c.auth_jwks_uri.startswith("https://"):
        return "mlops:authIssuer needs mlops:authJwksUri, the https:// URL of its JWK set."
    if not c.auth_audience.strip():
        return "mlops:authIssuer needs mlops:authAudience, the aud its tokens carry."
    return ""


def _check_database(c: GcpStackConfig) -> str:
    name = c.gcp_firestore_database
    if name == "(default)" or (
        4 <= len(name) <= 63 and name[0].isalpha() and all(ch.isalnum() or ch == "-" for ch in name)
    ):
        return ""
    return (
        f"mlops:gcpFirestoreDatabase is {name!r}; use (default) or 4-63 letters, digits "
        "and hyphens starting with a letter."
    )


_GCP_CHECKS: tuple[Check, ...] = (
    check_images,
    within("upload_expiration_days", 1, 3650),
    within("log_retention_days", 1, 3650),
    within("ocr_max_concurrency", 1, 1000),
    _size("gcp_app_cpu", "gcp_app_memory", "app"),
    _size("gcp_ocr_cpu", "gcp_ocr_memory", "OCR worker"),
    _size("gcp_training_cpu", "gcp_training_memory", "training job"),
    within("gcp_app_min_instances", 0, 100),
    within("gcp_app_max_instances", 1, 100),
    not_above("gcp_app_min_instances", "gcp_app_max_instances"),
    within("gcp_app_concurrency", 1, 1000),
    within("gcp_training_timeout_minutes", 1, 1440),
    within("gcp_dead_letter_retention_days", 1, 31),
    _check_issuer,
    # Direct VPC egress needs a /26 at least.
    ipv4_range("gcp_vpc_cidr", "10.8.0.0/24", longest=26),
    _check_database,
)
