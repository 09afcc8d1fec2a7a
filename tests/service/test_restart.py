"""Restart recovery with a real SQLite file, and a server with no allow-list."""

from __future__ import annotations

import os
import signal
import time
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import pytest

from tests.conftest import EXAMPLE_SPEECH
from tests.service.conftest import PORTRAIT, Api, LocalHTTP, ServerProcess, b64, short_wav

SPEECH = b64(EXAMPLE_SPEECH.read_bytes())  # 12.7 s: long enough to be caught mid-render


def submit_and_kill_mid_render(server: ServerProcess) -> tuple[str, str]:
    """Submit a long job and a short one; SIGKILL the server while the long one renders."""
    api = Api(server.url)
    try:
        long_id = api.submit({"image": b64(PORTRAIT), "audio": SPEECH}).json()["data"]["id"]
        short_id = api.submit({"image": b64(PORTRAIT),
                               "audio": b64(short_wav(0.5))}).json()["data"]["id"]
        wait_until_rendering(api, long_id)
    finally:
        api.close()
    server.kill()
    return long_id, short_id


def wait_until_rendering(api: Api, job_id: str, timeout_s: float = 60.0) -> None:
    """Poll until ``job_id`` has rendered its first frames."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        data = api.client.get(f"/api/v3/predictions/{job_id}/result").json()["data"]
        if data["status"] == "processing" and data["progress"]["done"] > 0:
            return
        assert data["status"] in ("created", "processing"), data
        time.sleep(0.05)
    raise AssertionError(f"{job_id} never started rendering")


def restarted(data_dir: Path, **env: str) -> ServerProcess:
    return ServerProcess(data_dir, workers=1, env=env).start()


def test_killed_mid_job_the_job_completes_after_restart(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    first = ServerProcess(data_dir, workers=1).start()
    try:
        long_id, short_id = submit_and_kill_mid_render(first)
    finally:
        first.stop()
    assert (data_dir / "jobs.sqlite3").is_file()
    second = restarted(data_dir)
    api = Api(second.url)
    try:
        for job_id in (long_id, short_id):
            done = api.wait(job_id)
            assert done["status"] == "completed", done["error"]
            assert done["progress"]["done"] == done["progress"]["total"] > 0
    finally:
        api.close()
        second.stop()


def test_attempts_are_bounded(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    first = ServerProcess(data_dir, workers=1, env={"TALKINGHEAD_MAX_ATTEMPTS": "1"}).start()
    try:
        long_id, short_id = submit_and_kill_mid_render(first)
    finally:
        first.stop()
    second = restarted(data_dir, TALKINGHEAD_MAX_ATTEMPTS="1")
    api = Api(second.url)
    try:
        failed = api.wait(long_id)
        assert failed["status"] == "failed" and "interrupted" in failed["error"]
        assert api.wait(short_id)["status"] == "completed"
    finally:
        api.close()
        second.stop()


@pytest.fixture
def plain_server(tmp_path: Path) -> Iterator[ServerProcess]:
    server = ServerProcess(tmp_path / "plain", workers=1,
                           env={"TALKINGHEAD_RETENTION_S": "3"}).start()
    yield server
    server.stop()


def test_jobs_and_files_expire_after_retention(plain_server: ServerProcess) -> None:
    api = Api(plain_server.url)
    try:
        done = api.run({"image": b64(PORTRAIT), "audio": b64(short_wav(0.5))})
        assert done["status"] == "completed", done["error"]
        output = plain_server.data_dir / "outputs" / f"{done['id']}.mp4"
        assert output.is_file()
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline and output.exists():
            time.sleep(0.2)
        assert not output.exists()
        gone = api.client.get(f"/api/v3/predictions/{done['id']}/result")
        assert gone.status_code == 404 and gone.json()["error_code"] == "not_found"
        assert not list((plain_server.data_dir / "inputs").iterdir())
    finally:
        api.close()


def test_loopback_is_refused_without_an_allow_list(plain_server: ServerProcess,
                                                   local_http: LocalHTTP) -> None:
    api = Api(plain_server.url)
    try:
        audio = b64(short_wav(0.5))
        for image in (f"{local_http.url}/portrait.png", f"http://localhost:{local_http.port}/x"):
            refused = api.submit({"image": image, "audio": audio})
            assert refused.status_code == 400, refused.text
            assert refused.json()["error_code"] == "blocked_address"
            assert "loopback" in refused.json()["message"]
        hook = api.submit({"image": b64(PORTRAIT), "audio": audio}, webhook=f"{local_http.url}/h")
        assert hook.status_code == 400 and hook.json()["error_code"] == "blocked_address"
    finally:
        api.close()


def worker_pids(server_pid: int) -> list[int]:
    """The server's rendering worker processes (not multiprocessing's resource tracker)."""
    pids = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            cmdline = (entry / "cmdline").read_bytes()
        except OSError:
            continue
        parent = int(stat.rsplit(")", 1)[1].split()[1])
        if parent == server_pid and b"spawn_main" in cmdline:
            pids.append(int(entry.name))
    return pids


def test_a_crashed_worker_is_replaced_and_the_job_retried(tmp_path: Path) -> None:
    server = ServerProcess(tmp_path / "data", workers=1).start()
    api = Api(server.url)
    try:
        job_id = api.submit({"image": b64(PORTRAIT), "audio": SPEECH}).json()["data"]["id"]
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            data = api.client.get(f"/api/v3/predictions/{job_id}/result").json()["data"]
            if data["status"] == "processing" and data["progress"]["done"] > 0:
                break
            time.sleep(0.05)
        (worker,) = worker_pids(server.proc.pid)
        os.kill(worker, signal.SIGKILL)
        done = api.wait(job_id)
        assert done["status"] == "completed", done["error"]
        assert worker not in worker_pids(server.proc.pid)
    finally:
        api.close()
        server.stop()


def alive(pid: int) -> bool:
    """True while ``pid`` runs (a zombie, dead but not yet reaped, counts as gone)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state not in ("Z", "X")


def test_a_second_server_on_the_same_data_dir_refuses_to_start(tmp_path: Path) -> None:
    import subprocess
    import sys

    data_dir = tmp_path / "data"
    first = ServerProcess(data_dir, workers=1).start()
    try:
        second = subprocess.run(
            [sys.executable, "-m", "talkinghead.cli", "serve", "--port", "1",
             "--data-dir", str(data_dir)], env=first.env, capture_output=True, text=True,
            timeout=60)
        assert second.returncode == 1
        lines = second.stderr.strip().splitlines()
        assert len(lines) == 1, second.stderr
        assert f"pid {first.proc.pid}" in lines[0] and str(data_dir) in lines[0]
        assert httpx.get(f"{first.url}/healthz").status_code == 200  # the first one is fine
    finally:
        first.stop()


def test_server_killed_alone_mid_render_the_job_completes_and_decodes(tmp_path: Path) -> None:
    """An OOM-style kill of the server process only: its worker dies with it, no stale file."""
    import av

    data_dir = tmp_path / "data"
    first = ServerProcess(data_dir, workers=1).start()
    api = Api(first.url)
    try:
        job_id = api.submit({"image": b64(PORTRAIT),
                             "audio": b64(short_wav(10.0))}).json()["data"]["id"]
        wait_until_rendering(api, job_id)
        deadline = time.monotonic() + 60
        (worker,) = worker_pids(first.proc.pid)
        while not list((data_dir / "outputs").glob("*.part")) and time.monotonic() < deadline:
            time.sleep(0.02)  # the encoder opens its file at its first packet
        assert list((data_dir / "outputs").glob("*.part"))  # rendering into its own file
        os.kill(first.proc.pid, signal.SIGKILL)  # the server alone, not its process group
        first.proc.wait(10)
        deadline = time.monotonic() + 5
        while alive(worker) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert not alive(worker), "the worker outlived its server"
    finally:
        api.close()
        first.stop()
    second = restarted(data_dir)
    api = Api(second.url)
    try:
        done = api.wait(job_id)
        assert done["status"] == "completed", done["error"]
        signed = urlsplit(done["outputs"][0])  # made for the first server's port
        video = httpx.get(f"{second.url}{signed.path}?{signed.query}")
        assert video.status_code == 200
        path = tmp_path / "served.mp4"
        path.write_bytes(video.content)
        with av.open(str(path)) as container:
            frames = sum(1 for _ in container.decode(video=0))
        assert frames == done["progress"]["total"] > 0
        assert not list((data_dir / "outputs").glob("*.part"))
    finally:
        api.close()
        second.stop()


def test_workers_terminated_mid_render_do_not_jam_the_others(tmp_path: Path) -> None:
    """SIGTERM (what terminate() sends) to workers busy reporting progress: only their own
    pipes die; the replacements and the supervisor go on."""
    server = ServerProcess(tmp_path / "data", workers=2,
                           env={"TALKINGHEAD_MAX_ATTEMPTS": "1"}).start()
    api = Api(server.url)
    try:
        long = {"image": b64(PORTRAIT), "audio": b64(short_wav(5.0))}
        long_ids = [api.submit(long).json()["data"]["id"] for _ in range(2)]
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            polls = [api.client.get(f"/api/v3/predictions/{job_id}/result").json()["data"]
                     for job_id in long_ids]
            if all(p["status"] == "processing" and p["progress"]["done"] > 0 for p in polls):
                break
            time.sleep(0.05)
        else:
            raise AssertionError("the two long jobs never rendered side by side")
        workers = worker_pids(server.proc.pid)
        assert len(workers) == 2
        for pid in workers:
            os.kill(pid, signal.SIGTERM)
        for job_id in long_ids:
            failed = api.wait(job_id, timeout_s=60)
            assert failed["status"] == "failed" and "crashed" in failed["error"], failed
        short = {"image": b64(PORTRAIT), "audio": b64(short_wav(0.3))}
        short_ids = [api.submit(short).json()["data"]["id"] for _ in range(2)]
        for job_id in short_ids:
            assert api.wait(job_id, timeout_s=60)["status"] == "completed"
        assert not set(workers) & set(worker_pids(server.proc.pid))
        assert not list((server.data_dir / "outputs").glob("*.part"))
    finally:
        api.close()
        server.stop()
