"""A deadline and a minimum transfer rate for outgoing requests (URL inputs, webhooks).

httpcore's timeouts are per socket operation, so a server that sends one byte
every few seconds never trips them and holds the request (and a thread) for
as long as it likes. A ``Transfer`` set with ``pace()`` around a request is
consulted by every read of the connections that ``netguard.guarded_pool``
opens: each read may wait only as long as the deadline and the rate allow,
and a read that runs out of either raises ``FetchError`` saying which.

The rate is measured from the first byte the server sends (until then
httpcore's read timeout bounds the wait), after a grace period: a server that
has sent ``b`` bytes fails at ``first byte + grace + b / min_rate``.
"""

from __future__ import annotations

import contextlib
import ssl
import time
from collections.abc import Iterator
from contextvars import ContextVar
from typing import Any

import httpcore

from talkinghead.service.errors import FetchError

_CURRENT: ContextVar[Transfer | None] = ContextVar("talkinghead_transfer", default=None)


class Transfer:
    """Limits on one request: done within ``total_s`` (or by ``deadline``, a monotonic
    time), at ``min_rate`` bytes/s or more."""

    def __init__(self, total_s: float, *, deadline: float | None = None, min_rate: float = 0.0,
                 grace_s: float = 5.0, what: str = "the download") -> None:
        self.started = time.monotonic()
        self.total_s = total_s  # named in the message; the deadline may be an earlier one's
        self.deadline = self.started + total_s if deadline is None else deadline
        self.min_rate, self.grace_s, self.what = min_rate, grace_s, what
        self.first_byte: float | None = None
        self.received = 0

    def read_budget(self, now: float) -> float:
        """Seconds the next read may wait; raises FetchError when none is left."""
        budget = self.deadline - now
        if budget <= 0:
            raise FetchError(f"{self.what} took longer than {self.total_s:g} s")
        if self.min_rate and self.first_byte is not None:
            slow_at = self.first_byte + self.grace_s + self.received / self.min_rate
            if slow_at - now <= 0:
                raise self.too_slow(now)
            budget = min(budget, slow_at - now)
        return budget

    def got(self, n: int, now: float) -> None:
        """Count ``n`` bytes that arrived at ``now``."""
        if n and self.first_byte is None:
            self.first_byte = now
        self.received += n

    def too_slow(self, now: float) -> FetchError:
        """The error for a server that sends under ``min_rate``."""
        took = now - (self.first_byte or self.started)
        return FetchError(
            f"{self.what} was too slow: {self.received} bytes in {took:.0f} s, under the "
            f"minimum of {self.min_rate / 1000:g} kB/s; use a server that sends faster")


@contextlib.contextmanager
def pace(transfer: Transfer) -> Iterator[Transfer]:
    """Apply ``transfer`` to the guarded connections used in this thread (context)."""
    token = _CURRENT.set(transfer)
    try:
        yield transfer
    finally:
        _CURRENT.reset(token)


class PacedStream(httpcore.NetworkStream):
    """A network stream whose reads obey the current ``Transfer``, if any."""

    def __init__(self, inner: httpcore.NetworkStream) -> None:
        self._inner = inner

    def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        """Read within the current transfer's deadline and rate."""
        transfer = _CURRENT.get()
        if transfer is None:
            return self._inner.read(max_bytes, timeout)
        budget = transfer.read_budget(time.monotonic())
        limited = timeout is None or budget < timeout
        try:
            data = self._inner.read(max_bytes, budget if limited else timeout)
        except httpcore.ReadTimeout:
            if limited:  # our budget ran out, not the per-read timeout: say which
                transfer.read_budget(time.monotonic() + 1e-3)
            raise
        transfer.got(len(data), time.monotonic())
        return data

    def write(self, buffer: bytes, timeout: float | None = None) -> None:
        """Write (requests are small; the per-operation timeout is enough)."""
        self._inner.write(buffer, timeout)

    def close(self) -> None:
        """Close the connection."""
        self._inner.close()

    def start_tls(self, ssl_context: ssl.SSLContext, server_hostname: str | None = None,
                  timeout: float | None = None) -> httpcore.NetworkStream:
        """TLS over this stream; the TLS stream is paced too."""
        return PacedStream(self._inner.start_tls(ssl_context, server_hostname, timeout))

    def get_extra_info(self, info: str) -> Any:
        """As the wrapped stream."""
        return self._inner.get_extra_info(info)
