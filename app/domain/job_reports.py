"""What a training run's log and its cloud say, in the words users read.

A job runs ``mlops train ... --report-json -``: the training report is one JSON line
on stdout, which reaches the runner's log (a file, CloudWatch Logs, Log Analytics,
Cloud Logging). Runners read the log back as lines (:func:`log_lines`) and word why a
run failed or could not start with the sentences below, the same on every cloud; the
flow that judges a run from them is :class:`~app.services.training_jobs.TrainingJobs`.
No I/O and no SDK here.

Example::

    log_lines("epoch 1\r epoch 2\n\ndone\n")           # ["epoch 2", "done"]
    exit_failure(2, ["mlops train: nothing to train on"])  # "mlops train exited with code 2: ..."
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

# Read from the end of a run's log: enough entries for the tail and the report line.
LOG_ENTRIES_READ = 100


def log_lines(text: str) -> list[str]:
    """The lines of a log entry as a terminal showed them: a progress bar's carriage
    returns keep only its last state; blank lines go."""
    lines = (line.rsplit("\r", 1)[-1].rstrip() for line in text.split("\n"))
    return [line for line in lines if line]


# -- what users read: one sentence, with what to do next


def missing_settings(settings: Mapping[str, object]) -> str | None:
    """Why a deployment cannot run jobs: the settings (name: value) left empty; None
    when all are set."""
    missing = [name for name, value in settings.items() if not value]
    if not missing:
        return None
    return f"Training jobs are not configured on this deployment: set {', '.join(missing)}."


def start_refused(service: str, reason: str, check: str) -> str:
    """A start the cloud refused: what it said and what to look at."""
    return (
        f"{service} could not start the training job ({reason}); check {check},"
        " then start a new job."
    )


def start_lost(run: str) -> str:
    """A job whose ``run`` ("task", "job") the cloud never started: the server stopped
    before the start was recorded, and none was found after the launch grace period."""
    return (
        f"The training {run} was never started (the server stopped while starting it);"
        " start a new job."
    )


def unanswered(cloud: str, message: str) -> str:
    """The log-tail note of a job shown as last recorded because ``cloud`` did not answer."""
    return f"({cloud} did not answer: {message}; this is the last known status)"


def forgotten(service: str, run: str) -> str:
    """A ``run`` its ``service`` no longer knows, whose log holds no report."""
    return (
        f"{service} no longer knows {run} and its log holds no report;"
        " look for its version in GET /v1/models, or start a new job."
    )


def report_missing(log: str, check: str = "") -> str:
    """A run that succeeded without its report in ``log``: what to check, where to look."""
    step = f"check {check}, then look" if check else "look"
    return (
        f"mlops train finished but its report is not in {log}; {step} the version up"
        " in GET /v1/models."
    )


def stopped_before_training(run: str, reasons: Sequence[str | None]) -> str:
    """A ``run`` that ended before ``mlops train`` ran (image pull, secrets...): the
    cloud's ``reasons``."""
    why = "; ".join(reason for reason in reasons if reason)
    return f"The training {run} stopped before mlops train ran: {why or '?'}."


def exit_failure(code: int | None, lines: Sequence[str], detail: str | None = None) -> str:
    """Why ``mlops train`` failed: its exit code (None: the cloud does not say), what
    the cloud said (``detail``) and its last line, which usually says why."""
    last = lines[-1] if lines else "no output"
    how = "failed" if code is None else f"exited with code {code}"
    suffix = f" ({detail})" if detail else ""
    return f"mlops train {how}{suffix}: {last}"
