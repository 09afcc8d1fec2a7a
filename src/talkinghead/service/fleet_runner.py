"""The API server's side of the Celery fleet: the ``JobRunner`` the routes use, over Redis.

``submit`` puts the inputs into Redis and queues a Celery task; one thread folds
the workers' events (``fleet_bus``) into the SQLite store, of which this process
stays the only writer: it moves each finished MP4 from Redis into its own output
folder, finishes the job and sends its webhook (once: a duplicate ``Done`` finds
the job already finished). The same thread re-queues a processing job no worker
has spoken for in a long while (its task was lost with Redis's data), failing it
after ``max_attempts``, and deletes expired jobs.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

from redis import RedisError

from talkinghead.service.errors import (
    BusyError,
    InsufficientStorageError,
    UnavailableError,
    is_disk_full,
)
from talkinghead.service.events import Done, Heartbeat, Progress, Started
from talkinghead.service.fleet_bus import FleetBus, FleetEvent
from talkinghead.service.jobs import Job, JobStatus
from talkinghead.service.runner import EXPIRE_EVERY_S, DataPaths, finish_from_done
from talkinghead.service.settings import Settings
from talkinghead.service.store import JobStore

log = logging.getLogger("talkinghead.service")


class FleetRunner:
    """Runs jobs on ``talkinghead worker`` processes through ``settings.broker_url``."""

    def __init__(self, settings: Settings, store: JobStore, *,
                 on_finished: Callable[[Job], None] = lambda job: None,
                 clock: Callable[[], float] = time.time) -> None:
        from talkinghead.service.fleet import make_app  # Celery only when a broker is set

        assert settings.broker_url is not None
        self._settings, self._store = settings, store
        self._on_finished, self._clock = on_finished, clock
        self.paths = DataPaths(settings.data_dir)
        self._bus = FleetBus(settings.broker_url, queue=settings.fleet_queue)
        self._app = make_app(settings)
        self._where = safe_location(settings.broker_url)
        # A dead worker's task comes back after the visibility timeout (plus one sweep);
        # only a task silent for longer than that, and a lease, was lost outright.
        self._stale_s = (settings.fleet_visibility_timeout_s + 10.0
                         + 2 * settings.fleet_lease_s)
        self._last_seen: dict[str, float] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="talkinghead-fleet", daemon=True)
        self._next_check = self._next_expiry = 0.0

    def start(self) -> None:
        """Check Redis, take back half-handled events, re-queue unfinished jobs, start."""
        self.paths.outputs.mkdir(parents=True, exist_ok=True)
        self.paths.remove_partials()  # left by a killed run (this process holds the lock)
        try:
            self._bus.ping()
            self._bus.requeue_inflight()
        except RedisError as exc:
            raise UnavailableError(f"cannot reach the fleet's Redis at {self._where} "
                                   f"({exc})") from exc
        # Queued tasks may have been lost with Redis's data; a copy of a task that is
        # still queued is harmless (a worker drops a job that is done or taken).
        for job in self._store.unfinished():
            self._last_seen[job.id] = self._clock()
            self._publish(job)
        self._thread.start()

    def stop(self, timeout_s: float = 5.0) -> None:
        """Stop folding events; jobs keep running on the workers and are folded later."""
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout_s + 2.0)
        self._bus.close()
        self._app.close()

    def submit(self, job: Job, image: bytes, audio: bytes) -> None:
        """Put the inputs into Redis, record the job and queue its task."""
        if self._store.count(JobStatus.CREATED) >= self._settings.max_queued:
            raise BusyError(f"the queue is full ({self._settings.max_queued} tasks waiting); "
                            "try again later")
        try:
            self._bus.put_inputs(job.id, image, audio, ttl_s=self._settings.retention_s)
        except RedisError as exc:
            raise self._unavailable(exc) from exc
        try:
            self._store.create(job)
        except Exception as exc:
            if is_disk_full(exc):
                raise InsufficientStorageError("the server's disk is full; try again later") \
                    from exc
            raise
        try:
            self._publish(job)
        except Exception as exc:
            self._store.delete(job.id)
            raise self._unavailable(exc) from exc

    # -- event thread ------------------------------------------------------------------

    def _loop(self) -> None:
        while not self._stop.is_set():
            try:
                self._step()
            except Exception:  # Redis away, or a bug: keep going; the log says what
                log.exception("fleet runner step failed")
                self._stop.wait(1.0)

    def _step(self) -> None:
        got = self._bus.next_event(0.5)
        if got is not None:
            raw, event = got
            if event is None:
                log.warning("dropping a message that is not a fleet event: %r", raw[:200])
            else:
                self._handle(event)
            self._bus.ack_event(raw)
        now = self._clock()
        if now >= self._next_check:
            self._next_check = now + min(5.0, self._settings.fleet_lease_s)
            self._check_silent(now)
        if now >= self._next_expiry:
            self._next_expiry = now + min(EXPIRE_EVERY_S, self._settings.retention_s / 2)
            self._expire(now)

    def _handle(self, event: FleetEvent) -> None:
        now = self._clock()
        if isinstance(event, Started):
            if self._store.mark_started(event.job_id, attempt=event.attempt, now=now):
                self._last_seen[event.job_id] = now
        elif isinstance(event, Progress):
            self._store.set_progress(event.job_id, event.done, event.total)
            self._last_seen[event.job_id] = now
        elif isinstance(event, Heartbeat):
            self._last_seen[event.job_id] = now
        elif isinstance(event, Done):
            self._done(event, now)

    def _done(self, event: Done, now: float) -> None:
        current = self._store.get(event.job_id)
        if current is not None and not current.status.is_terminal() and event.error is None:
            video = self._bus.take_output(event.job_id)
            if video is not None:
                output = self.paths.output(event.job_id)
                partial = output.with_name(output.name + ".part")
                partial.write_bytes(video)
                os.replace(partial, output)
        job = finish_from_done(self._store, self.paths, event, now) if current else None
        self._bus.forget(event.job_id)
        self._last_seen.pop(event.job_id, None)
        if job is not None:
            self._finished(job)

    def _check_silent(self, now: float) -> None:
        for job in self._store.unfinished():
            if job.status is not JobStatus.PROCESSING:
                continue
            seen = self._last_seen.setdefault(job.id, now)
            if now - seen < self._stale_s:
                continue
            if job.attempts >= self._settings.max_attempts:
                failed = self._store.finish(
                    job.id, JobStatus.FAILED, now=now, error_code="worker_crashed",
                    error=f"rendering was interrupted {job.attempts} times (workers lost); "
                          "giving up, please resubmit")
                self._bus.forget(job.id)
                if failed is not None:
                    self._finished(failed)
                continue
            log.warning("no worker has reported on %s for %.0f s; queueing it again",
                        job.id, now - seen)
            self._last_seen[job.id] = now
            self._publish(job)

    def _expire(self, now: float) -> None:
        for job_id in self._store.created_before(now - self._settings.retention_s):
            job = self._store.get(job_id)
            if job is not None and job.status is JobStatus.PROCESSING:
                continue  # finished (or failed as silent) first, then expired
            self.paths.output(job_id).unlink(missing_ok=True)
            self._bus.forget(job_id)
            self._store.delete(job_id)

    # -- helpers -----------------------------------------------------------------------

    def _publish(self, job: Job) -> None:
        settings = self._settings
        message: dict[str, Any] = {
            "job_id": job.id, "options": dict(job.options, max_audio_s=settings.max_audio_s),
            "max_attempts": settings.max_attempts, "lease_s": settings.fleet_lease_s,
            "ttl_s": settings.retention_s, "job_timeout_s": settings.job_timeout_s,
            "nsfw_policy": settings.nsfw_policy, "nsfw_threshold": settings.nsfw_threshold}
        from talkinghead.service.fleet import TASK_NAME

        self._app.send_task(TASK_NAME, args=[message], queue=settings.fleet_queue,
                            soft_time_limit=settings.job_timeout_s,
                            time_limit=settings.job_timeout_s + 30)

    def _finished(self, job: Job) -> None:
        try:
            self._on_finished(job)
        except Exception:
            log.exception("on_finished failed for %s", job.id)

    def _unavailable(self, exc: Exception) -> UnavailableError:
        return UnavailableError(f"the render queue (Redis at {self._where}) cannot be reached "
                                f"({type(exc).__name__}); try again shortly")


def safe_location(url: str) -> str:
    """host:port of a Redis URL, without credentials."""
    parts = urlsplit(url)
    return f"{parts.hostname}:{parts.port or 6379}" if parts.hostname else parts.path
