"""Token buckets (failed-key guesses per client address, submissions per API key) and
per-key slots (URL downloads and webhook deliveries in flight)."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable


class TokenBuckets:
    """One bucket per name: ``burst`` tokens, refilled at ``rate_per_min`` a minute.

    Memory stays bounded: past ``max_names`` names, buckets that have refilled are
    forgotten (a full bucket is the same as a new one).
    """

    def __init__(self, rate_per_min: float, burst: int, *, max_names: int = 10_000,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self._rate_s = rate_per_min / 60.0
        self._burst = float(burst)
        self._max_names = max_names
        self._clock = clock
        self._buckets: dict[str, tuple[float, float]] = {}  # name -> (tokens, when)
        self._lock = threading.Lock()

    def _tokens(self, name: str, now: float) -> float:
        tokens, when = self._buckets.get(name, (self._burst, now))
        return min(self._burst, tokens + (now - when) * self._rate_s)

    def wait_s(self, name: str) -> float:
        """Seconds until ``name`` has a token again (0 when it has one now)."""
        with self._lock:
            tokens = self._tokens(name, self._clock())
        return 0.0 if tokens >= 1.0 else (1.0 - tokens) / self._rate_s

    def take(self, name: str) -> float:
        """Take a token: 0 when one was there, else the seconds until one will be."""
        with self._lock:
            now = self._clock()
            tokens = self._tokens(name, now)
            if tokens < 1.0:
                return (1.0 - tokens) / self._rate_s
            self._buckets[name] = (tokens - 1.0, now)
            if len(self._buckets) > self._max_names:
                self._buckets = {k: v for k, v in self._buckets.items()
                                 if self._tokens(k, now) < self._burst}
            return 0.0


class KeyedSlots:
    """At most ``per_key`` holders at once for each key (an API key's owner id)."""

    def __init__(self, per_key: int) -> None:
        if per_key < 1:
            raise ValueError(f"per_key must be at least 1, got {per_key}")
        self.per_key = per_key
        self._held: dict[str, int] = {}
        self._lock = threading.Lock()

    def try_take(self, key: str) -> bool:
        """Take a slot for ``key``; False (nothing taken) when it holds ``per_key`` already."""
        with self._lock:
            held = self._held.get(key, 0)
            if held >= self.per_key:
                return False
            self._held[key] = held + 1
            return True

    def release(self, key: str) -> None:
        """Give back a slot taken with ``try_take``."""
        with self._lock:
            held = self._held.get(key, 0) - 1
            if held > 0:
                self._held[key] = held
            else:
                self._held.pop(key, None)  # no entry per idle key: memory stays bounded

    def held(self, key: str) -> int:
        """Slots ``key`` holds now."""
        with self._lock:
            return self._held.get(key, 0)
