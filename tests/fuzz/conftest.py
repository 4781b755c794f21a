"""The served app the fuzzer attacks, and the tally a run reports.

The tally counts per role and operation, so a run says how much each caller
tried and refuses to pass on nothing
(``test_every_role_fuzzed_every_operation_and_crossed_real_ids``).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator

import pytest

from tests.fuzz.served import ROLES, STARTED, Served, serve

TALLY: Counter[str] = Counter()
OPERATIONS: set[str] = set()
# "role:operation" of every fuzz item that ran, whether or not it generated a case.
ITEMS: set[str] = set()


# Module scope: the one module that fuzzes stops the app (OCR workers, model) when it ends,
# not at the end of a whole `make test` session.
@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    with serve(tmp_path_factory.mktemp("mlops-fuzz"), STARTED) as served:
        yield served


@pytest.fixture
def fuzz_item(request: pytest.FixtureRequest, role: str) -> str:
    """Records the item before Hypothesis runs, so an item with no cases is noticed."""
    label = request.node.operation_label
    OPERATIONS.add(label)
    ITEMS.add(f"{role}:{label}")
    return f"{role}:{label}"


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
