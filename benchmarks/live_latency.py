"""Live mode from outside: latency, frame rate, drift and memory of ``/api/v1/live``.

    .venv/bin/python benchmarks/live_latency.py [--seconds 60] [--sessions 1] [--size 512]

Starts a real server on 127.0.0.1 with a fresh data dir. Each session is a
separate client process that follows only the contract of docs/LIVE.md: it
sends the start message, then the bundled example speech (looped to
``--seconds``) as PCM in 20 ms chunks on the wall clock, then 2 s of nothing,
then stop. It prints, per session:

- latency from audio in to frame out, p50 and p95: for frame k, from sending
  the chunk that holds the end of the frame's sound to receiving the frame;
- frames per second sustained while streaming, and after the audio stops (idle);
- drift: the frame count against audio duration x fps, gaps the server had to
  fill with silence (``audio_at`` events after the first), and the latency in
  the first and the last 10 s of the stream;
- server memory (RSS) 10 s into the stream, its peak and at the end, and the
  server's CPU use (cores) while streaming.
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).parent))
import service_latency  # noqa: E402  (its server start, shared)
from service_latency import KEY  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
RATE_HZ = 16_000
CHUNK_S = 0.02
IDLE_AFTER_S = 2.0


def start_server(data_dir: Path, sessions: int) -> tuple[subprocess.Popen[bytes], int]:
    proc, url = service_latency.start_server(data_dir, 1, env={
        "TALKINGHEAD_LIVE_SESSIONS": str(sessions), "TALKINGHEAD_LIVE_IDLE_S": "30"})
    return proc, int(url.rsplit(":", 1)[1])


def rss_mb(pid: int) -> float:
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def cpu_s(pid: int) -> float:
    """CPU seconds (user + system) the process has used."""
    with open(f"/proc/{pid}/stat") as stat:
        fields = stat.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def speech_pcm(seconds: float) -> bytes:
    sys.path.insert(0, str(ROOT / "src"))
    from talkinghead.inputs import load_audio

    mono = load_audio(ROOT / "examples" / "speech.wav").mono(RATE_HZ)
    reps = int(np.ceil(seconds * RATE_HZ / len(mono)))
    looped = np.tile(mono, reps)[: int(seconds * RATE_HZ)]
    return (np.clip(looped, -1, 1) * 32767).astype("<i2").tobytes()


def client(port: int, seconds: float, size: str, out: Path) -> None:
    """One session, as an independent client would run it; results to ``out`` as JSON."""
    from websockets.sync.client import connect

    pcm = speech_pcm(seconds)
    chunk = int(CHUNK_S * RATE_HZ) * 2
    image = base64.b64encode((ROOT / "examples" / "astronaut.png").read_bytes()).decode()
    sent: list[tuple[float, float]] = []  # (audio time at the chunk's end, wall time sent)
    received: list[float] = []
    events: list[dict] = []
    with connect(f"ws://127.0.0.1:{port}/api/v1/live?api_key={KEY}", max_size=None) as ws:
        ws.send(json.dumps({"type": "start", "image": image, "sample_rate": RATE_HZ,
                            "size": size}))
        ready = json.loads(ws.recv(timeout=60))
        if ready["type"] != "ready":
            raise SystemExit(f"refused: {ready}")
        fps = ready["fps"]
        started = time.monotonic()

        def send() -> None:
            for i in range(0, len(pcm), chunk):
                time.sleep(max(0.0, started + i / (2 * RATE_HZ) - time.monotonic()))
                ws.send(pcm[i:i + chunk])
                sent.append(((i + chunk) / (2 * RATE_HZ), time.monotonic()))
            time.sleep(IDLE_AFTER_S)
            ws.send(json.dumps({"type": "stop"}))

        sender = threading.Thread(target=send)
        sender.start()
        try:
            while True:
                message = ws.recv(timeout=30)
                if isinstance(message, bytes):
                    received.append(time.monotonic())
                else:
                    events.append(json.loads(message))
        except Exception:  # the server closed after "end"
            pass
        sender.join()
    audio_s = len(pcm) / (2 * RATE_HZ)
    # Where our audio sits on the frame timeline: it starts at 0 unless the server
    # filled gaps with silence, which it announces with audio_at (time_s, byte).
    placed = [(e["time_s"], e["byte"] / 2 / RATE_HZ) for e in events if e["type"] == "audio_at"]
    if not placed or placed[0][1] > 0:
        placed.insert(0, (0.0, 0.0))
    sent_audio = np.array([s[0] for s in sent])
    sent_wall = np.array([s[1] for s in sent])
    latency, at = [], []
    for k, wall in enumerate(received):
        end_s = (k + 1) / fps  # the frame's sound ends here on the timeline ...
        piece = max(i for i, (t, _) in enumerate(placed) if t <= end_s or i == 0)
        t, a = placed[piece]
        sound_end = a + end_s - t  # ... and here in our audio
        piece_end = placed[piece + 1][1] if piece + 1 < len(placed) else audio_s
        if 0 < sound_end <= piece_end:  # not in a gap of silence
            j = min(int(np.searchsorted(sent_audio, sound_end - 1e-9)), len(sent) - 1)
            latency.append(wall - sent_wall[j])
            at.append(sound_end)
    stream_frames = [t for t in received if t <= sent_wall[-1]]
    idle_frames = [t for t in received if t > sent_wall[-1] + 0.3]
    latency_a, at_a = np.array(latency), np.array(at)
    out.write_text(json.dumps({
        "fps": fps, "audio_s": audio_s, "frames": len(received),
        "frames_for_audio": len(latency),
        "latency_p50_ms": float(np.percentile(latency_a, 50) * 1000),
        "latency_p95_ms": float(np.percentile(latency_a, 95) * 1000),
        "latency_first10_ms": float(np.median(latency_a[at_a < 10]) * 1000),
        "latency_last10_ms": float(np.median(latency_a[at_a > audio_s - 10]) * 1000),
        "fps_streaming": (len(stream_frames) - 1) / (stream_frames[-1] - stream_frames[0]),
        "fps_idle": (len(idle_frames) - 1) / max(idle_frames[-1] - idle_frames[0], 1e-9)
        if len(idle_frames) > 1 else 0.0,
        "gaps_filled": max(len(placed) - 1, 0), "lagging_events": sum(
            e["type"] == "lagging" for e in events),
    }))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seconds", type=float, default=60.0, help="speech per session")
    parser.add_argument("--sessions", type=int, default=1, help="sessions at once")
    parser.add_argument("--size", default="512")
    parser.add_argument("--client", nargs=2, metavar=("PORT", "OUT"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.client:
        client(int(args.client[0]), args.seconds, args.size, Path(args.client[1]))
        return
    with tempfile.TemporaryDirectory() as tmp:
        proc, port = start_server(Path(tmp) / "data", args.sessions)
        try:
            outs = [Path(tmp) / f"session{i}.json" for i in range(args.sessions)]
            clients = [subprocess.Popen([sys.executable, __file__, "--seconds", str(args.seconds),
                                         "--size", args.size, "--client", str(port), str(out)])
                       for out in outs]
            time.sleep(min(10.0, args.seconds / 2))  # portraits analysed, streams under way
            memory = [rss_mb(proc.pid)]
            cpu_start, wall_start = cpu_s(proc.pid), time.monotonic()
            while any(c.poll() is None for c in clients):
                memory.append(rss_mb(proc.pid))
                cpu_share = (cpu_s(proc.pid) - cpu_start) / (time.monotonic() - wall_start)
                time.sleep(1.0)
            results = [json.loads(out.read_text()) for out in outs if out.exists()]
        finally:
            os.killpg(proc.pid, signal.SIGTERM)
            proc.wait(15)
    print(f"live mode, {args.sessions} session(s) at once, {args.size} px, "
          f"{args.seconds:g} s of speech each, {os.cpu_count()} cores")
    for i, r in enumerate(results):
        print(f"session {i + 1}: latency p50 {r['latency_p50_ms']:.0f} ms, "
              f"p95 {r['latency_p95_ms']:.0f} ms (first 10 s {r['latency_first10_ms']:.0f}, "
              f"last 10 s {r['latency_last10_ms']:.0f})")
        print(f"  frames/s streaming {r['fps_streaming']:.2f}, idle {r['fps_idle']:.2f}; "
              f"frames for the audio {r['frames_for_audio']} vs audio x fps "
              f"{r['audio_s'] * r['fps']:.0f}; gaps filled with silence {r['gaps_filled']}, "
              f"lagging warnings {r['lagging_events']}")
    print(f"server memory: {memory[0]:.0f} MB 10 s into the stream, peak {max(memory):.0f} MB, "
          f"end {memory[-1]:.0f} MB")
    print(f"server CPU while streaming: {cpu_share:.2f} cores for {args.sessions} session(s)")
    if len(results) < args.sessions:
        print(f"{args.sessions - len(results)} session(s) failed")


if __name__ == "__main__":
    main()
