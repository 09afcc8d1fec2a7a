"""Latency and throughput of the embedded HTTP service (``talkinghead serve``).

    .venv/bin/python benchmarks/service_latency.py [--workers 2] [--jobs 40] [--audio-s 1.0]

Starts a real server on 127.0.0.1 with a fresh data dir, then measures with
a real HTTP client (httpx):

- submit latency: POST with base64 inputs until the "created" answer;
- poll latency: GET /api/v3/predictions/{id}/result;
- end to end: submit -> first poll that sees "completed", one job at a time
  on an idle server (polling every 20 ms);
- throughput: ``--jobs`` submitted at once, wall time until all completed.
"""

from __future__ import annotations

import argparse
import base64
import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import numpy as np

ROOT = Path(__file__).resolve().parents[1]
KEY = "bench-key"

sys.path.insert(0, str(Path(__file__).parent))
from _voice import voice_wav  # noqa: E402


def start_server(data_dir: Path, workers: int, *, env: dict[str, str] | None = None
                 ) -> tuple[subprocess.Popen[bytes], str]:
    """``talkinghead serve`` on a free 127.0.0.1 port, with ``env`` added to its environment;
    returns once /healthz answers."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    env = {**os.environ, "TALKINGHEAD_API_KEYS": KEY, **(env or {})}
    proc = subprocess.Popen(
        [sys.executable, "-m", "talkinghead.cli", "serve", "--host", "127.0.0.1", "--port",
         str(port), "--workers", str(workers), "--data-dir", str(data_dir)],
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    url = f"http://127.0.0.1:{port}"
    for _ in range(600):
        try:
            if httpx.get(f"{url}/healthz", timeout=1).status_code == 200:
                return proc, url
        except httpx.TransportError:
            time.sleep(0.1)
    raise SystemExit("server did not start")


def pct(values: list[float], q: float) -> float:
    return float(np.percentile(values, q)) * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--jobs", type=int, default=40, help="concurrent jobs for throughput")
    parser.add_argument("--audio-s", type=float, default=1.0, help="audio length per job")
    parser.add_argument("--image", type=Path, default=ROOT / "examples" / "astronaut.png")
    args = parser.parse_args()
    body = {"image": base64.b64encode(args.image.read_bytes()).decode(),
            "audio": base64.b64encode(voice_wav(args.audio_s)).decode(), "size": "512"}

    with tempfile.TemporaryDirectory(prefix="th-bench-") as tmp:
        proc, url = start_server(Path(tmp) / "data", args.workers)
        client = httpx.Client(base_url=url, headers={"Authorization": f"Bearer {KEY}"},
                              timeout=120)
        try:
            def run_one(poll_s: float = 0.02) -> tuple[float, float, str]:
                t0 = time.perf_counter()
                job_id = client.post("/api/v3/bytedance/avatar-omni-human",
                                     json=body).json()["data"]["id"]
                submitted = time.perf_counter() - t0
                while True:
                    data = client.get(f"/api/v3/predictions/{job_id}/result").json()["data"]
                    if data["status"] in ("completed", "failed"):
                        return submitted, time.perf_counter() - t0, data["status"]
                    time.sleep(poll_s)

            run_one()  # warm the workers (first task loads the face models)
            runs = [run_one() for _ in range(10)]
            submit = [r[0] for r in runs]
            e2e = [r[1] for r in runs]
            job_id = client.post("/api/v3/bytedance/avatar-omni-human",
                                 json=body).json()["data"]["id"]
            polls = []
            for _ in range(200):
                t0 = time.perf_counter()
                client.get(f"/api/v3/predictions/{job_id}/result")
                polls.append(time.perf_counter() - t0)

            def concurrent_one(_: int) -> str:
                with httpx.Client(base_url=url, headers={"Authorization": f"Bearer {KEY}"},
                                  timeout=300) as own:
                    jid = own.post("/api/v3/bytedance/avatar-omni-human",
                                   json=body).json()["data"]["id"]
                    while True:
                        data = own.get(f"/api/v3/predictions/{jid}/result").json()["data"]
                        if data["status"] in ("completed", "failed"):
                            return str(data["status"])
                        time.sleep(0.25)

            t0 = time.perf_counter()
            with ThreadPoolExecutor(max_workers=args.jobs) as pool:
                statuses = list(pool.map(concurrent_one, range(args.jobs)))
            wall = time.perf_counter() - t0
        finally:
            client.close()
            os.killpg(proc.pid, signal.SIGTERM)
            proc.wait(30)

    print(f"server: {args.workers} worker processes, {os.cpu_count()} CPUs; "
          f"{args.audio_s:g} s audio per job, 512 px, base64 inputs")
    print(f"submit latency     p50 {pct(submit, 50):7.1f} ms   p95 {pct(submit, 95):7.1f} ms")
    print(f"poll latency       p50 {pct(polls, 50):7.1f} ms   p95 {pct(polls, 95):7.1f} ms")
    print(f"submit->completed  p50 {pct(e2e, 50):7.1f} ms   max {max(e2e) * 1000:7.1f} ms"
          f"   (idle server, one job at a time; median {statistics.median(e2e):.2f} s)")
    ok = statuses.count("completed")
    print(f"throughput         {args.jobs} jobs at once: {ok} completed in {wall:.1f} s = "
          f"{ok / wall:.2f} jobs/s, {ok * args.audio_s / wall:.2f} s of audio per s")


if __name__ == "__main__":
    main()
