"""A small SQLite helper shared by the local record stores.

SQLite's storage faults become the domain's: a full disk, a lock held too long or an
I/O error is :class:`StorageUnavailableError` (the caller answers 503 or retries), and
a database file deleted, replaced or corrupt under a running app is
:class:`StorageDamagedError`, which names the file and what to do.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from app.domain.documents import StorageDamagedError, StorageUnavailableError

_SCHEMA = """
CREATE TABLE IF NOT EXISTS documents (
    id TEXT PRIMARY KEY,
    owner TEXT NOT NULL,
    object_key TEXT NOT NULL,
    filename TEXT NOT NULL,
    media_type TEXT NOT NULL,
    size INTEGER NOT NULL,
    status TEXT NOT NULL,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    claimed_at REAL,
    lease_until REAL,
    attempts INTEGER NOT NULL DEFAULT 0,
    text TEXT,
    language TEXT,
    prediction TEXT,
    error TEXT
);
CREATE INDEX IF NOT EXISTS documents_status ON documents(status);
CREATE INDEX IF NOT EXISTS documents_owner ON documents(owner, created_at);
CREATE TABLE IF NOT EXISTS predictions (
    id TEXT PRIMARY KEY,
    owner TEXT NOT NULL,
    label TEXT NOT NULL,
    confidence REAL NOT NULL,
    model_name TEXT NOT NULL,
    model_version TEXT NOT NULL,
    text TEXT NOT NULL,
    created_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS feedback (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    id TEXT UNIQUE NOT NULL,
    subject TEXT NOT NULL,
    subject_id TEXT NOT NULL,
    owner TEXT NOT NULL,
    true_label TEXT NOT NULL,
    predicted_label TEXT NOT NULL,
    model_version TEXT NOT NULL,
    text TEXT,
    created_at TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS feedback_version ON feedback(model_version, seq);
CREATE INDEX IF NOT EXISTS feedback_subject ON feedback(subject, subject_id);
"""


class SqliteDatabase:
    """One connection per thread, WAL mode, schema created on first use."""

    def __init__(self, path: Path, *, busy_timeout: float = 30) -> None:
        self.path = path
        # How long a write waits for another's lock before it is "unavailable" (503).
        self.busy_timeout = busy_timeout
        path.parent.mkdir(parents=True, exist_ok=True)
        self._local = threading.local()
        try:
            conn = self._connection()
            conn.executescript(_SCHEMA)
            # Damage deep in the file shows only when those pages are read: look at
            # every page once now (linear, a second for a few hundred MB), so a damaged
            # database stops the start with its name rather than failing requests later.
            verdict = conn.execute("PRAGMA quick_check").fetchone()[0]
        except sqlite3.DatabaseError as exc:
            raise self._fault(exc) from None
        if verdict != "ok":
            raise self._fault(sqlite3.DatabaseError(f"database disk image is malformed: {verdict}"))
        # The file this process writes to: if it is unlinked or replaced, every later
        # write would go to a file nobody will ever open again.
        self._identity = self._current_identity()

    def _connection(self) -> sqlite3.Connection:
        conn: sqlite3.Connection | None = getattr(self._local, "conn", None)
        if conn is None:
            conn = sqlite3.connect(self.path, timeout=self.busy_timeout, isolation_level=None)
            conn.row_factory = sqlite3.Row
            conn.execute("PRAGMA journal_mode=WAL")
            # WAL + NORMAL is durable across application crashes; only an OS
            # crash can lose the last transactions, which keeps writes cheap.
            conn.execute("PRAGMA synchronous=NORMAL")
            self._local.conn = conn
        return conn

    def check(self) -> None:
        """Raise :class:`StorageDamagedError` if the file is no longer the one opened or
        cannot be read, :class:`StorageUnavailableError` if it cannot be read now. A plain
        read: in WAL mode it waits for no writer (what /health asks)."""
        self._check_identity()
        try:
            self._connection().execute("SELECT count(*) FROM sqlite_master").fetchone()
        except sqlite3.DatabaseError as exc:
            raise self._fault(exc) from exc

    def _current_identity(self) -> tuple[int, int] | None:
        try:
            stat = os.stat(self.path)
        except FileNotFoundError:
            return None
        except OSError as exc:
            raise StorageUnavailableError(str(self.path), exc.strerror or str(exc)) from exc
        return stat.st_dev, stat.st_ino

    def _check_identity(self) -> None:
        if self._current_identity() != self._identity:
            raise StorageDamagedError(
                f"The records database {self.path} was deleted or replaced while the app"
                " ran; nothing more is written to it. Restore it from a backup (or move the"
                " new file aside) and restart the app."
            )

    @contextmanager
    def connect(self) -> Iterator[sqlite3.Connection]:
        """A transaction: ``BEGIN IMMEDIATE`` so read-then-write steps are atomic."""
        self._check_identity()
        try:
            conn = self._connection()
            conn.execute("BEGIN IMMEDIATE")
        except sqlite3.DatabaseError as exc:
            raise self._fault(exc) from exc
        try:
            yield conn
            conn.execute("COMMIT")
        except BaseException as exc:
            with contextlib.suppress(sqlite3.Error):
                conn.execute("ROLLBACK")
            if _is_storage_fault(exc):
                raise self._fault(exc) from exc  # type: ignore[arg-type]
            raise

    def _fault(self, exc: sqlite3.DatabaseError) -> StorageUnavailableError:
        if _is_corruption(exc):
            return StorageDamagedError(
                f"The records database {self.path} is damaged ({exc}). Restore it from a"
                " backup, or move it aside to start with an empty one, then restart."
            )
        return StorageUnavailableError(str(self.path), str(exc))


def _is_storage_fault(exc: BaseException) -> bool:
    """Faults of the storage, not of the statement: a constraint or a programming error
    (IntegrityError, ProgrammingError) passes through as it is."""
    return isinstance(exc, sqlite3.OperationalError | sqlite3.InternalError) or (
        type(exc) is sqlite3.DatabaseError
    )


def _is_corruption(exc: sqlite3.DatabaseError) -> bool:
    code = getattr(exc, "sqlite_errorcode", None)
    primary = code & 0xFF if isinstance(code, int) else None  # extended codes: CORRUPT_INDEX...
    text = str(exc)
    return (
        primary in (sqlite3.SQLITE_CORRUPT, sqlite3.SQLITE_NOTADB)
        or "not a database" in text
        or "malformed" in text
    )
