"""One key's slow URLs and slow webhook receivers do not hold up another key (real servers)."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest

from talkinghead.service.errors import FetchError
from talkinghead.service.fetch import FetchLimits, fetch_url
from talkinghead.service.netguard import AddressPolicy, guarded_pool
from talkinghead.service.webhooks import WebhookSender
from tests.service.conftest import KEY, OTHER_KEY, LocalHTTP, ServerProcess

LOOPBACK = AddressPolicy(["127.0.0.1/32"])
MODEL = "/api/v3/bytedance/avatar-omni-human"


def trickle(every_s: float, *, headers_too: bool = False,
            max_s: float = 30.0) -> Callable[[BaseHTTPRequestHandler], None]:
    """A route that sends one byte every ``every_s`` (of the body, or of everything)."""
    def route(handler: BaseHTTPRequestHandler) -> None:
        head = b"HTTP/1.1 200 OK\r\nContent-Type: image/png\r\nContent-Length: 100000\r\n\r\n"
        data = head + b"x" * 1000 if headers_too else b"x" * 1000
        if not headers_too:
            handler.wfile.write(head)
            handler.wfile.flush()
        end = time.monotonic() + max_s
        try:
            for byte in data:
                if time.monotonic() > end:
                    break
                handler.wfile.write(bytes([byte]))
                handler.wfile.flush()
                time.sleep(every_s)
        except OSError:  # the client gave up: what we want
            pass
        handler.close_connection = True
    return route


def steady(rate: int, total: int) -> Callable[[BaseHTTPRequestHandler], None]:
    """A route that sends ``total`` bytes at about ``rate`` bytes/s (fast enough, long)."""
    def route(handler: BaseHTTPRequestHandler) -> None:
        handler.send_response(200)
        handler.send_header("Content-Length", str(total))
        handler.end_headers()
        try:
            for _ in range(total // (rate // 10)):
                handler.wfile.write(b"x" * (rate // 10))
                handler.wfile.flush()
                time.sleep(0.1)
        except OSError:
            pass
    return route


@pytest.fixture(scope="module")
def slow_routes(local_http: LocalHTTP) -> LocalHTTP:
    local_http.routes.update({
        "/trickle-body": trickle(0.5), "/trickle-5s": trickle(5.0),
        "/trickle-headers": trickle(0.3, headers_too=True), "/steady": steady(20_000, 400_000)})
    return local_http


def limits(**kwargs: Any) -> FetchLimits:
    return FetchLimits(**{"max_bytes": 10**6, "min_rate": 1000, "rate_grace_s": 1.0, **kwargs})


@pytest.mark.parametrize("path", ["/trickle-body", "/trickle-headers"])
def test_a_trickling_server_fails_fast_and_says_so(slow_routes: LocalHTTP, path: str) -> None:
    pool = guarded_pool(LOOPBACK)
    start = time.monotonic()
    with pytest.raises(FetchError) as raised:
        fetch_url(f"{slow_routes.url}{path}", field="image", limits=limits(), pool=pool)
    took = time.monotonic() - start
    pool.close()
    assert took < 2.5, took  # grace 1 s + what it sent / 1 kB/s; not the 20 s read timeout
    message = raised.value.message
    assert message.startswith("image: ") and "too slow" in message and "1 kB/s" in message


def test_a_fast_enough_but_endless_download_meets_the_deadline(slow_routes: LocalHTTP) -> None:
    pool = guarded_pool(LOOPBACK)
    start = time.monotonic()
    with pytest.raises(FetchError, match="took longer than 1.5 s"):
        fetch_url(f"{slow_routes.url}/steady", field="audio",
                  limits=limits(total_timeout_s=1.5), pool=pool)
    assert time.monotonic() - start < 2.5
    pool.close()


def test_a_trickling_key_does_not_slow_another(tmp_path: Path, slow_routes: LocalHTTP) -> None:
    """B sends 10 URL submits whose server trickles a byte every 5 s; A polls and submits."""
    server = ServerProcess(tmp_path / "data", workers=1, env={
        "TALKINGHEAD_FETCH_ALLOW": "127.0.0.1/32", "TALKINGHEAD_FETCHES_PER_KEY": "4",
        "TALKINGHEAD_FETCH_RATE_GRACE_S": "2"}).start()
    a = httpx.Client(base_url=server.url, timeout=30, headers={"Authorization": f"Bearer {KEY}"})
    b = httpx.Client(base_url=server.url, timeout=60,
                     headers={"Authorization": f"Bearer {OTHER_KEY}"},
                     limits=httpx.Limits(max_connections=20))
    slow = {"image": f"{slow_routes.url}/trickle-5s", "audio": f"{slow_routes.url}/trickle-5s"}
    good = {"image": f"{slow_routes.url}/portrait.png", "audio": f"{slow_routes.url}/speech.wav"}
    try:
        first = a.post(MODEL, json=good)
        assert first.status_code == 200, first.text
        job = first.json()["data"]["id"]

        def attack(_: int) -> tuple[int, str, float]:
            start = time.monotonic()
            answer = b.post(MODEL, json=slow)
            return answer.status_code, answer.json()["message"], time.monotonic() - start

        with ThreadPoolExecutor(10) as pool:
            attacks = [pool.submit(attack, i) for i in range(10)]
            time.sleep(0.5)  # B's downloads are in flight
            polls = []
            while not all(f.done() for f in attacks):
                start = time.monotonic()
                assert a.get(f"/api/v3/predictions/{job}/result").status_code == 200
                polls.append(time.monotonic() - start)
                time.sleep(0.05)
            second = a.post(MODEL, json=good)  # A's URL submit during the attack's tail
            results = [f.result() for f in attacks]
        polls.sort()
        p95 = polls[int(len(polls) * 0.95)]
        slowest = max(took for _, _, took in results)
        print(f"A's polls during B's trickle: {len(polls)}, p95 {p95 * 1000:.0f} ms, "
              f"max {polls[-1] * 1000:.0f} ms; B's slowest answer {slowest:.1f} s")
        assert second.status_code == 200, second.text
        assert p95 < 0.1
        statuses = sorted(status for status, _, _ in results)
        assert set(statuses) <= {400, 429} and 400 in statuses and 429 in statuses, results
        for status, message, _ in results:
            assert ("too slow" in message) if status == 400 else ("URL downloads" in message)
        assert slowest < 8.0  # grace 2 s + a byte's wait; not minutes
    finally:
        a.close()
        b.close()
        server.stop()


class Receivers:
    """Webhook receivers on 127.0.0.1: /slow answers after 1.5 s, /fast at once."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.slow_now = self.slow_most = 0
        self.fast_at: list[float] = []
        receivers = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def do_POST(self) -> None:  # noqa: N802
                self.rfile.read(int(self.headers.get("Content-Length", 0)))
                if self.path == "/slow":
                    with receivers.lock:
                        receivers.slow_now += 1
                        receivers.slow_most = max(receivers.slow_most, receivers.slow_now)
                    time.sleep(1.5)
                    with receivers.lock:
                        receivers.slow_now -= 1
                elif self.path == "/fast":
                    with receivers.lock:
                        receivers.fast_at.append(time.monotonic())
                elif self.path == "/trickle":
                    trickle(0.3, headers_too=True, max_s=5)(self)
                    return
                self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def receivers() -> Iterator[Receivers]:
    server = Receivers()
    yield server
    server.close()


def test_one_key_s_slow_receivers_do_not_delay_another_key(receivers: Receivers) -> None:
    results: list[tuple[str, bool, float]] = []
    sender = WebhookSender(policy=LOOPBACK, attempts=1, timeout_s=5, threads=4, per_key=2,
                           on_result=lambda job, ok: results.append((job, ok, time.monotonic())))
    sender.start()
    try:
        for i in range(6):
            sender.send(f"b{i}", f"{receivers.url}/slow", {"n": i}, secret="s", key="B")
        time.sleep(0.2)  # B's deliveries are in flight
        sent = time.monotonic()
        sender.send("a0", f"{receivers.url}/fast", {"n": 0}, secret="s", key="A")
        deadline = time.monotonic() + 15
        while len(results) < 7 and time.monotonic() < deadline:
            time.sleep(0.05)
    finally:
        sender.stop()
    assert receivers.fast_at and receivers.fast_at[0] - sent < 0.5  # not after B's 6 x 1.5 s
    assert receivers.slow_most == 2  # B never had more than its 2 slots
    assert sorted(job for job, ok, _ in results if ok) == ["a0"] + [f"b{i}" for i in range(6)]


def test_a_webhook_attempt_ends_within_its_timeout(receivers: Receivers) -> None:
    results: list[tuple[str, bool]] = []
    sender = WebhookSender(policy=LOOPBACK, attempts=1, timeout_s=1.0,
                           on_result=lambda job, ok: results.append((job, ok)))
    sender.start()
    start = time.monotonic()
    try:
        sender.send("t", f"{receivers.url}/trickle", {}, secret="s", key="A")
        while not results and time.monotonic() - start < 10:
            time.sleep(0.05)
    finally:
        sender.stop()
    assert results == [("t", False)]
    assert time.monotonic() - start < 2.0  # 1 s, though a byte came every 0.3 s
