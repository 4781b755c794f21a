"""Every resource URN a whole program registers under mocks, for the example stacks.

A resource's URN (its type, its parents' types and its name) is what Pulumi matches an
existing resource by: a changed URN is a delete and a create. ``tests/infra/urns/*.txt``
hold the URNs each example stack (``Pulumi.<cloud>-dev.yaml``, plus a few variants that
take the other branches) registered before infra/ was reorganised; ``test_urns.py`` holds
the program to them. After a deliberate change of resources, record them again with::

    PYTHONPATH=$PWD .venv/bin/python -m tests.infra.urns

Each line is ``<urn>`` then ``<-`` and the parents' names, nearest first (the URN names
only the parents' types).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any
from unittest import mock

import yaml
from pulumi.runtime.mocks import MockMonitor

from tests.infra.mocks import Stack

ROOT = Path(__file__).resolve().parents[2]
RECORDED = Path(__file__).with_name("urns")


def example_config(cloud: str) -> dict[str, str]:
    """``Pulumi.<cloud>-dev.yaml``'s config as full keys and the strings Pulumi passes."""
    document = yaml.safe_load((ROOT / f"Pulumi.{cloud}-dev.yaml").read_text())
    return {key: _plain(value) for key, value in document["config"].items()}


def _plain(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list | dict):
        return json.dumps(value)
    return str(value)


def _aws(config: dict[str, str]) -> Stack:
    from infra.__main__ import main
    from tests.infra.mocks import run_program

    return run_program(main, config=config)


def _azure(config: dict[str, str]) -> Stack:
    from infra.__main__ import main
    from tests.infra import mocks
    from tests.infra.azure.stacks import CALLS, AzureMocks

    with mock.patch.object(mocks, "RecordingMocks", AzureMocks):
        return mocks.run_program(main, config=config, calls=CALLS)


def _gcp(config: dict[str, str]) -> Stack:
    from infra.__main__ import main
    from tests.infra.gcp.stacks import CALLS, STATES
    from tests.infra.mocks import run_program

    return run_program(main, config=config, calls=CALLS, states=STATES)


RUNNERS: dict[str, Callable[[dict[str, str]], Stack]] = {"aws": _aws, "azure": _azure, "gcp": _gcp}

EXTERNAL = {
    "mlops:mlflowTrackingUri": "https://mlflow.example.com",
    "mlops:appImage": "registry.example.com/mlops/app:1.4.0",
    "mlops:ocrImage": "registry.example.com/mlops/ocr:1.4.0",
}
# Example stack -> (cloud, settings over Pulumi.<cloud>-dev.yaml's).
STACKS: dict[str, tuple[str, dict[str, str]]] = {
    "aws-dev": ("aws", {}),
    "aws-dev-lambda-external": ("aws", {"mlops:compute": "lambda", **EXTERNAL}),
    "azure-dev": ("azure", {}),
    "azure-dev-external": ("azure", EXTERNAL),
    "gcp-dev": ("gcp", {}),
    "gcp-dev-external": ("gcp", EXTERNAL),
}


def urns(name: str) -> list[str]:
    """The sorted URN lines of example stack ``name`` (a key of :data:`STACKS`)."""
    cloud, settings = STACKS[name]
    parents: dict[str, str] = {}  # urn -> parent urn
    make_urn = MockMonitor.make_urn

    def recording(monitor: MockMonitor, parent: str, type_: str, resource: str) -> str:
        urn = make_urn(monitor, parent, type_, resource)
        parents[urn] = parent
        return urn

    with mock.patch.object(MockMonitor, "make_urn", recording):
        RUNNERS[cloud]({**example_config(cloud), **settings})

    def chain(urn: str) -> str:
        names = []
        while parents.get(urn):
            urn = parents[urn]
            names.append(urn.rsplit("::", 1)[-1])
        return " < ".join(names) or "-"

    return sorted(
        f"{urn} <- {chain(urn)}" for urn in parents if "::pulumi:pulumi:Stack::" not in urn
    )


def recorded(name: str) -> list[str]:
    return (RECORDED / f"{name}.txt").read_text().splitlines()


def record() -> None:
    RECORDED.mkdir(exist_ok=True)
    for name in STACKS:
        lines = urns(name)
        (RECORDED / f"{name}.txt").write_text("\n".join(lines) + "\n")
        print(f"{name}: {len(lines)} resources")


if __name__ == "__main__":
    record()
