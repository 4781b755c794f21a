"""What the training-job flow judges from a run's status and log (training_jobs.py), and
how runners read a log (domain/job_reports.py)."""

from __future__ import annotations

import json

import pytest

from app.domain.job_reports import log_lines
from app.domain.jobs import JobStatus
from app.services.training_jobs import (
    LOG_TAIL_LINES,
    judge,
    judge_forgotten,
    split_report,
    tail,
)

REPORT = {"version": "5", "promoted": True, "heldout_accuracy": 0.93}


def test_the_report_is_the_last_json_line_naming_a_version():
    lines = ["training...", json.dumps({"version": "4", "promoted": False}), "{not json", "done"]
    lines.append(json.dumps(REPORT))
    report, rest = split_report(lines)
    assert report == REPORT
    assert rest == lines[:-1], "an earlier report-like line stays in the log"
    assert split_report(['{"loss": 0.1}', "x"]) == (None, ['{"loss": 0.1}', "x"])


def test_a_progress_bar_keeps_its_last_state_and_blank_lines_go():
    assert log_lines("start\n 10%\r 50%\r100%\n\nend\n") == ["start", "100%", "end"]


def test_the_tail_heads_the_last_lines_with_the_command():
    lines = [f"line {i}" for i in range(50)]
    text = tail(["mlops", "train", "--report-json", "-"], lines).splitlines()
    assert text[0] == "$ mlops train --report-json -"
    assert text[1:] == lines[-LOG_TAIL_LINES:]


@pytest.mark.parametrize(
    ("report", "failure", "logged", "settled", "status", "error"),
    [
        (REPORT, None, True, False, JobStatus.SUCCEEDED, None),
        # Success without the report: its last lines may still be on their way.
        (None, None, True, False, JobStatus.RUNNING, None),
        (None, None, True, True, JobStatus.FAILED, "no report"),
        # A failure whose explanation is not in the log yet waits for it, then fails.
        (None, "exit 2: boom", False, False, JobStatus.RUNNING, None),
        (None, "exit 2: boom", True, False, JobStatus.FAILED, "exit 2: boom"),
        (None, "exit 2: boom", False, True, JobStatus.FAILED, "exit 2: boom"),
        # A report from a run the cloud calls failed does not make it a success.
        (REPORT, "exit 137: OOM", True, True, JobStatus.FAILED, "exit 137: OOM"),
    ],
)
def test_a_run_that_ended_is_judged(report, failure, logged, settled, status, error):
    verdict = judge(
        report, failure=failure, failure_logged=logged, log_settled=settled, no_report="no report"
    )
    assert (verdict.status, verdict.error) == (status, error)
    if status is JobStatus.SUCCEEDED:
        assert verdict.fields == {"model_version": "5", "promoted": True}


def test_a_run_the_cloud_forgot_is_judged_from_its_log_alone():
    assert judge_forgotten(REPORT, "ECS", "task t1").status is JobStatus.SUCCEEDED
    lost = judge_forgotten(None, "ECS", "task t1")
    assert lost.status is JobStatus.FAILED and "GET /v1/models" in lost.error
