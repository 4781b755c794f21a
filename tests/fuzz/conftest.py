"""Counts the generated cases and server errors so a run can say how much it tried."""

from __future__ import annotations

from collections import Counter

import pytest

TALLY: Counter[str] = Counter()


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    if TALLY["cases"]:
        terminalreporter.write_line(
            f"schemathesis: {TALLY['cases']} cases over {TALLY['operations']} operations,"
            f" {TALLY['server_errors']} server errors"
        )
