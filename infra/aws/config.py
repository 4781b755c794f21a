"""The AWS program's settings (besides the shared ones of :class:`CloudStackConfig`), checked
before anything is created. This module imports no provider package.

Example::

    c = AwsStackConfig(compute="lambda", az_count=3)
    c.vpc_cidr   # "10.0.0.0/16"
    AwsStackConfig(az_count=9)   # ConfigError: mlops:azCount is 9; use a value from 2 to 6.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import ClassVar

from infra.aws.choices import COMPUTE_MODES, MFA_MODES, NAT_MODES
from infra.aws.fargate_sizes import validate_fargate_size
from infra.checks import Check, check_images, ipv4_range, not_above, one_of, within
from infra.config import CloudStackConfig, config_key

# The retention periods CloudWatch Logs accepts.
LOG_RETENTION_DAYS = (
    1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557,
    2922, 3288, 3653,
)  # fmt: skip


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
    def checks(cls) -> tuple[Check, ...]:
        return _AWS_CHECKS


def _fargate(cpu: str, memory: str, what: str) -> Callable[[AwsStackConfig], str]:
    def check(c: AwsStackConfig) -> str:
        try:
            validate_fargate_size(getattr(c, cpu), getattr(c, memory), what=what)
        except ValueError as exc:
            return f"{exc} Change mlops:{config_key(cpu)} or mlops:{config_key(memory)}."
        return ""

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


_AWS_CHECKS: tuple[Check, ...] = (
    one_of("compute", COMPUTE_MODES),
    one_of("nat_gateways", NAT_MODES),
    one_of("mfa", tuple(MFA_MODES)),
    one_of("log_retention_days", LOG_RETENTION_DAYS),
    within("az_count", 2, 6),
    ipv4_range("vpc_cidr", "10.0.0.0/16", longest=20),
    _fargate("app_cpu", "app_memory", "app"),
    _fargate("training_cpu", "training_memory", "training job"),
    within("app_min_count", 1, 100),
    within("app_max_count", 1, 100),
    not_above("app_min_count", "app_max_count"),
    within("app_cpu_target", 10, 95),
    within("lambda_memory", 128, 10240),
    within("lambda_timeout", 1, 30),
    _check_lambda_concurrency,
    within("throttle_burst", 0, 5000),
    within("throttle_rate", 0, 10000),
    within("access_token_minutes", 5, 1440),
    within("id_token_minutes", 5, 1440),
    within("refresh_token_days", 1, 3650),
    _check_mlflow_capacity,
    _check_hosted_ui,
    check_images,
    within("ocr_batch_size", 1, 10),
    within("ocr_max_concurrency", 2, 1000),
    within("upload_expiration_days", 1, 3650),
)
