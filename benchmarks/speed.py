"""Real-time factor and peak memory of `animate`, for 10 s and 60 s of audio.

    .venv/bin/python benchmarks/speed.py [--image PORTRAIT] [--sizes 512 1080 original]
    .venv/bin/python benchmarks/speed.py --compare OTHER_CHECKOUT/src [--rounds 3] ...

Each case runs in a fresh process so its peak memory (max RSS) is its own;
the same process then measures the floor (benchmarks/floor.py: one remap and
the encoder per frame) on the same audio at the same size, and the floor
ratio column is render time / floor time (the model loads count here, unlike
in floor.py, which warms up first).
With --compare, each case is also rendered by another checkout's talkinghead
(say `git worktree add ../base COMMIT`, then `--compare ../base/src`),
alternating with this one for --rounds rounds, and the ratio of the best
real-time factors is printed: on a shared machine absolute times drift, a
side-by-side ratio does not.
The audio is a synthetic voice (syllable-rate loudness) so the mouth works
all the time. Prints one line per case and a markdown table.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from _voice import voice_wav  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]


def _one_case(image: str, audio: str, size: str) -> None:
    """Child process: render once, then the floor (benchmarks/floor.py) on the same
    audio at the same size; print JSON figures (peak memory is the render's)."""
    from floor import floor_seconds

    from talkinghead.config import Options
    from talkinghead.inputs import load_audio
    from talkinghead.pipeline import render_video

    with tempfile.TemporaryDirectory() as tmp:
        started = time.perf_counter()
        summary = render_video(image, audio, Path(tmp) / "out.mp4", Options(size=size))
        elapsed = time.perf_counter() - started
        peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        floor_s = floor_seconds(summary.width, summary.height, load_audio(audio),
                                summary.fps, Path(tmp) / "floor.mp4")
    print(json.dumps({"elapsed_s": elapsed, "audio_s": summary.audio_duration_s,
                      "width": summary.width, "height": summary.height, "peak_mb": peak_mb,
                      "floor_s": floor_s}))


def _run_case(image: str, audio: str, size: str, src: str | None = None) -> dict:
    """One render in a fresh process (with ``src`` first on its path, if given)."""
    env = dict(os.environ, PYTHONPATH=src) if src else None
    out = subprocess.run([sys.executable, __file__, "--child", image, audio, size],
                         capture_output=True, text=True, check=True, env=env)
    return json.loads(out.stdout.strip().splitlines()[-1])


def _compare(args: argparse.Namespace, audio: str, size: str, duration: float) -> None:
    """Alternate this checkout and ``args.compare``; print both best factors and the ratio."""
    best = {"this": float("inf"), "other": float("inf")}
    for _ in range(args.rounds):
        for name, src in (("other", args.compare), ("this", None)):
            fig = _run_case(args.image, audio, size, src)
            best[name] = min(best[name], fig["elapsed_s"] / fig["audio_s"])
    print(f"{duration:>5g} s audio, size {size:>8}: real-time factor {best['this']:.3f} "
          f"here, {best['other']:.3f} in {args.compare} (best of {args.rounds}): "
          f"ratio {best['this'] / best['other']:.2f}", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--image", default=str(ROOT / "examples" / "astronaut.png"))
    parser.add_argument("--sizes", nargs="+", default=["512", "1080", "original"])
    parser.add_argument("--durations", nargs="+", type=float, default=[10.0, 60.0])
    parser.add_argument("--compare", metavar="OTHER_SRC",
                        help="another checkout's src/ folder to render each case with too")
    parser.add_argument("--rounds", type=int, default=3, help="rounds with --compare")
    parser.add_argument("--child", nargs=3, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        _one_case(*args.child)
        return
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for duration in args.durations:
            audio = Path(tmp) / f"voice_{duration:g}s.wav"
            audio.write_bytes(voice_wav(duration, pauses=True))
            for size in args.sizes:
                if args.compare:
                    _compare(args, str(audio), size, duration)
                    continue
                fig = _run_case(args.image, str(audio), size)
                rtf = fig["elapsed_s"] / fig["audio_s"]
                rows.append((duration, size, fig, rtf))
                print(f"{duration:>5g} s audio, size {size:>8} ({fig['width']}x{fig['height']}): "
                      f"{fig['elapsed_s']:.1f} s, real-time factor {rtf:.2f}, "
                      f"{fig['elapsed_s'] / fig['floor_s']:.2f}x the floor, "
                      f"peak memory {fig['peak_mb']:.0f} MB", flush=True)
    if args.compare:
        return
    print("\n| audio | size | frame | render time | real-time factor | floor ratio | peak memory |")
    print("|---|---|---|---|---|---|---|")
    for duration, size, fig, rtf in rows:
        print(f"| {duration:g} s | {size} | {fig['width']}x{fig['height']} | "
              f"{fig['elapsed_s']:.1f} s | {rtf:.2f} | {fig['elapsed_s'] / fig['floor_s']:.2f}x | "
              f"{fig['peak_mb']:.0f} MB |")


if __name__ == "__main__":
    main()
