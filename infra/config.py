"""The stack's settings: every ``mlops:*`` key, read once, typed and checked.

Only this module and ``infra/__main__.py`` read Pulumi config; components take typed
Args. Every key is documented in ``Pulumi.yaml`` (with its default as the project-wide
value) and the tests hold the two in step.

Example::

    settings = read_stack_config()          # inside a Pulumi program
    settings.cloud, settings.aws.compute    # "aws", "fargate"
"""

from __future__ import annotations

import ipaddress
from collections.abc import Callable
from dataclasses import dataclass, field, fields
from typing import Any, ClassVar

import pulumi

from infra.aws.identity import MFA_MODES
from infra.aws.network import NAT_MODES
from infra.aws.service import COMPUTE_MODES, validate_fargate_size

NAMESPACE = "mlops"
CLOUDS = ("aws", "azure", "gcp")
# An OCR function's claim on a document (MLOPS_OCR_LEASE_SECONDS) outlasts the platform's
# invocation timeout by this much, so a retry takes over only an attempt surely ended.
OCR_LEASE_MARGIN_SECONDS = 60
# The retention periods CloudWatch Logs accepts.
LOG_RETENTION_DAYS = (
    1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557,
    2922, 3288, 3653,
)  # fmt: skip


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
class AwsStackConfig(CloudStackConfig):
    """The AWS program's settings (besides the shared ones of :class:`CloudStackConfig`);
    field ``foo_bar`` is config key ``mlops:fooBar``."""

    cloud: ClassVar[str] = "aws"

    compute: str = "fargate"
    az_count: int = 2
    vpc_cidr: str = "10.0.0.0/16"
    nat_gateways: str = "one"
    app_cpu: int = 512
    app_memory: int = 1024
    app_min_count: int = 1
    app_max_count: int = 4
    app_cpu_target: int = 60
    lambda_memory: int = 2048
    lambda_timeout: int = 30
    lambda_reserved_concurrency: int = -1
    lambda_provisioned_concurrency: int = 0
    training_cpu: int = 2048
    training_memory: int = 8192
    throttle_burst: int = 100
    throttle_rate: float = 50.0
    mfa: str = "optional"
    auth_domain_prefix: str = ""
    auth_callback_urls: tuple[str, ...] = ()
    access_token_minutes: int = 60
    id_token_minutes: int = 60
    refresh_token_days: int = 30
    mlflow_min_acu: float = 0.5
    mlflow_max_acu: float = 2.0
    alarm_email: str = ""
    ocr_batch_size: int = 5
    ocr_max_concurrency: int = 5

    @classmethod
    def checks(cls) -> tuple[Callable[[Any], str], ...]:
        return _AWS_CHECKS


@dataclass(frozen=True)
class StackConfig:
    cloud: str
    aws: AwsStackConfig | None = None
    azure: Any = None  # infra.azure.config.AzureStackConfig
    gcp: Any = None  # infra.gcp.config.GcpStackConfig


def cloud_configs() -> dict[str, type[CloudStackConfig]]:
    """Each cloud's settings class (imported here: they import nothing heavy)."""
    from infra.azure.config import AzureStackConfig
    from infra.gcp.config import GcpStackConfig

    return {"aws": AwsStackConfig, "azure": AzureStackConfig, "gcp": GcpStackConfig}


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
    settings = cloud_configs()[cloud].from_config(config)
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


# -- checks (each returns one sentence naming the key, or "") -----------------------------


def _one_of(attr: str, allowed: tuple[Any, ...]) -> Callable[[Any], str]:
    def check(c: Any) -> str:
        value = getattr(c, attr)
        if value in allowed:
            return ""
        return f"mlops:{config_key(attr)} is {value!r}; use one of {', '.join(map(str, allowed))}."

    return check


def _within(attr: str, low: float, high: float) -> Callable[[Any], str]:
    def check(c: Any) -> str:
        value = getattr(c, attr)
        if low <= value <= high:
            return ""
        return f"mlops:{config_key(attr)} is {value}; use a value from {low} to {high}."

    return check


def _fargate(cpu: str, memory: str, what: str) -> Callable[[AwsStackConfig], str]:
    def check(c: AwsStackConfig) -> str:
        try:
            validate_fargate_size(getattr(c, cpu), getattr(c, memory), what=what)
        except ValueError as exc:
            return f"{exc} Change mlops:{config_key(cpu)} or mlops:{config_key(memory)}."
        return ""

    return check


def _ipv4_range(attr: str, example: str, longest: int) -> Callable[[Any], str]:
    """An IPv4 range from /16 to /``longest``."""

    def check(c: Any) -> str:
        value, key = getattr(c, attr), config_key(attr)
        try:
            network = ipaddress.ip_network(value)
        except ValueError:
            return f"mlops:{key} is {value!r}; use an IPv4 range such as {example}."
        if network.version != 4 or not 16 <= network.prefixlen <= longest:
            return f"mlops:{key} is {value}; use an IPv4 range from /16 to /{longest}."
        return ""

    return check


def _not_above(low: str, high: str) -> Callable[[Any], str]:
    def check(c: Any) -> str:
        if getattr(c, low) <= getattr(c, high):
            return ""
        return (
            f"mlops:{config_key(low)} ({getattr(c, low)}) is above "
            f"mlops:{config_key(high)} ({getattr(c, high)})."
        )

    return check


def _check_lambda_concurrency(c: AwsStackConfig) -> str:
    reserved, warm = c.lambda_reserved_concurrency, c.lambda_provisioned_concurrency
    if reserved == 0 or reserved < -1:
        return (
            "mlops:lambdaReservedConcurrency must be -1 (no reservation) or at least 1; "
            "0 would stop the API."
        )
    if warm < 0:
        return "mlops:lambdaProvisionedConcurrency must be 0 (off) or more."
    if reserved > 0 and warm > reserved:
        return (
            f"mlops:lambdaProvisionedConcurrency ({warm}) exceeds "
            f"mlops:lambdaReservedConcurrency ({reserved}); lower it or raise the reservation."
        )
    return ""


def _check_mlflow_capacity(c: AwsStackConfig) -> str:
    if 0 <= c.mlflow_min_acu <= c.mlflow_max_acu <= 256:
        return ""
    return (
        f"mlops:mlflowMinAcu ({c.mlflow_min_acu}) and mlops:mlflowMaxAcu ({c.mlflow_max_acu}) "
        "need 0 <= min <= max <= 256."
    )


def _check_hosted_ui(c: AwsStackConfig) -> str:
    if c.auth_callback_urls and not c.auth_domain_prefix:
        return "mlops:authCallbackUrls need mlops:authDomainPrefix (the hosted sign-in page)."
    return ""


def _check_images(c: Any) -> str:
    for attr in ("app_image", "ocr_image"):
        image = getattr(c, attr)
        if image and (" " in image or ("@" not in image and ":" not in image.rsplit("/", 1)[-1])):
            return (
                f"mlops:{config_key(attr)} is {image!r}; name a tag or digest "
                "(registry/repo:tag or registry/repo@sha256:...) so deployments are repeatable."
            )
    return ""


_AWS_CHECKS: tuple[Callable[[Any], str], ...] = (
    _one_of("compute", COMPUTE_MODES),
    _one_of("nat_gateways", NAT_MODES),
    _one_of("mfa", tuple(MFA_MODES)),
    _one_of("log_retention_days", LOG_RETENTION_DAYS),
    _within("az_count", 2, 6),
    _ipv4_range("vpc_cidr", "10.0.0.0/16", longest=20),
    _fargate("app_cpu", "app_memory", "app"),
    _fargate("training_cpu", "training_memory", "training job"),
    _within("app_min_count", 1, 100),
    _within("app_max_count", 1, 100),
    _not_above("app_min_count", "app_max_count"),
    _within("app_cpu_target", 10, 95),
    _within("lambda_memory", 128, 10240),
    _within("lambda_timeout", 1, 30),
    _check_lambda_concurrency,
    _within("throttle_burst", 0, 5000),
    _within("throttle_rate", 0, 10000),
    _within("access_token_minutes", 5, 1440),
    _within("id_token_minutes", 5, 1440),
    _within("refresh_token_days", 1, 3650),
    _check_mlflow_capacity,
    _check_hosted_ui,
    _check_images,
    _within("ocr_batch_size", 1, 10),
    _within("ocr_max_concurrency", 2, 1000),
    _within("upload_expiration_days", 1, 3650),
)
