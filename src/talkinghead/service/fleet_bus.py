"""What travels through Redis between the API server and fleet workers, besides Celery's tasks.

One Redis (the broker) carries everything, so worker machines need no shared disk:

- ``{p}job:{id}:image`` / ``:audio``: the inputs, written by the API before the task
  is queued, deleted when the job ends (both expire after the retention period);
- ``{p}job:{id}:output``: the MP4, written by the worker, moved to the API's own
  output folder when the API folds the ``Done`` event;
- ``{p}job:{id}:lease``: the worker rendering the job (renewed while it renders);
- ``{p}job:{id}:starts``: how often a worker has started it (bounds retries);
- ``{p}job:{id}:done``: a worker finished it (later duplicates are dropped);
- ``{p}events``: ``Started``/``Progress``/``Heartbeat``/``Done`` events as JSON, read
  only by the API, which stays the only writer of its SQLite store. An event being
  handled sits in ``{p}events:inflight`` until handled, so an API crash loses none.

``{p}`` is ``talkinghead:<queue>:``.
"""

from __future__ import annotations

import dataclasses
import json
from typing import Any, cast

import redis

from talkinghead.service.events import Done, Heartbeat, Progress, Started

EVENT_TYPES: dict[str, type[Any]] = {cls.__name__: cls for cls in (Started, Progress,
                                                                    Heartbeat, Done)}
FleetEvent = Started | Progress | Heartbeat | Done

# Renew the lease only if it is still ours (another worker may hold it after ours expired).
_RENEW = "if redis.call('get', KEYS[1]) == ARGV[1] then " \
         "return redis.call('pexpire', KEYS[1], ARGV[2]) else return 0 end"
_RELEASE = "if redis.call('get', KEYS[1]) == ARGV[1] then " \
           "return redis.call('del', KEYS[1]) else return 0 end"


def encode_event(event: FleetEvent) -> str:
    """An event as one JSON line: ``{"type": "Progress", ...fields}``."""
    return json.dumps({"type": type(event).__name__, **dataclasses.asdict(event)})


def decode_event(raw: bytes | str) -> FleetEvent:
    """The event ``encode_event`` wrote; ValueError for anything else."""
    try:
        fields = json.loads(raw)
        return EVENT_TYPES[fields.pop("type")](**fields)  # type: ignore[no-any-return]
    except (ValueError, KeyError, TypeError) as exc:
        raise ValueError(f"not a fleet event: {raw[:200]!r}") from exc


class FleetBus:
    """Typed access to the fleet's Redis keys (one connection pool, thread-safe)."""

    def __init__(self, url: str, *, queue: str) -> None:
        self.url = url
        self.prefix = f"talkinghead:{queue}:"
        self.redis = redis.Redis.from_url(url, socket_connect_timeout=5.0, socket_timeout=30.0,
                                          health_check_interval=30)
        self._events = self.prefix + "events"
        self._inflight = self.prefix + "events:inflight"
        self._renew = self.redis.register_script(_RENEW)
        self._release = self.redis.register_script(_RELEASE)

    def key(self, job_id: str, part: str) -> str:
        """The Redis key of one part of a job."""
        return f"{self.prefix}job:{job_id}:{part}"

    def close(self) -> None:
        """Drop the connection pool."""
        self.redis.close()

    def ping(self) -> None:
        """Raise redis.RedisError when Redis cannot be reached."""
        self.redis.ping()

    # -- files -------------------------------------------------------------------------

    def put_inputs(self, job_id: str, image: bytes, audio: bytes, *, ttl_s: float) -> None:
        """Store a job's inputs (they expire after ``ttl_s``)."""
        ttl_ms = int(ttl_s * 1000)
        with self.redis.pipeline() as pipe:
            pipe.set(self.key(job_id, "image"), image, px=ttl_ms)
            pipe.set(self.key(job_id, "audio"), audio, px=ttl_ms)
            pipe.execute()

    def get_inputs(self, job_id: str) -> tuple[bytes, bytes] | None:
        """A job's (image, audio), or None when they are gone (job over or expired)."""
        # Replies are bytes (no decode_responses); the stubs allow str as well.
        image, audio = cast(list[bytes | None], self.redis.mget(self.key(job_id, "image"),
                                                                 self.key(job_id, "audio")))
        return None if image is None or audio is None else (image, audio)

    def put_output(self, job_id: str, video: bytes, *, ttl_s: float) -> None:
        """Store a finished MP4 until the API takes it."""
        self.redis.set(self.key(job_id, "output"), video, px=int(ttl_s * 1000))

    def take_output(self, job_id: str) -> bytes | None:
        """The finished MP4 (None if missing); it stays until ``forget``."""
        data = cast(bytes | None, self.redis.get(self.key(job_id, "output")))
        return None if data is None else bytes(data)

    def forget(self, job_id: str) -> None:
        """Delete a finished job's inputs, output and start count (its done mark stays)."""
        self.redis.delete(*(self.key(job_id, part)
                            for part in ("image", "audio", "output", "starts")))

    # -- claims ------------------------------------------------------------------------

    def acquire_lease(self, job_id: str, token: str, *, lease_s: float) -> bool:
        """Claim ``job_id`` for ``token`` unless a live claim exists."""
        return bool(self.redis.set(self.key(job_id, "lease"), token, nx=True,
                                   px=int(lease_s * 1000)))

    def renew_lease(self, job_id: str, token: str, *, lease_s: float) -> bool:
        """Extend our claim; False if it expired and is no longer ours."""
        return bool(self._renew(keys=[self.key(job_id, "lease")],
                                args=[token, int(lease_s * 1000)]))

    def release_lease(self, job_id: str, token: str) -> None:
        """Drop our claim (if it is still ours)."""
        self._release(keys=[self.key(job_id, "lease")], args=[token])

    def count_start(self, job_id: str, *, ttl_s: float) -> int:
        """One more start of ``job_id``; returns how many there have been."""
        with self.redis.pipeline() as pipe:
            pipe.incr(self.key(job_id, "starts"))
            pipe.pexpire(self.key(job_id, "starts"), int(ttl_s * 1000))
            return int(pipe.execute()[0])

    def mark_done(self, job_id: str, *, ttl_s: float) -> None:
        """Record that a worker finished ``job_id``."""
        self.redis.set(self.key(job_id, "done"), b"1", px=int(ttl_s * 1000))

    def is_done(self, job_id: str) -> bool:
        """Whether a worker already finished ``job_id``."""
        return bool(self.redis.exists(self.key(job_id, "done")))

    # -- events ------------------------------------------------------------------------

    def emit(self, event: FleetEvent) -> None:
        """Send an event to the API."""
        self.redis.rpush(self._events, encode_event(event))

    def next_event(self, timeout_s: float) -> tuple[bytes, FleetEvent | None] | None:
        """Wait for the next event; (raw, event) with event None if it did not parse.

        The raw event stays in the in-flight list until ``ack_event(raw)``.
        """
        # BLMOVE takes fractional seconds (Redis 6+); the stubs say int.
        raw = cast(bytes | None, self.redis.blmove(self._events, self._inflight,
                                                   timeout_s, "LEFT", "RIGHT"))  # type: ignore[arg-type]
        if raw is None:
            return None
        try:
            return raw, decode_event(raw)
        except ValueError:
            return raw, None

    def ack_event(self, raw: bytes) -> None:
        """The event was handled: drop it from the in-flight list."""
        self.redis.lrem(self._inflight, 1, raw)  # type: ignore[arg-type]  # bytes: as it came

    def requeue_inflight(self) -> int:
        """Put events a previous API process did not finish handling back in front."""
        moved = 0
        while self.redis.lmove(self._inflight, self._events, "RIGHT", "LEFT") is not None:
            moved += 1
        return moved
