"""What local training jobs do beyond the shared suites: a server restart fails orphaned
jobs, and the runner's log reader folds progress bars."""

from __future__ import annotations

import sys
from pathlib import Path

from app.adapters.local.jobs import SubprocessJobRunner, read_log
from app.adapters.local.sqlite import SqliteDatabase
from app.adapters.local.sqlite_jobs import SqliteJobStore
from app.domain.jobs import JobReason, JobStatus, TrainingJobRequest
from app.services.training_jobs import TrainingJobs

FAKE_TRAIN = Path(__file__).parents[2] / "ports" / "fake_train.py"


def launcher(tmp_path: Path) -> TrainingJobs:
    """One server's jobs, wired as bootstrap wires them."""
    runner = SubprocessJobRunner(
        tmp_path / "jobs", env={}, program=[sys.executable, str(FAKE_TRAIN)]
    )
    jobs = TrainingJobs(SqliteJobStore(SqliteDatabase(tmp_path / "db.sqlite3")), runner)
    runner.on_exit = jobs.get
    return jobs


def test_a_restarted_server_fails_the_jobs_the_old_one_left_running(tmp_path):
    old = launcher(tmp_path)
    job = old.start(
        TrainingJobRequest(JobReason.MANUAL, "admin", 7, 1, "never"), cooldown_seconds=None
    )
    old.runner.shutdown()  # the server stops: its job is terminated
    assert old.get(job.id).status is JobStatus.FAILED
    assert "stopped with the server" in old.get(job.id).error

    db = SqliteDatabase(tmp_path / "db.sqlite3")
    with db.connect() as conn:  # as if the old server had been killed mid-job
        conn.execute("UPDATE training_jobs SET status = 'running', error = NULL")
    new = launcher(tmp_path)
    assert new.recover() == 1
    assert "interrupted" in new.get(job.id).error


def test_read_log_folds_progress_bars_and_keeps_the_last_lines(tmp_path):
    log = tmp_path / "log.txt"
    log.write_text("start\n 10%\r 50%\r100%\n" + "".join(f"line {i}\n" for i in range(30)))
    lines = read_log(log)[-3:]
    assert lines == ["line 27", "line 28", "line 29"]
    assert read_log(log)[-40:][:2] == ["start", "100%"]
    assert read_log(tmp_path / "missing.txt") == []


def test_recover_stops_what_a_killed_server_left_running(tmp_path):
    import subprocess
    import time

    db = SqliteDatabase(tmp_path / "db.sqlite3")
    SqliteJobStore(db)  # the table
    orphan = subprocess.Popen(["sleep", "60"], start_new_session=True)
    with db.connect() as conn:
        conn.execute(
            "INSERT INTO training_jobs (id, reason, request, status, created_at, run)"
            " VALUES ('j1', 'manual', ?, 'running', ?, ?)",
            (
                '{"reason": "manual", "requested_by": "a", "generate_per_class": 1,'
                ' "heldout_per_class": 1, "promote": "always", "include_feedback": true}',
                time.time(),
                str(orphan.pid),
            ),
        )
    assert launcher(tmp_path).recover() == 1
    assert orphan.wait(timeout=5) < 0, "the left-over job was stopped, it cannot promote later"
    assert "interrupted" in launcher(tmp_path).get("j1").error


def test_a_data_dir_of_an_earlier_version_gets_the_new_columns(tmp_path):
    db = SqliteDatabase(tmp_path / "db.sqlite3")
    with db.connect() as conn:
        conn.execute(
            "CREATE TABLE training_jobs (id TEXT PRIMARY KEY, reason TEXT NOT NULL,"
            " request TEXT NOT NULL, status TEXT NOT NULL, created_at REAL NOT NULL,"
            " started_at REAL, finished_at REAL, pid INTEGER, model_version TEXT,"
            " promoted INTEGER, error TEXT)"
        )
    jobs = launcher(tmp_path)
    job = jobs.start(TrainingJobRequest(JobReason.MANUAL, "admin", 20, 1, "always"))
    jobs.runner.wait()
    assert jobs.get(job.id).status is JobStatus.SUCCEEDED
