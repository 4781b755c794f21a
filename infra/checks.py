"""The checks of settings every cloud uses, one each, each a function of a settings object
returning one sentence that names the key and the fix, or "" when the value is fine.

A cloud's settings class (``infra/<cloud>/config.py``) lists its checks built from these
and its own; :class:`infra.config.CloudStackConfig` runs them when it is made.

Example::

    CHECKS = (within("az_count", 2, 6), one_of("nat_gateways", ("one", "per-az")))
    within("az_count", 2, 6)(AwsStackConfig(az_count=9))
    # "mlops:azCount is 9; use a value from 2 to 6."
"""

from __future__ import annotations

import ipaddress
from collections.abc import Callable
from typing import Any

from infra.config import config_key

Check = Callable[[Any], str]


def one_of(attr: str, allowed: tuple[Any, ...]) -> Check:
    def check(c: Any) -> str:
        value = getattr(c, attr)
        if value in allowed:
            return ""
        return f"mlops:{config_key(attr)} is {value!r}; use one of {', '.join(map(str, allowed))}."

    return check


def within(attr: str, low: float, high: float) -> Check:
    def check(c: Any) -> str:
        value = getattr(c, attr)
        if low <= value <= high:
            return ""
        return f"mlops:{config_key(attr)} is {value}; use a value from {low} to {high}."

    return check


def ipv4_range(attr: str, example: str, longest: int) -> Check:
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


def not_above(low: str, high: str) -> Check:
    def check(c: Any) -> str:
        if getattr(c, low) <= getattr(c, high):
            return ""
        return (
            f"mlops:{config_key(low)} ({getattr(c, low)}) is above "
            f"mlops:{config_key(high)} ({getattr(c, high)})."
        )

    return check


def check_images(c: Any) -> str:
    """``appImage`` and ``ocrImage``, when given, name a tag or a digest."""
    for attr in ("app_image", "ocr_image"):
        image = getattr(c, attr)
        if image and (" " in image or ("@" not in image and ":" not in image.rsplit("/", 1)[-1])):
            return (
                f"mlops:{config_key(attr)} is {image!r}; name a tag or digest "
                "(registry/repo:tag or registry/repo@sha256:...) so deployments are repeatable."
            )
    return ""
