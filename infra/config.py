"""The stack's settings: ``mlops:cloud``, then that cloud's ``mlops:*`` keys, read once,
typed and checked.

This module holds what every cloud shares: the base class :class:`CloudStackConfig`
(the keys every cloud reads, and how a key is read), :class:`ConfigError`, and
:func:`read_stack_config`. Each cloud's own settings live in ``infra/<cloud>/config.py``,
which imports this module; this module finds them by name (:data:`CLOUD_CONFIGS`), so it
imports no cloud's module and no provider package. The checks the clouds share are in
``infra/checks.py``.

Only these modules and the cloud programs read Pulumi config; components take typed
Args. Every key is documented in ``Pulumi.yaml`` (with its default as the project-wide
value) and the tests hold the two in step.

Example::

    settings = read_stack_config()          # inside a Pulumi program
    settings.cloud, settings.aws.compute    # "aws", "fargate"
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass, field, fields
from typing import Any, ClassVar

import pulumi

NAMESPACE = "mlops"
# Each cloud's settings class, imported only when that cloud is read.
CLOUD_CONFIGS = {
    "aws": "infra.aws.config:AwsStackConfig",
    "azure": "infra.azure.config:AzureStackConfig",
    "gcp": "infra.gcp.config:GcpStackConfig",
}
CLOUDS = tuple(CLOUD_CONFIGS)
# An OCR function's claim on a document (MLOPS_OCR_LEASE_SECONDS) outlasts the platform's
# invocation timeout by this much, so a retry takes over only an attempt surely ended.
OCR_LEASE_MARGIN_SECONDS = 60


_KINDS: dict[str, type] = {
    "str": str,
    "int": int,
    "float": float,
    "bool": bool,
    "tuple": tuple,
    "dict": dict,
}


class ConfigError(ValueError):
    """A stack setting is missing or wrong; the message names the key and the fix."""


@dataclass(frozen=True)
class CloudStackConfig:
    """One cloud program's settings; field ``foo_bar`` is config key ``mlops:fooBar``.

    The keys every cloud reads are declared here, once, with their one default; a
    subclass adds its own fields (all with defaults) and returns its checks from
    :meth:`checks`. ``mlflow_tracking_uri`` is read as a secret URL.
    """

    cloud: ClassVar[str] = ""

    app_image: str = ""
    ocr_image: str = ""
    cors_origins: tuple[str, ...] = ()
    # A Pulumi secret; set means "use this MLflow", empty means "run one in the stack".
    mlflow_tracking_uri: pulumi.Output[str] | None = field(default=None, compare=False)
    upload_expiration_days: int = 30
    log_retention_days: int = 30
    deletion_protection: bool = True
    tags: dict[str, str] = field(default_factory=dict, compare=False)

    def __post_init__(self) -> None:
        for check in self.checks():
            problem = check(self)
            if problem:
                raise ConfigError(problem)

    @classmethod
    def checks(cls) -> tuple[Callable[[Any], str], ...]:
        return ()

    @property
    def create_mlflow(self) -> bool:
        return self.mlflow_tracking_uri is None

    @classmethod
    def from_config(cls, config: pulumi.Config) -> Any:
        values: dict[str, Any] = {}
        for spec in fields(cls):
            key = config_key(spec.name)
            if spec.name == "mlflow_tracking_uri":
                values[spec.name] = _read_secret_uri(config, key)
                continue
            value = _read(config, key, _KINDS[str(spec.type).split("[")[0]])
            if value is not None:
                values[spec.name] = value
        return cls(**values)

    @classmethod
    def defaults(cls) -> dict[str, Any]:
        """Every key of this cloud and its default, as Pulumi.yaml documents them."""
        plain: dict[str, Any] = {}
        sample = cls()
        for spec in fields(cls):
            value = getattr(sample, spec.name)
            if spec.name == "mlflow_tracking_uri":
                value = ""
            elif isinstance(value, tuple):
                value = list(value)
            plain[config_key(spec.name)] = value
        return plain


@dataclass(frozen=True)
class StackConfig:
    """``mlops:cloud`` and that cloud's settings (the other clouds' are None)."""

    cloud: str
    aws: Any = None  # infra.aws.config.AwsStackConfig
    azure: Any = None  # infra.azure.config.AzureStackConfig
    gcp: Any = None  # infra.gcp.config.GcpStackConfig

    @property
    def settings(self) -> CloudStackConfig:
        """The chosen cloud's settings."""
        chosen: CloudStackConfig = getattr(self, self.cloud)
        return chosen


def cloud_config(cloud: str) -> type[CloudStackConfig]:
    """The settings class of ``cloud`` (one of :data:`CLOUDS`), imported on first use."""
    module, name = CLOUD_CONFIGS[cloud].split(":")
    kind: type[CloudStackConfig] = getattr(importlib.import_module(module), name)
    return kind


def cloud_configs() -> dict[str, type[CloudStackConfig]]:
    """Every cloud's settings class, by cloud."""
    return {cloud: cloud_config(cloud) for cloud in CLOUDS}


def config_key(field_name: str) -> str:
    """``log_retention_days`` -> ``logRetentionDays``."""
    head, *rest = field_name.split("_")
    return head + "".join(part.capitalize() for part in rest)


def defaults(cloud: str | None = None) -> dict[str, Any]:
    """The keys of ``cloud`` (every cloud's when None) and their defaults, as Pulumi.yaml
    documents them, plus ``cloud``. A key two clouds share has one default."""
    plain: dict[str, Any] = {"cloud": ""}
    owners: dict[str, str] = {}
    for name, kind in cloud_configs().items():
        if cloud not in (None, name):
            continue
        for key, value in kind.defaults().items():
            if key in plain and plain[key] != value:
                raise ConfigError(
                    f"mlops:{key} defaults to {plain[key]!r} on {owners[key]} but {value!r} on "
                    f"{name}; a shared key needs one default (or give {name} its own key)."
                )
            plain[key] = value
            owners[key] = name
    return plain


def read_stack_config(config: pulumi.Config | None = None) -> StackConfig:
    """Read ``mlops:cloud`` and that cloud's settings; raise ``ConfigError`` if wrong."""
    config = config or pulumi.Config(NAMESPACE)
    cloud = (config.get("cloud") or "").strip().lower()
    if not cloud:
        raise ConfigError(
            "mlops:cloud is not set: run `pulumi config set mlops:cloud aws` (aws, azure or gcp)."
        )
    if cloud not in CLOUDS:
        raise ConfigError(f"mlops:cloud is {cloud!r}; set it to one of {', '.join(CLOUDS)}.")
    settings = cloud_config(cloud).from_config(config)
    return StackConfig(cloud, **{cloud: settings})


# -- reading ------------------------------------------------------------------------------


def _read(config: pulumi.Config, key: str, kind: type) -> Any:
    """The value of ``key`` as ``kind``; None when unset or empty (then the default holds)."""
    try:
        if kind is bool:
            return config.get_bool(key)
        if kind is int:
            return config.get_int(key)
        if kind is float:
            return config.get_float(key)
        if kind in (tuple, dict):
            value = config.get_object(key)
            if value is None:
                return None
            expected = list if kind is tuple else dict
            if not isinstance(value, expected):
                raise ConfigError(
                    f"mlops:{key} must be a YAML {'list' if kind is tuple else 'mapping'}, "
                    f"got {type(value).__name__}."
                )
            return (
                tuple(str(v) for v in value)
                if kind is tuple
                else {str(k): str(v) for k, v in value.items()}
            )
        value = config.get(key)
        return value.strip() if value and value.strip() else None
    except pulumi.ConfigTypeError as exc:
        raise ConfigError(f"mlops:{key} must be {exc.expect_type}; got {exc.value!r}.") from None


def _read_secret_uri(config: pulumi.Config, key: str) -> pulumi.Output[str] | None:
    full_key = config.full_key(key)
    # The plain value only decides whether the stack runs MLflow; it is never logged.
    plain = pulumi.runtime.get_config(full_key)
    if not plain or not str(plain).strip():
        return None
    if not str(plain).startswith(("http://", "https://")):
        raise ConfigError(f"mlops:{key} must be an http(s):// URL of an MLflow tracking server.")
    if not pulumi.runtime.is_config_secret(full_key):
        pulumi.log.warn(
            f"mlops:{key} is stored in plain text; prefer `pulumi config set --secret mlops:{key}`."
        )
    return pulumi.Output.secret(str(plain).strip())
