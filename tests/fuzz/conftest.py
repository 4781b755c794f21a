"""The served app for the fuzz session, and the tally a run reports.

The tally counts per role, so a run says how much each caller tried and the
session can refuse to pass on nothing (``test_every_role_was_fuzzed``).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator

import pytest

from tests.fuzz.served import ROLES, STARTED, Served, serve

TALLY: Counter[str] = Counter()
OPERATIONS: set[str] = set()


@pytest.fixture(scope="session")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    with serve(tmp_path_factory.mktemp("mlops-fuzz"), STARTED) as served:
        yield served


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    if not OPERATIONS:
        return
    first, *rest = ROLES
    per_role = ", ".join(
        [f"{first} {TALLY['cases:' + first]} cases"] + [f"{r} {TALLY['cases:' + r]}" for r in rest]
    )
    terminalreporter.write_line(
        f"schemathesis: {per_role} over {len(OPERATIONS)} operations,"
        f" {TALLY['server_errors']} server errors; non-admin 403s on admin routes:"
        f" {TALLY['admin_refused']}, other's 404s on user's ids: {TALLY['cross_user_404']}"
    )
