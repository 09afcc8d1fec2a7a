"""The Celery fleet against real parts: redis-server, `talkinghead worker` and `serve` processes.

A job through the fleet, two workers sharing a batch (webhooks sent once, by the
API), a worker killed mid-job, a rendering child killed while the API restarts,
the task's claim/attempt rules on the real Redis, and Redis going away.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.service.conftest import (
    PORTRAIT,
    Api,
    LocalHTTP,
    ServerProcess,
    b64,
    free_port,
    short_wav,
)

QUEUE = "fleet-test"
FLEET_ENV = {
    "TALKINGHEAD_FLEET_QUEUE": QUEUE,
    "TALKINGHEAD_FLEET_VISIBILITY_TIMEOUT_S": "4",  # a dead worker's task returns in ~5 s
    "TALKINGHEAD_FLEET_LEASE_S": "1.5",
    "TALKINGHEAD_NSFW_POLICY": "off",
    "TALKINGHEAD_FETCH_ALLOW": "127.0.0.1/32",
    "TALKINGHEAD_WEBHOOK_BACKOFF_S": "0.2",
}


class RedisServer:
    """A throw-away redis-server on a free 127.0.0.1 port, nothing written to disk."""

    def __init__(self, folder: Path) -> None:
        binary = shutil.which("redis-server")
        if binary is None:
            pytest.skip("redis-server is not installed (Debian package redis-server, listed in "
                        "requirements-apt.txt; scripts/setup.sh --test installs it)")
        self.port = free_port()
        self.proc = subprocess.Popen(
            [binary, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
             "--appendonly", "no", "--dir", str(folder)],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        import redis

        self.client = redis.Redis(port=self.port)
        deadline = time.monotonic() + 10
        while True:
            try:
                self.client.ping()
                break
            except redis.ConnectionError:
                if time.monotonic() > deadline:
                    self.stop()
                    raise
                time.sleep(0.05)

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def stop(self) -> None:
        self.client.close()
        self.proc.terminate()
        self.proc.wait(10)


class WorkerProcess:
    """`talkinghead worker --concurrency 1` in its own process group (kill takes its child)."""

    def __init__(self, name: str, folder: Path, broker_url: str) -> None:
        self.log = folder / f"{name}.log"
        env = {**os.environ, **FLEET_ENV, "TALKINGHEAD_BROKER_URL": broker_url}
        with open(self.log, "ab") as log:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "talkinghead.cli", "worker", "--concurrency", "1"],
                env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        deadline = time.monotonic() + 60
        while " ready." not in self.text():
            if self.proc.poll() is not None or time.monotonic() > deadline:
                self.kill()
                raise RuntimeError(f"worker did not start: {self.text()[-3000:]}")
            time.sleep(0.1)

    def text(self) -> str:
        return self.log.read_text(errors="replace")

    def starts(self) -> dict[str, list[int]]:
        """Job id -> the start numbers this worker logged for it."""
        found: dict[str, list[int]] = {}
        for job_id, start in re.findall(r"job (\w+): rendering \(start (\d+)\)", self.text()):
            found.setdefault(job_id, []).append(int(start))
        return found

    def kill(self) -> None:
        """SIGKILL the worker and its rendering child: like a machine going away."""
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.proc.pid, signal.SIGKILL)
        self.proc.wait(10)

    def stop(self) -> None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.proc.pid, signal.SIGTERM)
        try:
            self.proc.wait(15)
        except subprocess.TimeoutExpired:
            self.kill()
        with contextlib.suppress(ProcessLookupError):  # any orphaned child
            os.killpg(self.proc.pid, signal.SIGKILL)


@pytest.fixture(scope="module")
def fleet(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, object]]:
    """Redis, an API server using it, and two workers (w1, w2) on this machine."""
    folder = tmp_path_factory.mktemp("fleet")
    redis_server = RedisServer(folder)
    env = {**FLEET_ENV, "TALKINGHEAD_BROKER_URL": redis_server.url}
    started: list[WorkerProcess] = []
    server = ServerProcess(folder / "data", workers=1, env=env)
    try:
        server.start()
        started += [WorkerProcess("w1", folder, redis_server.url),
                    WorkerProcess("w2", folder, redis_server.url)]
        yield {"redis": redis_server, "server": server, "workers": started}
    finally:
        for worker in started:
            worker.stop()
        server.stop()
        redis_server.stop()


def job_keys(redis_server: RedisServer, job_id: str) -> list[bytes]:
    return list(redis_server.client.scan_iter(f"talkinghead:{QUEUE}:job:{job_id}:*"))


def test_a_job_completes_through_the_fleet(fleet: dict[str, object]) -> None:
    server, redis_server = fleet["server"], fleet["redis"]
    assert isinstance(server, ServerProcess) and isinstance(redis_server, RedisServer)
    api = Api(server.url)
    try:
        done = api.run({"image": b64(PORTRAIT), "audio": b64(short_wav(1.0)), "size": "512"})
        assert done["status"] == "completed", done["error"]
        assert done["progress"]["done"] == done["progress"]["total"] > 0
        video = httpx.get(done["outputs"][0], timeout=30)
        assert video.status_code == 200 and video.content[4:8] == b"ftyp"
        # The API moved the MP4 into its own data dir and cleared the job's Redis keys
        # but the done mark (which drops late duplicates of the task).
        assert (server.data_dir / "outputs" / f"{done['id']}.mp4").is_file()
        assert [k.decode().rsplit(":", 1)[1] for k in job_keys(redis_server, done["id"])] \
            == ["done"]
        b64_done = api.run({"image": b64(PORTRAIT), "audio": b64(short_wav(0.5)),
                            "enable_base64_output": True})
        assert b64_done["status"] == "completed" and len(b64_done["outputs"][0]) > 1000
    finally:
        api.close()


def test_two_workers_share_a_batch_and_webhooks_go_once(fleet: dict[str, object],
                                                        local_http: LocalHTTP) -> None:
    server, workers = fleet["server"], fleet["workers"]
    assert isinstance(server, ServerProcess) and isinstance(workers, list)
    api = Api(server.url)
    try:
        ids = []
        for seed in range(6):
            answer = api.submit({"image": b64(PORTRAIT), "audio": b64(short_wav(0.5, seed)),
                                 "size": "512"}, webhook=f"{local_http.url}/fleet-hook")
            assert answer.status_code == 200, answer.text
            ids.append(answer.json()["data"]["id"])
        for job_id in ids:
            done = api.wait(job_id, timeout_s=120, poll_s=0.25)
            assert done["status"] == "completed", done["error"]
    finally:
        api.close()
    by_worker = [set(w.starts()) & set(ids) for w in workers]
    assert all(by_worker), f"each worker should render some jobs: {by_worker}"
    deadline = time.monotonic() + 10
    while True:
        hooks = [json.loads(r.body)["id"] for r in local_http.received
                 if r.body and json.loads(r.body).get("id") in ids]
        if len(hooks) >= len(ids) or time.monotonic() > deadline:
            break
        time.sleep(0.1)
    assert sorted(hooks) == sorted(ids), "one webhook per job, sent by the API"


def test_a_killed_worker_s_job_is_done_by_another(fleet: dict[str, object]) -> None:
    server, workers = fleet["server"], fleet["workers"]
    assert isinstance(server, ServerProcess) and isinstance(workers, list)
    api = Api(server.url)
    try:
        job_id = api.submit({"image": b64(PORTRAIT), "audio": b64(short_wav(3.0)),
                             "size": "512"}).json()["data"]["id"]
        owner = wait_rendering(api, workers, job_id)
        owner.kill()
        survivor = next(w for w in workers if w is not owner)
        done = api.wait(job_id, timeout_s=60, poll_s=0.25)
        assert done["status"] == "completed", done["error"]
        assert survivor.starts().get(job_id) == [2], "the survivor ran it as its 2nd start"
    finally:
        api.close()


def wait_rendering(api: Api, workers: list[WorkerProcess], job_id: str) -> WorkerProcess:
    """Wait until a worker renders ``job_id`` and frames are coming; that worker."""
    deadline = time.monotonic() + 60
    while True:
        data = api.client.get(f"/api/v3/predictions/{job_id}/result").json()["data"]
        owner = [w for w in workers if job_id in w.starts()]
        if data["progress"]["done"] > 0 and owner:
            return owner[0]
        assert time.monotonic() < deadline and data["status"] != "completed", data
        time.sleep(0.05)


def test_a_crashed_rendering_child_is_retried_and_the_api_can_restart(
        fleet: dict[str, object]) -> None:
    """A rendering child dies (segfault-like) while the API server is killed: the task
    comes back (Celery puts it back; the restarted API re-queues unfinished jobs too,
    and the copy that comes second is dropped) and events wait in Redis for the API."""
    server, workers = fleet["server"], fleet["workers"]
    assert isinstance(server, ServerProcess) and isinstance(workers, list)
    alive = [w for w in workers if w.proc.poll() is None]
    api = Api(server.url)
    try:
        job_id = api.submit({"image": b64(PORTRAIT), "audio": b64(short_wav(3.0)),
                             "size": "512"}).json()["data"]["id"]
        owner = wait_rendering(api, alive, job_id)
        child = re.search(rf"job {job_id}: rendering \(start 1\) on [^:]+:(\d+):", owner.text())
        assert child is not None
        server.kill()
        os.kill(int(child.group(1)), signal.SIGKILL)
    finally:
        api.close()
    server.start()
    api = Api(server.url)
    try:
        done = api.wait(job_id, timeout_s=60, poll_s=0.25)
        assert done["status"] == "completed", done["error"]
        assert sum((w.starts().get(job_id, []) for w in alive), []) == [1, 2]
    finally:
        api.close()


def test_fleet_settings_and_events() -> None:
    from talkinghead.service.events import Done, Progress
    from talkinghead.service.fleet_bus import decode_event, encode_event
    from talkinghead.service.settings import Settings

    env = {"TALKINGHEAD_BROKER_URL": "redis://h:6379/1", "TALKINGHEAD_FLEET_LEASE_S": "5"}
    settings = Settings.from_env(env)
    assert settings.broker_url == "redis://h:6379/1" and settings.fleet_lease_s == 5.0
    assert Settings.from_env({}).broker_url is None
    for bad in ({"TALKINGHEAD_BROKER_URL": "amqp://h"},
                {"TALKINGHEAD_FLEET_LEASE_S": "200"}, {"TALKINGHEAD_FLEET_QUEUE": "a b"}):
        with pytest.raises(ValueError):
            Settings.from_env(bad)
    for event in (Progress(0, "j", 3, 9), Done(0, "j", 12, True, "bad", "render_failed")):
        assert decode_event(encode_event(event)) == event
    with pytest.raises(ValueError):
        decode_event(b'{"type": "Nope"}')


def test_claims_and_bounded_attempts_on_real_redis(fleet: dict[str, object]) -> None:
    """The task itself: a claimed job waits (retry), a job out of attempts fails clearly."""
    from talkinghead.service.fleet import _render
    from talkinghead.service.fleet_bus import FleetBus

    redis_server = fleet["redis"]
    assert isinstance(redis_server, RedisServer)
    bus = FleetBus(redis_server.url, queue="fleet-unit")

    class Retry(Exception):
        pass

    class FakeTask:
        def retry(self, *, countdown: float, max_retries: None) -> Retry:
            return Retry(countdown)

    message = {"job_id": "j1", "ttl_s": 60, "lease_s": 5, "max_attempts": 2,
               "options": {}, "job_timeout_s": 10, "nsfw_policy": "off", "nsfw_threshold": 0.5}
    try:
        assert bus.acquire_lease("j1", "someone-else", lease_s=5)
        with pytest.raises(Retry):
            _render(FakeTask(), message, bus)  # type: ignore[arg-type]
        bus.release_lease("j1", "someone-else")
        for _ in range(2):
            bus.count_start("j1", ttl_s=60)  # two starts whose workers died
        assert _render(FakeTask(), message, bus) == "given up"  # type: ignore[arg-type]
        got = bus.next_event(1.0)
        assert got is not None and got[1] is not None
        assert got[1].error_code == "worker_crashed" and "2 times" in (got[1].error or "")
        assert _render(FakeTask(), message, bus) == "duplicate"  # type: ignore[arg-type]
    finally:
        bus.close()


def test_submissions_get_503_when_redis_is_gone(fleet: dict[str, object]) -> None:
    """Last in this module: it stops the module's Redis."""
    server, redis_server = fleet["server"], fleet["redis"]
    assert isinstance(server, ServerProcess) and isinstance(redis_server, RedisServer)
    redis_server.proc.terminate()
    redis_server.proc.wait(10)
    api = Api(server.url)
    try:
        answer = api.submit({"image": b64(PORTRAIT), "audio": b64(short_wav(0.5))})
        assert answer.status_code == 503, answer.text
        body = answer.json()
        assert body["error_code"] == "unavailable" and "Redis" in body["message"]
    finally:
        api.close()
