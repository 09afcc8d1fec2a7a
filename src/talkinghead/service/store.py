"""Where jobs live: the ``JobStore`` interface and its SQLite (WAL) implementation.

The routes and the runner see only ``JobStore``; a distributed engine can bring
its own implementation (one that several machines share) without touching them.
"""

from __future__ import annotations

import json
import sqlite3
import threading
from pathlib import Path
from typing import Any, Protocol

from talkinghead.service.errors import StoreError
from talkinghead.service.jobs import Job, JobStatus, WebhookState

_SCHEMA = """
CREATE TABLE IF NOT EXISTS jobs (
    id TEXT PRIMARY KEY,
    model TEXT NOT NULL,
    owner TEXT NOT NULL,
    created_at REAL NOT NULL,
    options TEXT NOT NULL,
    input TEXT NOT NULL,
    enable_base64_output INTEGER NOT NULL,
    webhook_url TEXT,
    base_url TEXT NOT NULL,
    status TEXT NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    progress_done INTEGER NOT NULL DEFAULT 0,
    progress_total INTEGER NOT NULL DEFAULT 0,
    started_at REAL,
    finished_at REAL,
    inference_ms INTEGER NOT NULL DEFAULT 0,
    error TEXT,
    error_code TEXT,
    has_nsfw INTEGER,
    webhook_state TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS jobs_by_status ON jobs (status, created_at);
"""
_COLUMNS = ("id", "model", "owner", "created_at", "options", "input", "enable_base64_output",
            "webhook_url", "base_url", "status", "attempts", "progress_done", "progress_total",
            "started_at", "finished_at", "inference_ms", "error", "error_code", "has_nsfw",
            "webhook_state")


class JobStore(Protocol):
    """Persistent job records. Only the runner changes a job's status."""

    def create(self, job: Job) -> None:
        """Add a new job (status created)."""

    def get(self, job_id: str) -> Job | None:
        """The job, or None if unknown or deleted."""

    def count(self, status: JobStatus) -> int:
        """How many jobs are in ``status``."""

    def claim_next(self, now: float) -> Job | None:
        """Atomically move the oldest created job to processing (attempts + 1)."""

    def mark_started(self, job_id: str, *, attempt: int, now: float) -> Job | None:
        """A fleet worker started ``job_id`` (its ``attempt``-th start): processing."""

    def unfinished(self) -> list[Job]:
        """Jobs created or processing, oldest first."""

    def set_progress(self, job_id: str, done: int, total: int) -> None:
        """Record frames done out of total."""

    def finish(self, job_id: str, status: JobStatus, *, now: float, error: str | None = None,
               error_code: str | None = None, inference_ms: int = 0,
               has_nsfw: bool | None = None) -> Job | None:
        """Move a job to completed or failed; returns the updated job."""

    def requeue(self, job_id: str) -> None:
        """Put a processing job back to created (its worker died)."""

    def recover(self, *, max_attempts: int, now: float) -> list[Job]:
        """After a restart: processing jobs run again, or fail when out of attempts.

        Returns the jobs that were failed.
        """

    def set_webhook_state(self, job_id: str, state: WebhookState) -> None:
        """Record a webhook's delivery state."""

    def pending_webhooks(self) -> list[Job]:
        """Finished jobs whose webhook has not been delivered or given up."""

    def created_before(self, before: float) -> list[str]:
        """Ids of jobs created before ``before`` (for expiry)."""

    def delete(self, job_id: str) -> None:
        """Forget a job."""


class SQLiteJobStore:
    """``JobStore`` in one SQLite file (WAL), safe to share between threads."""

    def __init__(self, path: Path) -> None:
        """Open (or create) the store; StoreError, naming ``path``, if it is unusable."""
        path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        try:
            self._db = sqlite3.connect(str(path), check_same_thread=False,
                                       isolation_level=None, timeout=30.0)
        except sqlite3.Error as exc:
            raise StoreError(f"cannot open the job store {path}: {exc}") from exc
        try:
            self._db.row_factory = sqlite3.Row
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=NORMAL")
            self._db.executescript(_SCHEMA)
            problems = [r[0] for r in self._db.execute("PRAGMA quick_check(3)").fetchall()]
            if problems != ["ok"]:
                raise sqlite3.DatabaseError("; ".join(problems))
        except sqlite3.Error as exc:
            self._db.close()
            raise StoreError(
                f"the job store {path} is damaged or not an SQLite database ({exc}); move it "
                "aside to start with an empty store, or restore it from a backup") from exc

    def close(self) -> None:
        """Close the database connection."""
        with self._lock:
            self._db.close()

    def create(self, job: Job) -> None:
        row = _to_row(job)
        marks = ", ".join("?" for _ in _COLUMNS)
        with self._lock:
            self._db.execute(f"INSERT INTO jobs ({', '.join(_COLUMNS)}) VALUES ({marks})",
                             [row[c] for c in _COLUMNS])

    def get(self, job_id: str) -> Job | None:
        with self._lock:
            row = self._db.execute("SELECT * FROM jobs WHERE id = ?", (job_id,)).fetchone()
        return _from_row(row) if row else None

    def count(self, status: JobStatus) -> int:
        with self._lock:
            return int(self._db.execute("SELECT COUNT(*) FROM jobs WHERE status = ?",
                                        (status.value,)).fetchone()[0])

    def claim_next(self, now: float) -> Job | None:
        with self._lock:
            row = self._db.execute(
                "UPDATE jobs SET status = 'processing', attempts = attempts + 1, started_at = ?,"
                " progress_done = 0 WHERE id = (SELECT id FROM jobs WHERE status = 'created'"
                " ORDER BY created_at, rowid LIMIT 1) AND status = 'created' RETURNING *",
                (now,)).fetchone()
        return _from_row(row) if row else None

    def mark_started(self, job_id: str, *, attempt: int, now: float) -> Job | None:
        with self._lock:
            row = self._db.execute(
                "UPDATE jobs SET status = 'processing', attempts = MAX(attempts, ?),"
                " started_at = ?, progress_done = 0 WHERE id = ?"
                " AND status IN ('created', 'processing') RETURNING *",
                (attempt, now, job_id)).fetchone()
        return _from_row(row) if row else None

    def unfinished(self) -> list[Job]:
        with self._lock:
            rows = self._db.execute("SELECT * FROM jobs WHERE status IN ('created', 'processing')"
                                    " ORDER BY created_at, rowid").fetchall()
        return [_from_row(r) for r in rows]

    def set_progress(self, job_id: str, done: int, total: int) -> None:
        with self._lock:
            self._db.execute("UPDATE jobs SET progress_done = ?, progress_total = ? WHERE id = ?"
                             " AND status = 'processing'", (done, total, job_id))

    def finish(self, job_id: str, status: JobStatus, *, now: float, error: str | None = None,
               error_code: str | None = None, inference_ms: int = 0,
               has_nsfw: bool | None = None) -> Job | None:
        if not status.is_terminal():
            raise ValueError(f"finish() needs a terminal status, not {status.value}")
        with self._lock:
            row = self._db.execute(
                "UPDATE jobs SET status = ?, finished_at = ?, error = ?, error_code = ?,"
                " inference_ms = ?, has_nsfw = ?, webhook_state = CASE WHEN webhook_url IS NULL"
                " THEN 'none' ELSE 'pending' END WHERE id = ? AND status IN"
                " ('created', 'processing') RETURNING *",
                (status.value, now, error, error_code, inference_ms,
                 None if has_nsfw is None else int(has_nsfw), job_id)).fetchone()
        return _from_row(row) if row else None

    def requeue(self, job_id: str) -> None:
        with self._lock:
            self._db.execute("UPDATE jobs SET status = 'created', progress_done = 0 WHERE id = ?"
                             " AND status = 'processing'", (job_id,))

    def recover(self, *, max_attempts: int, now: float) -> list[Job]:
        with self._lock:
            self._db.execute("UPDATE jobs SET status = 'created', progress_done = 0"
                             " WHERE status = 'processing' AND attempts < ?", (max_attempts,))
            ids = [r[0] for r in self._db.execute(
                "SELECT id FROM jobs WHERE status = 'processing'").fetchall()]
        failed = []
        for job_id in ids:
            job = self.finish(job_id, JobStatus.FAILED, now=now, error_code="interrupted",
                              error=f"rendering was interrupted {max_attempts} times (server "
                                    "restarts or worker crashes); giving up, please resubmit")
            if job:
                failed.append(job)
        return failed

    def set_webhook_state(self, job_id: str, state: WebhookState) -> None:
        with self._lock:
            self._db.execute("UPDATE jobs SET webhook_state = ? WHERE id = ?",
                             (state.value, job_id))

    def pending_webhooks(self) -> list[Job]:
        with self._lock:
            rows = self._db.execute("SELECT * FROM jobs WHERE webhook_state = 'pending'"
                                    " AND status IN ('completed', 'failed')").fetchall()
        return [_from_row(r) for r in rows]

    def created_before(self, before: float) -> list[str]:
        with self._lock:
            rows = self._db.execute("SELECT id FROM jobs WHERE created_at < ?",
                                    (before,)).fetchall()
        return [r[0] for r in rows]

    def delete(self, job_id: str) -> None:
        with self._lock:
            self._db.execute("DELETE FROM jobs WHERE id = ?", (job_id,))


def _to_row(job: Job) -> dict[str, Any]:
    row = {c: getattr(job, c) for c in _COLUMNS}
    row["options"] = json.dumps(job.options)
    row["input"] = json.dumps(job.input)
    row["enable_base64_output"] = int(job.enable_base64_output)
    row["status"] = job.status.value
    row["webhook_state"] = job.webhook_state.value
    row["has_nsfw"] = None if job.has_nsfw is None else int(job.has_nsfw)
    return row


def _from_row(row: sqlite3.Row) -> Job:
    values = dict(row)
    values["options"] = json.loads(values["options"])
    values["input"] = json.loads(values["input"])
    values["enable_base64_output"] = bool(values["enable_base64_output"])
    values["status"] = JobStatus(values["status"])
    values["webhook_state"] = WebhookState(values["webhook_state"])
    values["has_nsfw"] = None if values["has_nsfw"] is None else bool(values["has_nsfw"])
    return Job(**values)
