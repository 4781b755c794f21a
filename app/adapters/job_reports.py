"""What every cloud's training-job launcher shares: the command, the ids, the report.

A job runs ``mlops train ... --report-json -``: the training report is one JSON line
on stdout, which reaches the cloud's log service (CloudWatch Logs, Log Analytics,
Cloud Logging). A launcher reads the log back, splits the report from the other
lines and keeps the last ones as the job's log tail, headed by the command line.

Example::

    command = training_command(request)        # ["mlops", "train", ..., "--report-json", "-"]
    report, lines = split_report(log_lines)    # ({"version": "5", "promoted": True, ...}, [...])
    job.log_tail = tail(command, lines)
"""

from __future__ import annotations

import json
import secrets
import time
from collections.abc import Sequence
from dataclasses import asdict
from typing import Any

from app.domain.jobs import JobReason, TrainingJobRequest

LOG_TAIL_LINES = 20


def new_job_id() -> str:
    """Creation time in hex, then randomness: ids sort newest last, as strings too."""
    return f"{time.time_ns() // 1000:014x}{secrets.token_hex(9)}"


def training_command(request: TrainingJobRequest) -> list[str]:
    """The argv a job container runs for ``request``."""
    return ["mlops", *request.train_arguments(), "--report-json", "-"]


def request_to_json(request: TrainingJobRequest) -> str:
    return json.dumps(asdict(request))


def request_from_json(text: str) -> TrainingJobRequest:
    fields: dict[str, Any] = json.loads(text)
    return TrainingJobRequest(**{**fields, "reason": JobReason(fields["reason"])})


def split_report(lines: Sequence[str]) -> tuple[dict | None, list[str]]:
    """The training report (the last JSON line with a version) and the other lines."""
    for index in range(len(lines) - 1, -1, -1):
        if not lines[index].startswith("{"):
            continue
        try:
            report = json.loads(lines[index])
        except ValueError:
            continue
        if isinstance(report, dict) and {"version", "promoted"} <= report.keys():
            return report, [*lines[:index], *lines[index + 1 :]]
    return None, list(lines)


def tail(command: Sequence[str], lines: Sequence[str]) -> str:
    """The command line the job ran, then the last lines of its log."""
    return "\n".join([f"$ {' '.join(command)}", *lines[-LOG_TAIL_LINES:]])


def exit_failure(code: int | None, lines: Sequence[str], detail: str = "") -> str:
    """Why a run that ended without a report failed, in one sentence."""
    last = lines[-1] if lines else "no output"
    suffix = f" ({detail})" if detail else ""
    if code is None:
        return f"The training job stopped before mlops train ran{suffix}."
    return f"mlops train exited with code {code}{suffix}: {last}"


def not_started(service: str, reason: str, check: str) -> str:
    """A start the cloud refused: what it said and what to look at."""
    return (
        f"{service} could not start the training job ({reason}); check {check},"
        " then start a new job."
    )
