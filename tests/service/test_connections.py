"""Idle and slow sockets: header timeout, keep-alive timeout, a connection cap, a quiet log."""

from __future__ import annotations

import asyncio
import os
import socket
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from talkinghead.service.connections import ConnectionGuard, guarded_protocol
from tests.service.conftest import KEY, ServerProcess, free_port, uvicorn_in_thread

HEADER_TIMEOUT_S = 2.0
CAP = 200
IDLE_SOCKETS = 600
PARTIAL = b"GET /healthz HTTP/1.1\r\nHost: x\r\n"  # the blank line never comes


@pytest.fixture(scope="module")
def guarded(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    data = tmp_path_factory.mktemp("connections") / "data"
    proc = ServerProcess(data, workers=1, env={
        "TALKINGHEAD_HEADER_TIMEOUT_S": str(HEADER_TIMEOUT_S), "TALKINGHEAD_KEEPALIVE_S": "1",
        "TALKINGHEAD_MAX_CONNECTIONS": str(CAP)}).start()
    yield proc
    proc.stop()


def closed_by_server(sock: socket.socket) -> bool:
    """True when the server has closed ``sock`` (EOF or reset), without waiting."""
    sock.setblocking(False)
    try:
        while True:  # skip what was sent before (the rest of an answer)
            if sock.recv(65536) == b"":
                return True
    except BlockingIOError:
        return False
    except OSError:
        return True


def open_fds(pid: int) -> int:
    return len(os.listdir(f"/proc/{pid}/fd"))


def test_idle_sockets_are_shed_and_health_answers_fast(guarded: ServerProcess) -> None:
    assert guarded.proc is not None
    log_before = guarded.log.stat().st_size
    idle: list[socket.socket] = []
    try:
        for _ in range(IDLE_SOCKETS):
            sock = socket.create_connection(("127.0.0.1", guarded.port), timeout=5)
            sock.sendall(PARTIAL)
            idle.append(sock)
        time.sleep(0.3)  # let the server accept them all
        latencies = []
        poll = httpx.Client(base_url=guarded.url, headers={"Authorization": f"Bearer {KEY}"})
        for i in range(20):
            start = time.monotonic()
            if i % 2:
                assert httpx.get(f"{guarded.url}/healthz", timeout=5).status_code == 200
            else:  # a poll: a fresh connection each time, like the healthz probes
                with httpx.Client(base_url=guarded.url, timeout=5,
                                  headers={"Authorization": f"Bearer {KEY}"}) as fresh:
                    assert fresh.get("/api/v3/predictions/nope/result").status_code == 404
            latencies.append(time.monotonic() - start)
        poll.close()
        fds = open_fds(guarded.proc.pid)
        print(f"{IDLE_SOCKETS} idle sockets, cap {CAP}: healthz/poll max "
              f"{max(latencies) * 1000:.0f} ms, server fds {fds}")
        assert max(latencies) < 1.0, latencies
        assert fds < CAP + 150  # the cap held: not one descriptor per idle socket
        shed = sum(closed_by_server(s) for s in idle)
        assert shed >= IDLE_SOCKETS - CAP - 20  # the oldest were closed to make room

        time.sleep(HEADER_TIMEOUT_S + 1.0)  # every socket's header deadline has passed
        assert all(closed_by_server(s) for s in idle)
    finally:
        for sock in idle:
            sock.close()
    grown = guarded.log.stat().st_size - log_before
    assert grown < 2000, guarded.log.read_text()[-2000:]  # no line per socket


def test_trickled_headers_and_idle_keep_alive_are_closed(guarded: ServerProcess) -> None:
    with socket.create_connection(("127.0.0.1", guarded.port), timeout=5) as slow:
        start = time.monotonic()
        for byte in PARTIAL * 20:  # one byte every 0.1 s: never idle long, never done
            try:
                slow.send(bytes([byte]))
            except OSError:
                break
            if closed_by_server(slow):
                break
            slow.setblocking(True)
            time.sleep(0.1)
        assert closed_by_server(slow)
        assert HEADER_TIMEOUT_S - 0.2 < time.monotonic() - start < HEADER_TIMEOUT_S + 1.5

    with socket.create_connection(("127.0.0.1", guarded.port), timeout=5) as kept:
        kept.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
        assert kept.recv(4096).startswith(b"HTTP/1.1 200")
        time.sleep(0.5)
        assert not closed_by_server(kept)  # within the keep-alive time: still open
        time.sleep(1.5)
        assert closed_by_server(kept)  # idle past TALKINGHEAD_KEEPALIVE_S (1 s)


class EchoAfterUpgrade(asyncio.Protocol):
    """Stands in for uvicorn's WebSocket protocol: answers 101, then echoes."""

    def __init__(self, config: Any, server_state: Any, app_state: Any,
                 _loop: Any = None) -> None:
        self.connections = server_state.connections
        self.upgraded = False

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport
        self.connections.add(self)

    def data_received(self, data: bytes) -> None:
        if self.upgraded:
            self.transport.write(data)
            return
        self.upgraded = True
        self.transport.write(b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
                             b"Connection: Upgrade\r\n\r\n")

    def connection_lost(self, exc: Exception | None) -> None:
        self.connections.discard(self)

    def shutdown(self) -> None:
        self.transport.close()


def test_an_upgraded_connection_outlives_the_header_timeout(tmp_path: Path) -> None:
    import uvicorn

    async def app(scope: dict, receive: Any, send: Any) -> None:
        await send({"type": "http.response.start", "status": 204, "headers": []})
        await send({"type": "http.response.body", "body": b""})

    guard = ConnectionGuard(header_timeout_s=0.5, max_connections=16)
    port = free_port()
    with uvicorn_in_thread(uvicorn.Config(
            app, host="127.0.0.1", port=port, log_level="critical", lifespan="off",
            http=guarded_protocol(guard), ws=EchoAfterUpgrade)):  # type: ignore[arg-type]
        with socket.create_connection(("127.0.0.1", port), timeout=5) as ws:
            ws.sendall(b"GET /live HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\n"
                       b"Upgrade: websocket\r\nSec-WebSocket-Version: 13\r\n"
                       b"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n")
            assert ws.recv(4096).startswith(b"HTTP/1.1 101")
            time.sleep(1.5)  # three header timeouts
            ws.sendall(b"still here")
            assert ws.recv(100) == b"still here"
        with socket.create_connection(("127.0.0.1", port), timeout=5) as plain:
            time.sleep(1.5)  # no headers: closed
            assert closed_by_server(plain)
        assert guard.counts["header_timeout"] >= 1 and not guard.waiting
