"""Hostile and unlucky inputs get the API's JSON errors (4xx, or a JSON 500), never a crash."""

from __future__ import annotations

import ipaddress
import os
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from talkinghead.service.netguard import AddressPolicy
from talkinghead.service.webhooks import sign, verify
from tests.conftest import voice_like, wav_bytes
from tests.service.conftest import (
    KEY,
    PORTRAIT,
    Api,
    LocalHTTP,
    ServerProcess,
    b64,
    mounted_tmpfs,
    send_bytes,
    short_wav,
)

MODEL = "/api/v3/bytedance/avatar-omni-human"


def assert_api_error(response: httpx.Response, status: int | tuple[int, ...]) -> dict:
    wanted = status if isinstance(status, tuple) else (status,)
    assert response.status_code in wanted, (response.status_code, response.text[:300])
    assert response.headers["content-type"].startswith("application/json"), response.text[:300]
    body = response.json()
    assert body["code"] == response.status_code and body["data"] is None and body["error_code"]
    return body


@pytest.mark.parametrize("expires", ["²", "9" * 5000, "-1", "1e9", "０"])
def test_odd_expires_values_are_refused_not_a_crash(server: ServerProcess, api: Api,
                                                    expires: str) -> None:
    anonymous = httpx.get(f"{server.url}/files/x.mp4", params={"expires": expires, "sig": "a"})
    assert_api_error(anonymous, 401)
    keyed = api.client.get("/files/x.mp4", params={"expires": expires, "sig": "a"})
    assert_api_error(keyed, 404)


@pytest.mark.parametrize(("body", "words"), [
    ({"image": "http://①⓪.⓪.⓪.①/p.png", "audio": "aGVsbG8="}, "10.0.0.1"),  # 127/8 is allowed here
    ({"image": "http://exa mple.com/p.png", "audio": "aGVsbG8="}, "image"),
    ({"image": "http://xn--a.com/p.png", "audio": "aGVsbG8="}, "image"),
])
def test_non_ascii_and_odd_hosts_are_refused(api: Api, body: dict, words: str) -> None:
    refused = assert_api_error(api.submit(body), 400)
    assert words in refused["message"]


def test_a_non_ascii_webhook_host_is_refused(api: Api) -> None:
    refused = api.submit({"image": "aGVsbG8=", "audio": "aGVsbG8="},
                         webhook="http://①⓪.⓪.⓪.①/hook")
    assert "webhook" in assert_api_error(refused, 400)["message"]


def test_huge_numbers_and_deep_json_are_400(api: Api) -> None:
    for digits in (5000, 4000, 11):
        raw = '{"image": "aGVsbG8=", "audio": "aGVsbG8=", "seed": ' + "9" * digits + "}"
        refused = assert_api_error(api.client.post(MODEL, content=raw), 400)
        assert len(refused["message"]) < 300
    deep = "[" * 100_000 + "]" * 100_000
    assert "nested" in assert_api_error(api.client.post(MODEL, content=deep), 400)["message"]
    deep_object = '{"image": ' + "[" * 5000 + "]" * 5000 + ', "audio": "x"}'
    assert_api_error(api.client.post(MODEL, content=deep_object), 400)


def test_an_internal_error_answers_in_the_api_shape(tmp_path: Path) -> None:

    import uvicorn

    from talkinghead.service.app import create_app
    from talkinghead.service.settings import Settings
    from tests.service.conftest import free_port, uvicorn_in_thread

    app = create_app(Settings(api_keys=(KEY,), workers=1, data_dir=tmp_path))

    @app.get("/boom")
    async def boom() -> None:
        raise RuntimeError("a bug with /secret/server/path in it")

    port = free_port()
    with uvicorn_in_thread(uvicorn.Config(app, host="127.0.0.1", port=port,
                                          log_level="critical")):
        response = httpx.get(f"http://127.0.0.1:{port}/boom")
    body = assert_api_error(response, 500)
    assert body["error_code"] == "internal_error" and "/secret" not in response.text


@pytest.mark.parametrize("address", [
    "64:ff9b::7f00:1", "64:ff9b::a00:1", "64:ff9b::a9fe:a9fe", "64:ff9b:1::808:808",
    "2002:7f00:1::1", "2002:a00:1::", "2002:c0a8:101::1", "::127.0.0.1", "::10.0.0.1",
    "::169.254.169.254", "::ffff:0:127.0.0.1",
])
def test_ipv6_forms_of_private_ipv4_are_refused(address: str) -> None:
    assert not AddressPolicy().is_allowed(ipaddress.ip_address(address))


@pytest.mark.parametrize("address", ["64:ff9b::808:808", "2002:808:808::1"])
def test_ipv6_forms_of_public_ipv4_pass(address: str) -> None:
    assert AddressPolicy().is_allowed(ipaddress.ip_address(address))


@pytest.mark.parametrize("timestamp", ["²", "１２３", "9" * 5000, "-5", " 12", "1.5", ""])
def test_verify_is_false_on_a_malformed_timestamp(timestamp: str) -> None:
    body = b"{}"
    headers = {"webhook-id": "whk_1", "webhook-timestamp": timestamp,
               "webhook-signature": sign("whsec_s", "whk_1", int(time.time()), body)}
    assert verify("whsec_s", headers, body) is False


def test_a_corrupt_store_is_one_line_naming_the_file(tmp_path: Path) -> None:
    data = tmp_path / "data"
    data.mkdir()
    store = data / "jobs.sqlite3"
    store.write_bytes(b"SQLite format 3\x00" + os.urandom(8192))
    env = {**os.environ, "TALKINGHEAD_API_KEYS": "k"}
    done = subprocess.run([sys.executable, "-m", "talkinghead.cli", "serve", "--port", "1",
                           "--data-dir", str(data)], env=env, capture_output=True, text=True,
                          timeout=60)
    assert done.returncode == 1
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and str(store) in lines[0] and "damaged" in lines[0], done.stderr


def test_pages_send_security_headers(server: ServerProcess) -> None:
    for path in ("/", "/playground/app.js", "/docs"):
        headers = httpx.get(f"{server.url}{path}").headers
        assert headers["x-content-type-options"] == "nosniff"
        assert "frame-ancestors 'none'" in headers["content-security-policy"]
        assert headers["x-frame-options"] == "DENY"
    playground_csp = httpx.get(f"{server.url}/").headers["content-security-policy"]
    assert "script-src 'self';" in playground_csp and "unsafe" not in playground_csp
    assert httpx.get(f"{server.url}/healthz").headers["x-content-type-options"] == "nosniff"


def test_docs_need_no_cdn(server: ServerProcess) -> None:
    page = httpx.get(f"{server.url}/docs")
    assert page.status_code == 200 and "https://" not in page.text and "http://" not in page.text
    for asset in ("swagger-ui-bundle.js", "swagger-ui.css"):
        assert f"/docs-assets/{asset}" in page.text
        served = httpx.get(f"{server.url}/docs-assets/{asset}")
        assert served.status_code == 200 and len(served.content) > 100_000


def test_failure_messages_name_no_server_path(server: ServerProcess, api: Api) -> None:
    import io

    from PIL import Image

    blank = io.BytesIO()
    Image.new("RGB", (256, 256), (200, 180, 160)).save(blank, format="PNG")
    refused = api.submit({"image": b64(blank.getvalue()), "audio": b64(short_wav(0.5))})
    assert refused.status_code == 422 and str(server.data_dir) not in refused.text
    for body in ({"image": b64(PORTRAIT), "audio": b64(b"this is not audio" * 20)},):
        failed = api.run(body)
        assert failed["status"] == "failed" and failed["error"]
        for leak in (str(server.data_dir), "/inputs/", "/outputs/", ".part"):
            assert leak not in failed["error"], failed["error"]
        assert failed["error"].startswith(("image", "audio")), failed["error"]


def _rss(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    raise AssertionError("no VmRSS")


def _raw_post(port: int, headers: str, chunks: object) -> bytes:
    """POST over a bare socket (no client-side limits); the first bytes of the answer."""
    import socket

    with socket.create_connection(("127.0.0.1", port), timeout=30) as sock:
        sock.sendall((f"POST {MODEL} HTTP/1.1\r\nHost: t\r\nAuthorization: Bearer {KEY}\r\n"
                      f"Content-Type: application/json\r\n{headers}\r\n").encode())
        try:
            for chunk in chunks:  # type: ignore[attr-defined]
                sock.sendall(chunk)
        except OSError:
            pass  # the server may stop reading once it has answered
        answer = b""
        while not answer.endswith(b"}"):  # headers and JSON body may come in two reads
            try:
                got = sock.recv(4096)
            except OSError:
                break
            if not got:
                break
            answer += got
        return answer


def test_an_oversized_content_length_is_refused_before_the_body(server: ServerProcess) -> None:
    started = time.monotonic()
    answer = _raw_post(server.port, f"Content-Length: {300 * 2**20}\r\n", [b'{"image": "'])
    assert answer.startswith(b"HTTP/1.1 413"), answer[:200]
    assert time.monotonic() - started < 5  # answered without waiting for 300 MB
    assert b'"error_code":"file_too_large"' in answer


@pytest.mark.skipif(not Path("/proc/self/status").exists(), reason="reads /proc for memory")
def test_four_300_mb_chunked_bodies_keep_server_memory_bounded(server: ServerProcess) -> None:
    """Counted as they stream, spooled to disk past 1 MB, refused at the limit: 4 x 300 MB
    at once raise the server's memory by far less than 150 MB (it was 1.8 GB)."""
    import threading

    megabyte = b"a" * 2**20

    def body() -> object:
        for _ in range(300):
            yield b"%x\r\n" % len(megabyte) + megabyte + b"\r\n"
        yield b"0\r\n\r\n"

    pid = server.proc.pid
    base = peak = _rss(pid)
    answers: list[bytes] = []
    senders = [threading.Thread(target=lambda: answers.append(
        _raw_post(server.port, "Transfer-Encoding: chunked\r\n", body()))) for _ in range(4)]
    for sender in senders:
        sender.start()
    while any(s.is_alive() for s in senders):
        peak = max(peak, _rss(pid))
        time.sleep(0.01)
    assert len(answers) == 4 and all(a.startswith(b"HTTP/1.1 413") for a in answers), answers
    assert (peak - base) / 2**20 < 150, f"server memory rose by {(peak - base) / 2**20:.0f} MB"
    assert not list((server.data_dir / "spool").iterdir())


@pytest.fixture
def small_disk(tmp_path: Path):  # noqa: ANN201
    """A 24 MB tmpfs (root only; skipped where mounting is not allowed)."""
    with mounted_tmpfs(tmp_path, "24m") as mount:
        yield mount


def _fill(disk: Path, leave_bytes: int) -> None:
    import shutil

    filler = disk / "filler"
    filler.unlink(missing_ok=True)
    free = shutil.disk_usage(disk).free
    filler.write_bytes(b"\0" * max(0, free - leave_bytes))


def test_a_full_disk_gets_507_leaves_nothing_behind_and_recovers(small_disk: Path,
                                                                 local_http: LocalHTTP) -> None:
    local_http.routes["/big-voice.wav"] = send_bytes(wav_bytes(voice_like(100.0)), "audio/wav")
    server = ServerProcess(small_disk, workers=1, env={
        "TALKINGHEAD_MIN_FREE_MB": "2", "TALKINGHEAD_FETCH_ALLOW": "127.0.0.1/32"}).start()
    api = Api(server.url)
    small = {"image": b64(PORTRAIT), "audio": b64(short_wav(0.5))}
    try:
        _fill(small_disk, leave_bytes=1 * 2**20)  # under the 2 MB threshold: admission says no
        refused = assert_api_error(api.submit(small), 507)
        assert refused["error_code"] == "insufficient_storage" and "MB free" in refused["message"]
        _fill(small_disk, leave_bytes=int(2.5 * 2**20))  # admitted, but the inputs do not fit
        big = {"image": b64(PORTRAIT), "audio": f"{local_http.url}/big-voice.wav"}  # 3.2 MB
        full = assert_api_error(api.submit(big), 507)
        assert full["error_code"] == "insufficient_storage" and "disk is full" in full["message"]
        assert not list((small_disk / "inputs").iterdir())  # no half-written input folder
        (small_disk / "filler").unlink()  # space comes back: no restart needed
        done = api.run(small)
        assert done["status"] == "completed", done["error"]
        assert httpx.get(f"{server.url}/healthz").json()["processing"] == 0
    finally:
        api.close()
        server.stop()


def test_token_buckets_refill_and_stay_bounded() -> None:
    from talkinghead.service.limits import TokenBuckets

    now = [0.0]
    buckets = TokenBuckets(6, 2, max_names=3, clock=lambda: now[0])
    assert buckets.take("a") == 0 and buckets.take("a") == 0
    assert buckets.take("a") == pytest.approx(10.0) and buckets.wait_s("a") == pytest.approx(10.0)
    assert buckets.take("b") == 0  # names are separate
    now[0] += 10.0
    assert buckets.wait_s("a") == 0 and buckets.take("a") == 0
    now[0] += 100.0
    for name in "cdef":
        buckets.take(name)
    assert len(buckets._buckets) <= 4  # refilled buckets were forgotten


def test_wrong_keys_are_throttled_per_address_and_submits_per_key(tmp_path: Path) -> None:
    from tests.service.conftest import OTHER_KEY

    server = ServerProcess(tmp_path / "data", workers=1, env={
        "TALKINGHEAD_AUTH_FAILURES_PER_MIN": "6", "TALKINGHEAD_SUBMITS_PER_MIN": "6",
        "TALKINGHEAD_SUBMIT_BURST": "2"}).start()
    guesser = httpx.Client(base_url=server.url, headers={"Authorization": "Bearer guess"})
    elsewhere = httpx.HTTPTransport(local_address="127.0.0.2")  # another client address
    tenants = {key: httpx.Client(base_url=server.url, transport=elsewhere,
                                 headers={"Authorization": f"Bearer {key}"})
               for key in (KEY, OTHER_KEY)}
    try:
        for _ in range(6):
            assert_api_error(guesser.get("/api/v3/predictions/x/result"), 401)
        blocked = guesser.get("/api/v3/predictions/x/result")
        assert assert_api_error(blocked, 429)["error_code"] == "rate_limited"
        assert 1 <= int(blocked.headers["retry-after"]) <= 11
        right_key_same_address = guesser.get("/api/v3/predictions/x/result",
                                             headers={"Authorization": f"Bearer {KEY}"})
        assert_api_error(right_key_same_address, 429)  # no oracle while blocked
        assert_api_error(tenants[KEY].get("/api/v3/predictions/x/result"), 404)  # others fine

        for _ in range(2):  # the burst; the body is bad on purpose (cheap), the slot is used
            assert_api_error(tenants[KEY].post(MODEL, content=b"{"), 400)
        limited = tenants[KEY].post(MODEL, content=b"{")
        assert assert_api_error(limited, 429)["error_code"] == "rate_limited"
        assert 1 <= int(limited.headers["retry-after"]) <= 11
        assert_api_error(tenants[OTHER_KEY].post(MODEL, content=b"{"), 400)  # per key
    finally:
        guesser.close()
        for client in tenants.values():
            client.close()
        server.stop()
