"""Messages between the runner and its worker processes (picklable dataclasses).

The embedded pool passes them through one pipe per worker; the Celery fleet
sends them as JSON through Redis (``service/fleet_bus.py``). ``Started`` and
``Heartbeat`` come only from fleet workers.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Task:
    """Render one job: runner -> worker."""

    job_id: str
    image_path: str
    audio_path: str
    output_path: str
    options: dict[str, Any]


@dataclass(frozen=True)
class Progress:
    """Frames written so far."""

    worker: int
    job_id: str
    done: int
    total: int


@dataclass(frozen=True)
class Done:
    """A task ended; ``error`` is None on success."""

    worker: int
    job_id: str
    inference_ms: int
    has_nsfw: bool | None = None
    error: str | None = None
    error_code: str | None = None


@dataclass(frozen=True)
class Started:
    """A fleet worker took a job: its ``attempt``-th start, by ``worker`` (host:pid)."""

    job_id: str
    attempt: int
    worker: str


@dataclass(frozen=True)
class Heartbeat:
    """A fleet worker is still rendering ``job_id`` (sent every lease/3 seconds)."""

    job_id: str
