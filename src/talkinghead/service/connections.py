"""Connection limits uvicorn lacks: a header timeout, a connection cap that sheds idle sockets.

uvicorn closes a keep-alive connection that stays idle after a response
(``timeout_keep_alive``), but a connection that never finishes its request
headers (or trickles them a byte at a time) is held forever, and its
``limit_concurrency`` counts such idle sockets too, so while they are held it
answers 503 to everyone. Here instead:

- a connection must deliver complete request headers within ``header_timeout_s``
  of being accepted (or of its previous response ending), however slowly the
  bytes come, or it is closed;
- past ``max_connections`` open connections, each new one closes the oldest
  connection that is still waiting for its headers (a busy one is never cut);
  when every connection is busy, the new one gets a 503 and is closed;
- the closings are counted and logged in one line a minute at most, never one
  line per socket.

Only the time before the request headers are complete is limited: a request's
body, the handler and an upgraded WebSocket are not (uvicorn hands an upgraded
connection to another protocol object, which this one then forgets).
"""

from __future__ import annotations

import asyncio
import logging
import resource
import time
from typing import Any, ClassVar

import h11
from uvicorn.protocols.http.h11_impl import H11Protocol

log = logging.getLogger("talkinghead.service.connections")

#: How often waiting connections are checked against their deadline.
SWEEP_S = 0.5
#: A summary of closed connections is logged at most this often.
REPORT_EVERY_S = 60.0
#: File descriptors kept free for everything but client sockets (store, pipes, files).
FD_RESERVE = 256
#: uvicorn.error and asyncio messages that come once per bad socket; counted, not logged.
NOISY = ("Invalid HTTP request received.", "Exceeded concurrency limit.",
         "Unsupported upgrade request.", "socket.accept() out of system resource")

_BUSY_503 = (b"HTTP/1.1 503 Service Unavailable\r\ncontent-type: text/plain\r\n"
             b"content-length: 37\r\nconnection: close\r\n\r\n"
             b"too many connections; try again later")


class ConnectionGuard:
    """State shared by all connections of one server: who waits for headers, counters."""

    def __init__(self, *, header_timeout_s: float, max_connections: int) -> None:
        self.header_timeout_s = header_timeout_s
        self.max_connections = max_connections
        # Connections waiting for request headers -> deadline. Every deadline is its start
        # plus the same timeout and a connection is re-inserted when it starts waiting
        # again, so insertion order is deadline order: the front is the oldest.
        self.waiting: dict[GuardedH11Protocol, float] = {}
        # Closed by us, not yet gone (uvicorn drops them from its count a moment later).
        self.closing: set[GuardedH11Protocol] = set()
        self.counts = {"header_timeout": 0, "evicted": 0, "refused": 0, "noisy": 0}
        self._reported = dict(self.counts)
        self._last_report = time.monotonic()
        self._sweeper: asyncio.TimerHandle | None = None

    def wait_for_headers(self, conn: GuardedH11Protocol, loop: asyncio.AbstractEventLoop) -> None:
        """``conn`` starts waiting for a request; its deadline is set once, not extended."""
        if conn not in self.waiting:
            self.waiting[conn] = time.monotonic() + self.header_timeout_s
        if self._sweeper is None:
            self._sweeper = loop.call_later(SWEEP_S, self._sweep, loop)

    def done_waiting(self, conn: GuardedH11Protocol) -> None:
        """``conn`` has its headers, was upgraded, or is gone."""
        self.waiting.pop(conn, None)

    def make_room(self, newcomer: GuardedH11Protocol, open_connections: int) -> bool:
        """Close the oldest waiting connection if over the cap; False if none can go."""
        if open_connections - len(self.closing) <= self.max_connections:
            return True
        for conn in self.waiting:
            if conn is not newcomer:
                self.close(conn)
                self.counts["evicted"] += 1
                return True
        self.counts["refused"] += 1
        return False

    def close(self, conn: GuardedH11Protocol) -> None:
        """Close ``conn`` without an answer: it sent no complete request to answer."""
        self.waiting.pop(conn, None)
        if not conn.transport.is_closing():
            self.closing.add(conn)
            conn.transport.close()

    def gone(self, conn: GuardedH11Protocol) -> None:
        """``conn`` was closed (by either side)."""
        self.waiting.pop(conn, None)
        self.closing.discard(conn)

    def _sweep(self, loop: asyncio.AbstractEventLoop) -> None:
        now = time.monotonic()
        while self.waiting:
            conn, deadline = next(iter(self.waiting.items()))
            if deadline > now:
                break
            self.close(conn)
            self.counts["header_timeout"] += 1
        self.report(now)
        self._sweeper = loop.call_later(SWEEP_S, self._sweep, loop)

    def report(self, now: float, *, force: bool = False) -> None:
        """Log what was closed since the last report, at most once per ``REPORT_EVERY_S``."""
        if not force and now - self._last_report < REPORT_EVERY_S:
            return
        new = {k: self.counts[k] - self._reported[k] for k in self.counts}
        self._last_report, self._reported = now, dict(self.counts)
        if any(new.values()):
            log.warning(
                "connections in the last %.0f s: %d closed without complete request headers "
                "within %g s, %d waiting ones closed to stay under %d connections, %d refused "
                "(all busy), %d bad requests or accept errors not logged one by one",
                REPORT_EVERY_S, new["header_timeout"], self.header_timeout_s, new["evicted"],
                self.max_connections, new["refused"], new["noisy"])


class CountNoisy(logging.Filter):
    """Drops the per-socket messages in ``NOISY`` from a logger, counting them instead."""

    def __init__(self, guard: ConnectionGuard) -> None:
        super().__init__()
        self.guard = guard

    def filter(self, record: logging.LogRecord) -> bool:
        """False (drop) for a per-socket message; it is counted in the guard's report."""
        if isinstance(record.msg, str) and record.msg.startswith(NOISY):
            self.guard.counts["noisy"] += 1
            return False
        return True


class GuardedH11Protocol(H11Protocol):
    """uvicorn's h11 protocol with a header timeout and the connection cap of ``guard``."""

    guard: ClassVar[ConnectionGuard]

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        """Accept, shedding the oldest waiting connection if over the cap."""
        super().connection_made(transport)
        self.guard.wait_for_headers(self, self.loop)
        if not self.guard.make_room(self, len(self.connections)):
            transport.write(_BUSY_503)
            self.guard.close(self)

    def data_received(self, data: bytes) -> None:
        """Feed h11, then note whether the connection still waits for headers."""
        super().data_received(data)
        self._note_state()

    def on_response_complete(self) -> None:
        """A keep-alive connection waits for its next request's headers from now."""
        super().on_response_complete()
        self._note_state()

    def handle_websocket_upgrade(self, event: h11.Request) -> None:
        """Hand over to the WebSocket protocol; no header timeout applies to it."""
        self.guard.done_waiting(self)
        super().handle_websocket_upgrade(event)

    def connection_lost(self, exc: Exception | None) -> None:
        """Forget the connection."""
        self.guard.gone(self)
        super().connection_lost(exc)

    def _note_state(self) -> None:
        # IDLE on the client's side: no request line and headers yet (a new connection,
        # or one back to waiting after a keep-alive response).
        if self.conn.their_state is h11.IDLE and not self.transport.is_closing():
            self.guard.wait_for_headers(self, self.loop)
        else:
            self.guard.done_waiting(self)


def guarded_protocol(guard: ConnectionGuard) -> type[GuardedH11Protocol]:
    """A ``GuardedH11Protocol`` class bound to ``guard``, to pass as uvicorn's ``http=``."""
    return type("GuardedH11Protocol", (GuardedH11Protocol,), {"guard": guard})


def raise_fd_limit(wanted: int) -> int:
    """Raise this process's open-file limit towards ``wanted`` (up to the hard limit).

    Returns the soft limit in force afterwards.
    """
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    target = wanted if hard == resource.RLIM_INFINITY else min(wanted, hard)
    if soft != resource.RLIM_INFINITY and soft < target:
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
            soft = target
        except (ValueError, OSError):
            pass
    return soft if soft != resource.RLIM_INFINITY else wanted


def connection_cap(max_connections: int) -> int:
    """``max_connections``, lowered if the file-descriptor limit cannot hold it plus a reserve.

    Raises the process's limit first if it can; running out of descriptors makes
    asyncio's accept loop fail (and log) on every try, which is worse than shedding.
    """
    limit = raise_fd_limit(max_connections + FD_RESERVE)
    cap = min(max_connections, max(16, limit - FD_RESERVE))
    if cap < max_connections:
        log.warning("at most %d connections (not %d): the open-file limit is %d", cap,
                    max_connections, limit)
    return cap


def install(guard: ConnectionGuard) -> dict[str, Any]:
    """Attach the noisy-message filter; the uvicorn.Config arguments for ``guard``."""
    noisy = CountNoisy(guard)
    for name in ("uvicorn.error", "asyncio"):
        logging.getLogger(name).addFilter(noisy)
    return {"http": guarded_protocol(guard)}
