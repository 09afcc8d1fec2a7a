"""Real-time factor and peak memory of `animate`, for 10 s and 60 s of audio.

    .venv/bin/python benchmarks/speed.py [--image PORTRAIT] [--sizes 512 1080 original]

Each case runs in a fresh process so its peak memory (max RSS) is its own.
The audio is a synthetic voice (syllable-rate loudness) so the mouth works
all the time. Prints one line per case and a markdown table.
"""

from __future__ import annotations

import argparse
import json
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
    """Child process: render once, print JSON figures."""
    from talkinghead.config import Options
    from talkinghead.pipeline import render_video

    with tempfile.TemporaryDirectory() as tmp:
        started = time.perf_counter()
        summary = render_video(image, audio, Path(tmp) / "out.mp4", Options(size=size))
        elapsed = time.perf_counter() - started
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps({"elapsed_s": elapsed, "audio_s": summary.audio_duration_s,
                      "width": summary.width, "height": summary.height, "peak_mb": peak_mb}))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--image", default=str(ROOT / "examples" / "astronaut.png"))
    parser.add_argument("--sizes", nargs="+", default=["512", "1080", "original"])
    parser.add_argument("--durations", nargs="+", type=float, default=[10.0, 60.0])
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
                out = subprocess.run(
                    [sys.executable, __file__, "--child", args.image, str(audio), size],
                    capture_output=True, text=True, check=True)
                fig = json.loads(out.stdout.strip().splitlines()[-1])
                rtf = fig["elapsed_s"] / fig["audio_s"]
                rows.append((duration, size, fig, rtf))
                print(f"{duration:>5g} s audio, size {size:>8} ({fig['width']}x{fig['height']}): "
                      f"{fig['elapsed_s']:.1f} s, real-time factor {rtf:.2f}, "
                      f"peak memory {fig['peak_mb']:.0f} MB", flush=True)
    print("\n| audio | size | frame | render time | real-time factor | peak memory |")
    print("|---|---|---|---|---|---|")
    for duration, size, fig, rtf in rows:
        print(f"| {duration:g} s | {size} | {fig['width']}x{fig['height']} | "
              f"{fig['elapsed_s']:.1f} s | {rtf:.2f} | {fig['peak_mb']:.0f} MB |")


if __name__ == "__main__":
    main()
