"""The in-process job runner: a pool of rendering worker processes fed from the store.

One supervisor thread owns the workers, each on its own duplex pipe (tasks out,
events back: no queue shared between processes that may be killed). It claims
queued jobs for idle workers, folds worker events into the store, notices
crashed or overrunning workers (retrying a crashed job up to ``max_attempts``
in all, then failing it), and deletes expired jobs. Rendering never runs in the
server's event loop.

``JobRunner`` is the interface the routes use; ``Runner`` is the embedded pool,
``service/fleet_runner.py`` the same interface over Celery workers on Redis.
"""

from __future__ import annotations

import contextlib
import logging
import multiprocessing as mp
import os
import shutil
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from multiprocessing.connection import Connection, wait
from multiprocessing.process import BaseProcess
from pathlib import Path
from typing import Any, Protocol

from talkinghead.service.errors import BusyError, InsufficientStorageError, is_disk_full
from talkinghead.service.events import Done, Progress, Task
from talkinghead.service.jobs import Job, JobStatus
from talkinghead.service.settings import Settings
from talkinghead.service.store import JobStore
from talkinghead.service.worker import worker_main

log = logging.getLogger("talkinghead.service")
EXPIRE_EVERY_S = 30.0
#: Pauses between the tries of a store write that failed on a full disk.
STORE_RETRY_S = (0.2, 0.5)
#: While the store cannot be written, dispatch and unrecorded endings are tried this often.
STORE_PAUSE_S = 1.0
DISK_FULL = ("disk full: the server's disk filled up, so this task could not be finished "
             "or recorded; try again later")


class DataPaths:
    """Where a job's files live under the data directory."""

    def __init__(self, data_dir: Path) -> None:
        self.root = data_dir
        self.inputs = data_dir / "inputs"
        self.outputs = data_dir / "outputs"

    def input_dir(self, job_id: str) -> Path:
        """Folder holding a queued job's ``image`` and ``audio`` files."""
        return self.inputs / job_id

    def output(self, job_id: str) -> Path:
        """The finished MP4 of a job (only ever a whole, checked video: renamed into place)."""
        return self.outputs / f"{job_id}.mp4"

    def remove_partials(self, job_id: str = "") -> None:
        """Delete unfinished videos: ``job_id``'s, or all of them (at start, under the lock)."""
        pattern = f"{job_id}.mp4.*part" if job_id else "*.part"
        for partial in self.outputs.glob(pattern):
            partial.unlink(missing_ok=True)


class JobRunner(Protocol):
    """What the routes and ``Service`` need from whatever renders the jobs."""

    paths: DataPaths

    def start(self) -> None:
        """Recover what a previous run left and start rendering."""

    def stop(self, timeout_s: float = 5.0) -> None:
        """Stop rendering here; queued jobs stay queued."""

    def submit(self, job: Job, image: bytes, audio: bytes) -> None:
        """Keep the inputs and queue ``job``; BusyError when the queue is full."""


def outcome_of_done(paths: DataPaths, event: Done) -> tuple[JobStatus, dict[str, Any]]:
    """The status and ``JobStore.finish`` fields for a worker's ``Done``: completed when
    its video exists, else failed."""
    output = paths.output(event.job_id)
    fields: dict[str, Any] = {"inference_ms": event.inference_ms, "has_nsfw": event.has_nsfw}
    if event.error is None and output.is_file() and output.stat().st_size > 0:
        return JobStatus.COMPLETED, fields
    return JobStatus.FAILED, {**fields, "error": event.error or "the renderer produced no video",
                              "error_code": event.error_code or "render_failed"}


def finish_from_done(store: JobStore, paths: DataPaths, event: Done, now: float) -> Job | None:
    """Fold a worker's ``Done`` into the store: completed when its video exists, else failed.

    Returns the finished job, or None when it had already finished (a duplicate).
    """
    status, fields = outcome_of_done(paths, event)
    return store.finish(event.job_id, status, now=now, **fields)


class StoreTrouble:
    """Failing store writes (a full disk): logged once, then counted, not logged every step.

    A reminder with the count follows every ``REMIND_S`` while it lasts, and one line
    when writes work again.
    """

    REMIND_S = 60.0

    def __init__(self) -> None:
        self.failures = 0
        self.since: float | None = None
        self._logged = 0.0

    def failed(self, what: str, exc: BaseException, now: float) -> None:
        """Count a failed write (``what``: which one, for the first line)."""
        self.failures += 1
        if self.since is None:
            self.since = self._logged = now
            log.warning("job store write failed (%s: %s); the data directory's disk is full. "
                        "Retrying; queued tasks wait, and a task whose end cannot be recorded "
                        "fails with 'disk full'. Further failures are counted, not logged.",
                        what, exc)
        elif now - self._logged >= self.REMIND_S:
            self._logged = now
            log.warning("job store still failing: %d failed writes in %.0f s (disk full)",
                        self.failures, now - self.since)

    def succeeded(self, now: float) -> None:
        """A write worked: end the episode (and say so, if there was one)."""
        if self.since is not None:
            log.warning("job store writable again after %d failed writes in %.0f s",
                        self.failures, now - self.since)
            self.since, self.failures = None, 0


@dataclass
class _Worker:
    index: int
    process: BaseProcess
    conn: Connection  # tasks to the worker, its events back
    job_id: str | None = None
    since: float = 0.0
    broken: bool = False  # the pipe ended (the worker died): stop reading it


class Runner:
    """Admits jobs and runs them on ``settings.workers`` worker processes."""

    def __init__(self, settings: Settings, store: JobStore, *,
                 on_finished: Callable[[Job], None] = lambda job: None,
                 clock: Callable[[], float] = time.time) -> None:
        self._settings = settings
        self._store = store
        self._on_finished = on_finished
        self._clock = clock
        self.paths = DataPaths(settings.data_dir)
        self._ctx = mp.get_context("spawn")
        # submit() (any thread) nudges the supervisor through this socket pair.
        self._wake_r, self._wake_w = socket.socketpair()
        self._wake_r.setblocking(False)
        self._wake_w.setblocking(False)
        self._workers: list[_Worker] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="talkinghead-runner", daemon=True)
        self._next_expiry = 0.0
        self._trouble = StoreTrouble()
        self._paused_until = 0.0  # no dispatch before this while the store cannot be written
        # Jobs failed with "disk full" whose ending could not be written yet: job id ->
        # finish() fields. Written as soon as the store takes writes again.
        self._unwritten: dict[str, dict[str, Any]] = {}

    def start(self) -> None:
        """Recover jobs left by a previous run, start the workers and the supervisor."""
        self.paths.inputs.mkdir(parents=True, exist_ok=True)
        self.paths.outputs.mkdir(parents=True, exist_ok=True)
        self.paths.remove_partials()  # a killed run's workers died with it (parent-death signal)
        for job in self._store.recover(max_attempts=self._settings.max_attempts,
                                       now=self._clock()):
            self._finished(job)
        self._workers = [self._spawn(i) for i in range(self._settings.workers)]
        self._thread.start()

    def stop(self, timeout_s: float = 5.0) -> None:
        """Stop the supervisor and the workers; a render in progress is abandoned."""
        self._stop.set()
        self._wake()
        if self._thread.is_alive():
            self._thread.join(timeout_s)
        for worker in self._workers:
            worker.process.terminate()
        for worker in self._workers:
            worker.process.join(timeout_s)
            worker.conn.close()
        self._wake_r.close()
        self._wake_w.close()

    def submit(self, job: Job, image: bytes, audio: bytes) -> None:
        """Store the inputs and queue ``job``; raise BusyError when the queue is full."""
        if self._store.count(JobStatus.CREATED) >= self._settings.max_queued:
            raise BusyError(f"the queue is full ({self._settings.max_queued} tasks waiting); "
                            "try again later")
        folder = self.paths.input_dir(job.id)
        try:
            folder.mkdir(parents=True, exist_ok=True)
            (folder / "image").write_bytes(image)
            (folder / "audio").write_bytes(audio)
            self._store.create(job)
        except BaseException as exc:  # nothing half-written stays behind
            shutil.rmtree(folder, ignore_errors=True)
            if is_disk_full(exc):
                raise InsufficientStorageError(
                    "the server's disk is full; try again later") from exc
            raise
        self._wake()

    def _wake(self) -> None:
        with contextlib.suppress(OSError):  # full (already nudged) or closed (stopped)
            self._wake_w.send(b"\0")

    # -- supervisor thread -------------------------------------------------------------

    def _loop(self) -> None:
        while not self._stop.is_set():
            try:
                self._step()
            except Exception:  # keep supervising whatever happens; the log says what
                log.exception("runner step failed")
                time.sleep(0.5)

    def _step(self) -> None:
        readable = {w.conn: w for w in self._workers if not w.broken}
        for ready in wait([*readable, self._wake_r], timeout=0.25):
            if ready is self._wake_r:
                with contextlib.suppress(OSError):  # BlockingIOError once drained
                    while self._wake_r.recv(4096):
                        pass
                continue
            self._read_events(readable[ready])  # type: ignore[index]
        if self._stop.is_set():
            return
        self._check_workers()
        self._dispatch()
        if self._clock() >= self._next_expiry:
            self._next_expiry = self._clock() + min(EXPIRE_EVERY_S,
                                                    self._settings.retention_s / 2)
            self._expire()

    def _read_events(self, worker: _Worker) -> None:
        """Handle every event waiting on ``worker``'s pipe."""
        events = []
        try:
            while worker.conn.poll():
                events.append(worker.conn.recv())
        except (EOFError, OSError):  # the worker ended; _check_workers handles its job
            worker.broken = True
        except Exception:  # a garbled message: only this worker's pipe; replace the worker
            log.exception("unreadable message from worker %d; restarting it", worker.index)
            worker.broken = True
            worker.process.terminate()
        for event in events:  # outside the try: a store error is not the worker's fault
            self._handle(event)

    def _handle(self, event: object) -> None:
        if isinstance(event, Progress):
            self._try_write(f"progress of {event.job_id}", self._store.set_progress,
                            event.job_id, event.done, event.total)  # cosmetic: not retried
        elif isinstance(event, Done):
            worker = self._workers[event.worker]
            if worker.job_id == event.job_id:
                worker.job_id = None
            status, fields = outcome_of_done(self.paths, event)
            job = self._finish(event.job_id, status, **fields)
            if job is not None:
                self._finished(job)

    # -- store writes that survive a full disk -------------------------------------------

    def _try_write(self, what: str, write: Callable[..., Any], *args: Any,
                   retries: tuple[float, ...] = (), **kwargs: Any) -> tuple[bool, Any]:
        """Run a store write, retried after each pause in ``retries`` if the disk is full.

        Returns (True, its result) or (False, None) when every try hit a full disk; other
        errors propagate.
        """
        for pause in (*retries, None):
            try:
                result = write(*args, **kwargs)
            except Exception as exc:
                if not is_disk_full(exc):
                    raise
                self._trouble.failed(what, exc, self._clock())
                self._paused_until = time.monotonic() + STORE_PAUSE_S
                if pause is None:
                    return False, None
                time.sleep(pause)
                continue
            self._trouble.succeeded(self._clock())
            return True, result
        return False, None  # not reached

    def _finish(self, job_id: str, status: JobStatus, **fields: Any) -> Job | None:
        """``store.finish``, retried; if the disk stays full, the job fails with "disk full"
        (its files deleted first, to make room), and if even that cannot be written, it is
        kept here and written when the store takes writes again. None: not finished now."""
        ok, job = self._try_write(f"finishing {job_id}", self._store.finish, job_id, status,
                                  now=self._clock(), retries=STORE_RETRY_S, **fields)
        if ok:
            return job  # type: ignore[no-any-return]
        self._remove_files(job_id)
        fields = {"error": DISK_FULL, "error_code": "disk_full",
                  "inference_ms": fields.get("inference_ms", 0),
                  "has_nsfw": fields.get("has_nsfw")}
        ok, job = self._try_write(f"failing {job_id}", self._store.finish, job_id,
                                  JobStatus.FAILED, now=self._clock(), **fields)
        if ok:
            return job  # type: ignore[no-any-return]
        self._unwritten[job_id] = fields
        return None

    def _requeue(self, job_id: str) -> None:
        ok, _ = self._try_write(f"requeueing {job_id}", self._store.requeue, job_id,
                                retries=STORE_RETRY_S)
        if not ok:  # it cannot wait in the queue unrecorded: it fails instead
            job = self._finish(job_id, JobStatus.FAILED, error=DISK_FULL, error_code="disk_full")
            if job is not None:
                self._finished(job)

    def _write_unwritten(self) -> None:
        for job_id, fields in list(self._unwritten.items()):
            ok, job = self._try_write(f"failing {job_id}", self._store.finish, job_id,
                                      JobStatus.FAILED, now=self._clock(), **fields)
            if not ok:
                return
            del self._unwritten[job_id]
            if job is not None:
                self._finished(job)

    def _remove_files(self, job_id: str) -> None:
        shutil.rmtree(self.paths.input_dir(job_id), ignore_errors=True)
        self.paths.output(job_id).unlink(missing_ok=True)
        self.paths.remove_partials(job_id)

    def _dispatch(self) -> None:
        if time.monotonic() < self._paused_until:
            return  # the store failed a write a moment ago; try again in a while
        if self._unwritten:
            self._write_unwritten()
            if self._unwritten:
                return
        for worker in self._workers:
            if worker.job_id is not None or not worker.process.is_alive():
                continue
            ok, job = self._try_write("claiming the next task", self._store.claim_next,
                                      self._clock())
            if not ok or job is None:
                return
            folder = self.paths.input_dir(job.id)
            options = dict(job.options, max_audio_s=self._settings.max_audio_s)
            try:
                worker.conn.send(Task(job.id, str(folder / "image"), str(folder / "audio"),
                                      str(self.paths.output(job.id)), options))
            except OSError:  # the worker just died; _check_workers replaces it
                self._requeue(job.id)
                continue
            worker.job_id, worker.since = job.id, self._clock()

    def _check_workers(self) -> None:
        now = self._clock()
        for i, worker in enumerate(self._workers):
            overdue = (worker.job_id is not None
                       and now - worker.since > self._settings.job_timeout_s)
            if worker.process.is_alive() and not overdue:
                continue
            if overdue:
                worker.process.terminate()
                worker.process.join(5.0)
                self.paths.remove_partials(worker.job_id or "-")
                self._fail(worker.job_id, "timeout", "rendering took longer than the "
                           f"{self._settings.job_timeout_s:g} s limit; try shorter audio "
                           "or a smaller size")
            elif worker.job_id is not None:
                if not worker.broken:  # its last words (a Done, say) may still be in the pipe
                    self._read_events(worker)
                if worker.job_id is not None:
                    self._crashed(worker.job_id, worker.process.exitcode)
            worker.conn.close()
            self._workers[i] = self._spawn(i)

    def _crashed(self, job_id: str, exitcode: int | None) -> None:
        job = self._store.get(job_id)
        log.warning("worker died (exit code %s) while rendering %s", exitcode, job_id)
        self.paths.remove_partials(job_id)
        if job is None or job.status is not JobStatus.PROCESSING:
            return
        if job.attempts >= self._settings.max_attempts:
            self._fail(job_id, "worker_crashed", f"the renderer crashed {job.attempts} times on "
                       "these inputs; try another portrait or audio file")
        else:
            self._requeue(job_id)

    def _fail(self, job_id: str | None, code: str, message: str) -> None:
        if job_id is None:
            return
        job = self._finish(job_id, JobStatus.FAILED, error=message, error_code=code)
        if job is not None:
            self._finished(job)

    def _finished(self, job: Job) -> None:
        shutil.rmtree(self.paths.input_dir(job.id), ignore_errors=True)
        if job.status is JobStatus.FAILED:  # e.g. published by a render that was given up on
            self.paths.output(job.id).unlink(missing_ok=True)
        try:
            self._on_finished(job)
        except Exception:
            log.exception("on_finished failed for %s", job.id)

    def _expire(self) -> None:
        for job_id in self._store.created_before(self._clock() - self._settings.retention_s):
            if any(w.job_id == job_id for w in self._workers):
                continue
            shutil.rmtree(self.paths.input_dir(job_id), ignore_errors=True)
            self.paths.output(job_id).unlink(missing_ok=True)
            if not self._try_write(f"deleting {job_id}", self._store.delete, job_id)[0]:
                return  # the next expiry round tries again

    def _spawn(self, index: int) -> _Worker:
        parent_end, child_end = self._ctx.Pipe()
        process = self._ctx.Process(
            target=worker_main, name=f"talkinghead-worker-{index}", daemon=True,
            args=(index, child_end, self._settings.nsfw_policy, self._settings.nsfw_threshold,
                  max(1, (os.cpu_count() or 1) // self._settings.workers)))
        process.start()
        child_end.close()
        return _Worker(index, process, parent_end)
