"""What the local launcher does beyond the port: a server restart fails orphaned jobs."""

from __future__ import annotations

import sys
from pathlib import Path

from app.adapters.local.jobs import SubprocessJobLauncher, tail
from app.adapters.local.sqlite import SqliteDatabase
from app.domain.jobs import JobReason, JobStatus, TrainingJobRequest

FAKE_TRAIN = Path(__file__).parents[2] / "ports" / "fake_train.py"


def launcher(tmp_path: Path) -> SubprocessJobLauncher:
    return SubprocessJobLauncher(
        SqliteDatabase(tmp_path / "db.sqlite3"),
        tmp_path / "jobs",
        env={},
        program=[sys.executable, str(FAKE_TRAIN)],
    )


def test_a_restarted_server_fails_the_jobs_the_old_one_left_running(tmp_path):
    old = launcher(tmp_path)
    job = old.start(
        TrainingJobRequest(JobReason.MANUAL, "admin", 7, 1, "never"), cooldown_seconds=None
    )
    old.shutdown()  # the server stops: its job is terminated
    assert old.get(job.id).status is JobStatus.FAILED
    assert "stopped with the server" in old.get(job.id).error

    db = SqliteDatabase(tmp_path / "db.sqlite3")
    with db.connect() as conn:  # as if the old server had been killed mid-job
        conn.execute("UPDATE training_jobs SET status = 'running', error = NULL")
    new = launcher(tmp_path)
    assert new.recover() == 1
    assert "interrupted" in new.get(job.id).error


def test_tail_folds_progress_bars_and_keeps_the_last_lines(tmp_path):
    log = tmp_path / "log.txt"
    log.write_text("start\n 10%\r 50%\r100%\n" + "".join(f"line {i}\n" for i in range(30)))
    lines = tail(log, 3).splitlines()
    assert lines == ["line 27", "line 28", "line 29"]
    assert tail(log, 40).splitlines()[:2] == ["start", "100%"]
    assert tail(tmp_path / "missing.txt") == ""


def test_recover_stops_what_a_killed_server_left_running(tmp_path):
    import subprocess
    import time

    db = SqliteDatabase(tmp_path / "db.sqlite3")
    orphan = subprocess.Popen(["sleep", "60"], start_new_session=True)
    with db.connect() as conn:
        conn.execute(
            "INSERT INTO training_jobs (id, reason, request, status, created_at, pid)"
            " VALUES ('j1', 'manual', ?, 'running', ?, ?)",
            (
                '{"reason": "manual", "requested_by": "a", "generate_per_class": 1,'
                ' "heldout_per_class": 1, "promote": "always", "include_feedback": true}',
                time.time(),
                orphan.pid,
            ),
        )
    assert launcher(tmp_path).recover() == 1
    assert orphan.wait(timeout=5) < 0, "the left-over job was stopped, it cannot promote later"
    assert "interrupted" in launcher(tmp_path).get("j1").error
