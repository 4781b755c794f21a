"""The example stacks register the same resources, by URN, as when they were recorded.

A changed URN means Pulumi replaces the resource (deletes it and creates another) on an
existing stack; reorganising infra/ must change none. See tests/infra/urns.py.
"""

from __future__ import annotations

import pytest

from tests.infra.urns import STACKS, recorded, urns

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")


@pytest.mark.parametrize("name", sorted(STACKS))
def test_the_example_stacks_keep_every_urn(name: str) -> None:
    now, before = set(urns(name)), set(recorded(name))
    assert sorted(before - now) == [], f"{name}: resources gone or renamed (replaced on update)"
    assert sorted(now - before) == [], f"{name}: resources added"
