"""The Azure program's settings, checked before anything is created.

Keys shared with the other clouds keep their meaning and default; a setting only Azure has
gets its own key (``azure``-prefixed where AWS has a key of the same name and another
meaning, e.g. ``azureAppCpu`` in vCPUs where ``appCpu`` is Fargate CPU units). This module
imports no provider package.

Example::

    c = AzureStackConfig(apim_publisher_email="ops@example.com", auth_audience="api://x")
    c.missing()   # [] : ready to deploy
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from itertools import accumulate
from pathlib import Path
from typing import Any, ClassVar

from infra.azure.sizes import size_problem
from infra.checks import Check, check_images, one_of, within
from infra.config import OCR_LEASE_MARGIN_SECONDS, CloudStackConfig, config_key

OCR_PLAN_SKUS = ("EP1", "EP2", "EP3")
ACR_SKUS = ("Basic", "Standard", "Premium")
POSTGRES_STORAGE_GB = (32, 64, 128, 256, 512, 1024)
MLFLOW_INGRESS = ("external", "internal")


@dataclass(frozen=True)
class AzureStackConfig(CloudStackConfig):
    """Field ``foo_bar`` is config key ``mlops:fooBar``."""

    cloud: ClassVar[str] = "azure"

    # Azure only (the keys every cloud reads are CloudStackConfig's).
    # The app's Container App: size (vCPU, memory with 2 GiB per vCPU) and replicas.
    azure_app_cpu: float = 1.0
    azure_app_memory: str = "2Gi"
    app_min_replicas: int = 1
    app_max_replicas: int = 4
    app_concurrent_requests: int = 20
    # The training Container Apps Job.
    azure_training_cpu: float = 2.0
    azure_training_memory: str = "4Gi"
    training_timeout_minutes: int = 120
    # API Management (Consumption): who publishes it (required by Azure), rate ceiling.
    apim_publisher_email: str = ""
    apim_publisher_name: str = "mlops-multicloud"
    apim_rate_limit_calls: int = 100
    apim_rate_limit_seconds: int = 60
    apim_concurrent_per_caller: int = 10
    # Tokens the gateway and the app accept. Empty issuer: Entra ID v2 of the tenant.
    auth_issuer: str = ""
    # Comma-separated; the API app registration's client id (v2 tokens carry it as aud).
    auth_audience: str = ""
    key_vault_purge_protection: bool = True
    acr_sku: str = "Basic"
    # The stack's MLflow: reachable from the internet (basic auth) or only from the
    # Container Apps environment (then the OCR Function cannot reach it).
    mlflow_ingress: str = "external"
    mlflow_db_sku: str = "Standard_B1ms"
    mlflow_db_storage_gb: int = 32
    ocr_plan_sku: str = "EP1"
    ocr_max_instances: int = 3
    event_max_delivery_attempts: int = 10
    event_ttl_minutes: int = 1440

    @classmethod
    def checks(cls) -> tuple[Check, ...]:
        return _AZURE_CHECKS

    @property
    def audiences(self) -> list[str]:
        return [a.strip() for a in self.auth_audience.split(",") if a.strip()]

    def missing(self) -> list[str]:
        """Settings a deployment needs that have no default, one sentence each."""
        problems = []
        if "@" not in self.apim_publisher_email:
            problems.append(
                "mlops:apimPublisherEmail is not set: API Management needs a publisher "
                "email (`pulumi config set mlops:apimPublisherEmail you@example.com`)."
            )
        if not self.audiences:
            problems.append(
                "mlops:authAudience is not set: give the client id of the API's Entra ID app "
                "registration (`pulumi config set mlops:authAudience <client-id>`;"
                " see docs/deploy/azure.md)."
            )
        return problems


def _size(cpu: str, memory: str) -> Callable[[Any], str]:
    def check(c: Any) -> str:
        problem = size_problem(getattr(c, cpu), getattr(c, memory))
        if not problem:
            return ""
        return f"mlops:{config_key(cpu)}/mlops:{config_key(memory)}: {problem}."

    return check


def _check_replicas(c: AzureStackConfig) -> str:
    if 0 <= c.app_min_replicas <= c.app_max_replicas:
        return ""
    return (
        f"mlops:appMinReplicas ({c.app_min_replicas}) must be from 0 to "
        f"mlops:appMaxReplicas ({c.app_max_replicas})."
    )


HOST_JSON = Path(__file__).resolve().parents[2] / "functions" / "azure" / "host.json"


def function_timeout_seconds(host_json: Path = HOST_JSON) -> int:
    """host.json's ``functionTimeout`` (``hh:mm:ss``), which the OCR image ships."""
    timeout = json.loads(host_json.read_text())["functionTimeout"]
    hours, minutes, seconds = map(int, timeout.split(":"))
    return hours * 3600 + minutes * 60 + seconds


def ocr_lease_seconds() -> int:
    """``MLOPS_OCR_LEASE_SECONDS`` of the OCR function: a retry may take a document over
    once the invocation that held it has surely timed out."""
    return function_timeout_seconds() + OCR_LEASE_MARGIN_SECONDS


# Event Grid's retry schedule (seconds after the previous try), then every 12 hours.
EVENT_GRID_BACKOFF = (10, 30, 60, 300, 600, 1800, 3600, 10800, 21600)


def _check_event_retries(c: AzureStackConfig) -> str:
    """Some retry must come after the OCR lease and within the event's time to live:
    otherwise an upload whose attempt died is dead-lettered instead of taken over."""
    lease = ocr_lease_seconds()
    waits = (*EVENT_GRID_BACKOFF, *[43200] * 30)[: c.event_max_delivery_attempts - 1]
    retries_at = [sum(waits[: i + 1]) for i in range(len(waits))]
    if any(lease < t <= c.event_ttl_minutes * 60 for t in retries_at):
        return ""
    first = next(i + 2 for i, t in enumerate(accumulate(EVENT_GRID_BACKOFF)) if t > lease)
    minutes = -(-next(t for t in accumulate(EVENT_GRID_BACKOFF) if t > lease) // 60)
    return (
        f"mlops:eventMaxDeliveryAttempts ({c.event_max_delivery_attempts}) and "
        f"mlops:eventTtlMinutes ({c.event_ttl_minutes}) leave no retry after the OCR "
        f"lease ({lease} s), so an upload whose attempt died would be dead-lettered; "
        f"use at least {first} attempts and {minutes} minutes."
    )


def _check_issuer(c: AzureStackConfig) -> str:
    if not c.auth_issuer or c.auth_issuer.startswith("https://"):
        return ""
    return f"mlops:authIssuer is {c.auth_issuer!r}; use the https:// issuer of your tokens."


_AZURE_CHECKS: tuple[Check, ...] = (
    check_images,
    within("upload_expiration_days", 1, 3650),
    within("log_retention_days", 30, 730),
    _size("azure_app_cpu", "azure_app_memory"),
    _size("azure_training_cpu", "azure_training_memory"),
    within("app_min_replicas", 0, 300),
    within("app_max_replicas", 1, 300),
    _check_replicas,
    within("app_concurrent_requests", 1, 1000),
    within("training_timeout_minutes", 5, 1440),
    within("apim_rate_limit_calls", 1, 1_000_000),
    within("apim_rate_limit_seconds", 1, 300),
    within("apim_concurrent_per_caller", 1, 1000),
    _check_issuer,
    one_of("acr_sku", ACR_SKUS),
    one_of("mlflow_db_storage_gb", POSTGRES_STORAGE_GB),
    one_of("mlflow_ingress", MLFLOW_INGRESS),
    one_of("ocr_plan_sku", OCR_PLAN_SKUS),
    within("ocr_max_instances", 1, 100),
    within("event_max_delivery_attempts", 1, 30),
    within("event_ttl_minutes", 1, 1440),
    _check_event_retries,
)
