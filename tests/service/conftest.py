"""Real servers on 127.0.0.1: talkinghead (a subprocess), a file server, a webhook receiver."""

from __future__ import annotations

import base64
import contextlib
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.conftest import EXAMPLE_PORTRAIT, voice_like, wav_bytes

KEY = "test-key-1"
OTHER_KEY = "test-key-2"
TERMINAL = ("completed", "failed")


@contextlib.contextmanager
def mounted_tmpfs(parent: Path, size: str) -> Iterator[Path]:
    """A tmpfs of ``size`` (e.g. ``"4m"``) under ``parent``; the test is skipped where
    mounting is not allowed (not root, or no permission)."""
    if os.geteuid() != 0:
        pytest.skip("mounting a small tmpfs needs root")
    mount = parent / f"tmpfs-{size}"
    mount.mkdir()
    if subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(mount)],
                      capture_output=True).returncode:
        pytest.skip("cannot mount a tmpfs here")
    try:
        yield mount
    finally:
        subprocess.run(["umount", "-l", str(mount)], check=False)


@contextlib.contextmanager
def uvicorn_in_thread(config: Any) -> Iterator[Any]:
    """A uvicorn server for ``config`` (a ``uvicorn.Config``) on a thread, started and
    stopped around the block."""
    import uvicorn

    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    try:
        deadline = time.monotonic() + 30
        while not server.started and time.monotonic() < deadline:
            time.sleep(0.05)
        yield server
    finally:
        server.should_exit = True
        thread.join(30)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def short_wav(duration_s: float, seed: int = 0) -> bytes:
    """Voice-like WAV bytes (16 kHz mono)."""
    return wav_bytes(voice_like(duration_s, seed=seed))


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


PORTRAIT = EXAMPLE_PORTRAIT.read_bytes()


class ServerProcess:
    """``talkinghead serve`` in its own process group, so a kill takes its workers too."""

    def __init__(self, data_dir: Path, *, workers: int = 2, env: dict[str, str] | None = None):
        self.data_dir, self.workers = data_dir, workers
        self.env = {**os.environ, "TALKINGHEAD_API_KEYS": f"{KEY},{OTHER_KEY}", **(env or {})}
        self.port = 0
        self.proc: subprocess.Popen[bytes] | None = None
        self.log = data_dir.parent / f"{data_dir.name}-server.log"

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, timeout_s: float = 60.0) -> ServerProcess:
        self.port = free_port()
        cmd = [sys.executable, "-m", "talkinghead.cli", "serve", "--host", "127.0.0.1",
               "--port", str(self.port), "--workers", str(self.workers),
               "--data-dir", str(self.data_dir)]
        with open(self.log, "ab") as log:
            self.proc = subprocess.Popen(cmd, env=self.env, stdout=log, stderr=subprocess.STDOUT,
                                         start_new_session=True)
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"server exited: {self.log.read_text()[-3000:]}")
            try:
                if httpx.get(f"{self.url}/healthz", timeout=1.0).status_code == 200:
                    return self
            except httpx.TransportError:
                pass
            time.sleep(0.1)
        self.kill()
        raise RuntimeError("server did not start in time")

    def kill(self) -> None:
        """SIGKILL the server and its workers: no cleanup runs."""
        self._signal(signal.SIGKILL)

    def stop(self) -> None:
        """SIGTERM, then SIGKILL whatever is left."""
        self._signal(signal.SIGTERM, wait_s=15.0)
        self._signal(signal.SIGKILL)

    def _signal(self, sig: int, wait_s: float = 5.0) -> None:
        if self.proc is None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.proc.pid, sig)
        try:
            self.proc.wait(wait_s)
        except subprocess.TimeoutExpired:
            return
        if sig == signal.SIGKILL or self.proc.returncode is not None:
            with contextlib.suppress(ProcessLookupError):  # the workers share the group
                os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc = None


class Api:
    """A hosted-API client, as a user of the hosted service would write it."""

    def __init__(self, base_url: str, key: str = KEY) -> None:
        self.client = httpx.Client(base_url=base_url, timeout=60.0,
                                   headers={"Authorization": f"Bearer {key}"})

    def submit(self, body: dict[str, Any], *, model: str = "bytedance/avatar-omni-human",
               webhook: str | None = None) -> httpx.Response:
        params = {"webhook": webhook} if webhook else None
        return self.client.post(f"/api/v3/{model}", json=body, params=params)

    def wait(self, job_id: str, timeout_s: float = 120.0, poll_s: float = 0.1) -> dict[str, Any]:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            data = self.client.get(f"/api/v3/predictions/{job_id}/result").json()["data"]
            if data["status"] in TERMINAL:
                return data
            time.sleep(poll_s)
        raise AssertionError(f"{job_id} did not finish in {timeout_s} s")

    def run(self, body: dict[str, Any], *, poll_s: float = 0.1, **kwargs: Any) -> dict[str, Any]:
        response = self.submit(body, **kwargs)
        assert response.status_code == 200, response.text
        return self.wait(response.json()["data"]["id"], poll_s=poll_s)

    def close(self) -> None:
        self.client.close()


@dataclass
class Recorded:
    headers: dict[str, str]
    body: bytes


@dataclass
class LocalHTTP:
    """One 127.0.0.1 server for both file serving and webhook receiving."""

    port: int
    routes: dict[str, Callable[[BaseHTTPRequestHandler], None]] = field(default_factory=dict)
    received: list[Recorded] = field(default_factory=list)
    fail_first: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"


def _make_handler(state: LocalHTTP) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: Any) -> None:
            pass

        def do_GET(self) -> None:  # noqa: N802
            route = state.routes.get(self.path)
            if route is None:
                self.send_error(404)
                return
            route(self)

        def do_POST(self) -> None:  # noqa: N802
            body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
            with state.lock:
                fail = state.fail_first > 0
                if fail:
                    state.fail_first -= 1
                state.received.append(Recorded(dict(self.headers.items()), body))
            self.send_response(500 if fail else 200)
            self.send_header("Content-Length", "0")
            self.end_headers()

    return Handler


def send_bytes(data: bytes, content_type: str) -> Callable[[BaseHTTPRequestHandler], None]:
    def route(handler: BaseHTTPRequestHandler) -> None:
        handler.send_response(200)
        handler.send_header("Content-Type", content_type)
        handler.send_header("Content-Length", str(len(data)))
        handler.end_headers()
        handler.wfile.write(data)
    return route


def redirect(location: str) -> Callable[[BaseHTTPRequestHandler], None]:
    def route(handler: BaseHTTPRequestHandler) -> None:
        handler.send_response(302)
        handler.send_header("Location", location)
        handler.send_header("Content-Length", "0")
        handler.end_headers()
    return route


@pytest.fixture(scope="session")
def local_http() -> Iterator[LocalHTTP]:
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), BaseHTTPRequestHandler)
    state = LocalHTTP(port=httpd.server_address[1])
    httpd.RequestHandlerClass = _make_handler(state)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    state.routes.update({
        "/portrait.png": send_bytes(PORTRAIT, "image/png"),
        "/speech.wav": send_bytes(short_wav(1.0), "audio/wav"),
        "/to-portrait": redirect("/portrait.png"),
        "/to-loopback": redirect(f"http://127.0.0.2:{state.port}/portrait.png"),
        "/loop1": redirect("/loop2"), "/loop2": redirect("/loop3"),
        "/loop3": redirect("/loop4"), "/loop4": redirect("/portrait.png"),
    })
    yield state
    httpd.shutdown()
    httpd.server_close()
    thread.join()


@pytest.fixture(scope="session")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    """The shared server: 2 workers, loopback 127.0.0.1 allow-listed, fast webhook retries."""
    data = tmp_path_factory.mktemp("service") / "data"
    proc = ServerProcess(data, workers=2, env={
        "TALKINGHEAD_FETCH_ALLOW": "127.0.0.1/32",
        "TALKINGHEAD_WEBHOOK_BACKOFF_S": "0.2",
        "TALKINGHEAD_WEBHOOK_SECRET": "whsec_test-secret",
        "TALKINGHEAD_MAX_AUDIO_MB": "1",
        "TALKINGHEAD_AUTH_FAILURES_PER_MIN": "1000",  # many tests send wrong keys on purpose
    }).start()
    yield proc
    proc.stop()


@pytest.fixture
def api(server: ServerProcess) -> Iterator[Api]:
    client = Api(server.url)
    yield client
    client.close()
