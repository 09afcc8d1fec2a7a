"""The Celery fleet: ``talkinghead worker`` processes on any machine that reaches Redis.

The task renders through the same worker core as the embedded pool
(``worker.run_task``); only the transport differs. A worker takes a job's inputs
from Redis, renders into a temporary folder, puts the MP4 back into Redis and
reports ``Started``/``Progress``/``Heartbeat``/``Done`` events that the API
server folds into its store (see ``fleet_bus.py`` for every key).

Jobs are not lost when a worker dies mid-job:

- tasks are acknowledged only after they ran (``acks_late``); a rendering child
  that dies is noticed by its worker and the task goes back at once
  (``reject_on_worker_lost``); a whole worker (or machine) that vanishes leaves
  the task unacknowledged in Redis, which hands it to another worker after the
  visibility timeout;
- a worker holds a lease on the job while it renders (renewed every lease/3 s),
  so a task handed out again while its first worker still renders waits and
  retries instead of rendering twice, and takes over once the lease lapses;
- every start is counted in Redis; past ``max_attempts`` the job fails with
  ``worker_crashed`` instead of being tried again.
"""

from __future__ import annotations

import logging
import os
import socket
import tempfile
import threading
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from celery import Celery, Task
from celery.exceptions import SoftTimeLimitExceeded
from celery.signals import worker_process_init

from talkinghead.service.events import Done, Heartbeat, Started
from talkinghead.service.events import Task as RenderTask
from talkinghead.service.fleet_bus import FleetBus
from talkinghead.service.settings import Settings

TASK_NAME = "talkinghead.render"
log = logging.getLogger("talkinghead.fleet")
#: Per worker process: its FleetBus ("bus", with its "pid") and nudity detectors by settings.
_process: dict[str | tuple[str, str, float], Any] = {}


def make_app(settings: Settings) -> Celery:
    """The Celery app for ``settings.broker_url``, with the render task registered."""
    if not settings.broker_url:
        raise ValueError("the fleet needs a broker URL (TALKINGHEAD_BROKER_URL=redis://...)")
    app = Celery("talkinghead", broker=settings.broker_url, set_as_current=False)
    visibility_s = settings.fleet_visibility_timeout_s
    app.conf.update(
        task_acks_late=True, task_reject_on_worker_lost=True, task_ignore_result=True,
        worker_prefetch_multiplier=1, task_default_queue=settings.fleet_queue,
        task_serializer="json", accept_content=["json"],
        broker_connection_retry_on_startup=True, worker_hijack_root_logger=True,
        broker_transport_options={
            "visibility_timeout": visibility_s,
            # Look for abandoned tasks often enough that the visibility timeout,
            # not the sweep period, decides how soon they run again.
            "unacked_restore_interval": max(1, min(10, int(visibility_s / 4))),
            "unacked_restore_throttle": 1},
        broker_pool_limit=4)
    url, queue = settings.broker_url, settings.fleet_queue

    def render(self: Task, message: dict[str, Any]) -> str:
        """Render the job that ``message`` (written by the API server) names."""
        return _render(self, message, _bus(url, queue))

    app.task(name=TASK_NAME, bind=True, max_retries=None)(render)
    return app


def run_worker(settings: Settings, *, concurrency: int, loglevel: str = "info") -> None:
    """Run a Celery worker with ``concurrency`` rendering processes until stopped."""
    app = make_app(settings)
    cv_threads = max(1, (os.cpu_count() or 1) // concurrency)
    worker_process_init.connect(lambda **_: _init_process(cv_threads), weak=False)
    app.worker_main(["worker", f"--concurrency={concurrency}", "--pool=prefork",
                     f"--queues={settings.fleet_queue}", f"--loglevel={loglevel}",
                     f"--hostname=talkinghead-{os.getpid()}@%h", "--without-gossip",
                     "--without-mingle", "--without-heartbeat"])


def _init_process(cv_threads: int) -> None:
    """In each rendering process: import the pipeline once and share the cores fairly."""
    import cv2

    import talkinghead.pipeline  # noqa: F401  (import once, before the first task)

    cv2.setNumThreads(cv_threads)
    _process.clear()


def _bus(url: str, queue: str) -> FleetBus:
    if _process.get("pid") != os.getpid():  # a fresh process: never reuse a parent's sockets
        _process.clear()
        _process.update(pid=os.getpid(), bus=FleetBus(url, queue=queue))
    return _process["bus"]  # type: ignore[no-any-return]


def _detector(policy: str, threshold: float) -> Any:
    from talkinghead.service.worker import make_detector

    key = ("detector", policy, threshold)
    if key not in _process:
        _process[key] = make_detector(policy, threshold)
    return _process[key]


def _render(task: Task, message: dict[str, Any], bus: FleetBus) -> str:
    """Claim the job, count the start, render it and report; see the module docstring."""
    job_id, ttl_s, lease_s = message["job_id"], message["ttl_s"], message["lease_s"]
    if bus.is_done(job_id):
        return "duplicate"
    token = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"
    if not bus.acquire_lease(job_id, token, lease_s=lease_s):
        # Another worker renders it now (this copy was handed out again after the
        # visibility timeout). Keep the copy alive until that worker is done.
        raise task.retry(countdown=lease_s, max_retries=None)
    try:
        if bus.is_done(job_id):
            return "duplicate"
        attempt = bus.count_start(job_id, ttl_s=ttl_s)
        if attempt > message["max_attempts"]:
            log.warning("job %s: start %d is over the limit; failing it", job_id, attempt)
            bus.emit(Done(0, job_id, 0, None, f"rendering was interrupted {attempt - 1} times "
                          "(workers died or were stopped); giving up, please resubmit",
                          "worker_crashed"))
            bus.mark_done(job_id, ttl_s=ttl_s)
            return "given up"
        with _heartbeat(bus, job_id, token, lease_s):
            log.info("job %s: rendering (start %d) on %s", job_id, attempt, token)
            bus.emit(Started(job_id, attempt, token))
            done = _render_inputs(bus, message)
            log.info("job %s: %s", job_id, done.error_code or "rendered")
            bus.emit(done)
            bus.mark_done(job_id, ttl_s=ttl_s)
        return done.error_code or "ok"
    finally:
        bus.release_lease(job_id, token)


def _render_inputs(bus: FleetBus, message: dict[str, Any]) -> Done:
    """Fetch the inputs, run the shared worker core, put the MP4 into Redis."""
    from talkinghead.service.worker import run_task

    job_id = message["job_id"]
    inputs = bus.get_inputs(job_id)
    if inputs is None:
        return Done(0, job_id, 0, None, "the task's inputs are gone from Redis (expired, or "
                    "the job already ended); please resubmit", "inputs_missing")
    with tempfile.TemporaryDirectory(prefix="talkinghead-job-") as tmp:
        folder = Path(tmp)
        (folder / "image").write_bytes(inputs[0])
        (folder / "audio").write_bytes(inputs[1])
        output = folder / "output.mp4"
        job = RenderTask(job_id, str(folder / "image"), str(folder / "audio"), str(output),
                         message["options"])
        try:
            done = run_task(job, index=0, report=bus.emit, passthrough=(SoftTimeLimitExceeded,),
                            detector=_detector(message["nsfw_policy"],
                                               message["nsfw_threshold"]),
                            nsfw_policy=message["nsfw_policy"])
        except SoftTimeLimitExceeded:
            limit = message["job_timeout_s"]
            return Done(0, job_id, int(limit * 1000), None, f"rendering took longer than the "
                        f"{limit:g} s limit; try shorter audio or a smaller size", "timeout")
        if done.error is None:
            bus.put_output(job_id, output.read_bytes(), ttl_s=message["ttl_s"])
    return done


@contextmanager
def _heartbeat(bus: FleetBus, job_id: str, token: str, lease_s: float) -> Iterator[None]:
    """Renew the lease and tell the API we are alive every lease/3 s while the block runs."""
    stop = threading.Event()

    def beat() -> None:
        while not stop.wait(lease_s / 3):
            try:
                if not bus.renew_lease(job_id, token, lease_s=lease_s):
                    log.warning("job %s: lost its lease (Redis too slow?)", job_id)
                bus.emit(Heartbeat(job_id))
            except Exception:  # Redis hiccup: the next beat tries again
                log.warning("job %s: heartbeat failed", job_id, exc_info=True)

    thread = threading.Thread(target=beat, name=f"heartbeat-{job_id}", daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join(5.0)
