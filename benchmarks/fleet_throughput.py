"""Throughput of the Celery fleet: jobs/s with 1 and with 2 ``talkinghead worker`` processes.

    .venv/bin/python benchmarks/fleet_throughput.py [--jobs 8] [--audio-s 1.0] [--max-workers 2]

Starts a throw-away redis-server (needs the Debian package ``redis-server``), a
real ``talkinghead serve`` using it, then for 1..``--max-workers`` workers
(``--concurrency 1`` each, all on this machine) submits ``--jobs`` jobs at once
over HTTP and times them until all completed. One warm-up job per round loads
the models first. Workers on one machine share its cores: the figure shows the
fleet's overhead and scaling, not what separate machines would add.
"""

from __future__ import annotations

import argparse
import base64
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _voice import voice_wav  # noqa: E402
from service_latency import KEY, ROOT, start_server  # noqa: E402


def free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def start_worker(env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    with open(log, "ab") as out:
        proc = subprocess.Popen([sys.executable, "-m", "talkinghead.cli", "worker",
                                 "--concurrency", "1"], env=env, stdout=out,
                                stderr=subprocess.STDOUT, start_new_session=True)
    for _ in range(600):
        if " ready." in log.read_text(errors="replace"):
            return proc
        time.sleep(0.1)
    raise SystemExit(f"worker did not start: see {log}")


def run_batch(url: str, body: dict[str, str], jobs: int) -> tuple[int, float]:
    """Submit ``jobs`` at once; (completed, wall seconds until the last finished)."""
    with httpx.Client(base_url=url, headers={"Authorization": f"Bearer {KEY}"},
                      timeout=120) as client:
        t0 = time.perf_counter()
        ids = [client.post("/api/v3/bytedance/avatar-omni-human", json=body).json()["data"]["id"]
               for _ in range(jobs)]
        pending, completed = set(ids), 0
        deadline = time.monotonic() + 600
        while pending and time.monotonic() < deadline:
            for job_id in list(pending):
                status = client.get(f"/api/v3/predictions/{job_id}/result").json()["data"]
                if status["status"] in ("completed", "failed"):
                    pending.discard(job_id)
                    completed += status["status"] == "completed"
            time.sleep(0.1)
        return completed, time.perf_counter() - t0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=8, help="jobs per round")
    parser.add_argument("--audio-s", type=float, default=1.0, help="audio length per job")
    parser.add_argument("--max-workers", type=int, default=2)
    args = parser.parse_args()
    redis_bin = shutil.which("redis-server")
    if redis_bin is None:
        raise SystemExit("needs redis-server (apt-get install redis-server)")
    body = {"image": base64.b64encode((ROOT / "examples" / "astronaut.png").read_bytes()).decode(),
            "audio": base64.b64encode(voice_wav(args.audio_s)).decode(), "size": "512"}
    with tempfile.TemporaryDirectory(prefix="th-fleet-bench-") as tmp:
        port = free_port()
        redis_proc = subprocess.Popen([redis_bin, "--port", str(port), "--bind", "127.0.0.1",
                                       "--save", "", "--appendonly", "no", "--dir", tmp],
                                      stdout=subprocess.DEVNULL)
        env = {**os.environ, "TALKINGHEAD_BROKER_URL": f"redis://127.0.0.1:{port}/0",
               "TALKINGHEAD_API_KEYS": KEY}
        os.environ.update(env)  # start_server passes os.environ on
        server, url = start_server(Path(tmp) / "data", 1)
        workers: list[subprocess.Popen[bytes]] = []
        results = []
        try:
            for n in range(1, args.max_workers + 1):
                workers.append(start_worker(env, Path(tmp) / f"worker{n}.log"))
                run_batch(url, body, n)  # warm-up: every worker loads its models
                completed, wall = run_batch(url, body, args.jobs)
                results.append((n, completed, wall))
        finally:
            for proc in [*workers, server]:
                os.killpg(proc.pid, signal.SIGTERM)
            for proc in [*workers, server]:
                proc.wait(30)
            redis_proc.terminate()
            redis_proc.wait(10)
    print(f"fleet: redis-server + talkinghead serve + N workers (--concurrency 1) on this "
          f"machine, {os.cpu_count()} CPUs; {args.jobs} jobs of {args.audio_s:g} s audio, 512 px")
    for n, completed, wall in results:
        print(f"{n} worker{'s' if n > 1 else ' '}: {completed}/{args.jobs} completed in "
              f"{wall:5.1f} s = {completed / wall:.2f} jobs/s")


if __name__ == "__main__":
    main()
