"""How far `render_video` is from this machine's floor, as a ratio per output size.

    .venv/bin/python benchmarks/floor.py [--sizes 512 720 1080] [--repeats 3] [--seconds 60]

The floor is what any warp renderer has to pay per frame and nothing else:
one ``cv2.remap`` of a full frame (blurred noise, the map changing every
frame) plus encoding it with this project's own writer (libx264 veryfast,
same CRF, colour conversion and AAC audio) at the same size. The project is
``render_video`` on ``examples/astronaut.png`` with recorded speech
(``examples/speech.wav`` looped to ``--seconds``), everything on (head and
body motion, gestures, blinks).

Both run in this one process, alternating (floor, project, floor, project,
...) so that a shared machine's drift hits both alike; the models are loaded
by a short warm-up render first, so every measured render pays the same.
Absolute seconds drift with the machine's load; the ratio (project / floor,
median of the per-round ratios) is what to compare.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
import wave
from collections.abc import Iterator
from pathlib import Path

import cv2
import numpy as np

from talkinghead.config import Options
from talkinghead.encode import write_mp4
from talkinghead.inputs import AudioClip, load_audio, load_portrait
from talkinghead.pipeline import fit_to_size, render_video

ROOT = Path(__file__).resolve().parents[1]
#: Distinct maps the floor cycles through: the picture changes every frame, as
#: a talking head's does, without paying to build a map per frame.
FLOOR_MAPS = 8


def looped_speech(seconds: float) -> AudioClip:
    """examples/speech.wav repeated until ``seconds`` long, then cut there."""
    clip = load_audio(str(ROOT / "examples" / "speech.wav"))
    n = int(seconds * clip.sample_rate_hz)
    reps = -(-n // len(clip.samples))
    return AudioClip(samples=np.tile(clip.samples, (reps, 1))[:n],
                     sample_rate_hz=clip.sample_rate_hz, name=f"speech x{reps}")


def write_wav(path: Path, clip: AudioClip) -> None:
    """16-bit PCM WAV of ``clip`` (the pipeline decodes it like any upload)."""
    with wave.open(str(path), "wb") as out:
        out.setnchannels(clip.channels)
        out.setsampwidth(2)
        out.setframerate(clip.sample_rate_hz)
        out.writeframes((np.clip(clip.samples, -1, 1) * 32767).astype("<i2").tobytes())


def floor_seconds(width: int, height: int, clip: AudioClip, fps: int, out: Path) -> float:
    """Wall seconds for one remap + encode per frame of ``clip`` at width x height."""
    rng = np.random.default_rng(0)
    noise = rng.integers(0, 256, (height, width, 3), dtype=np.uint8)
    # Blurred to about a photo's texture: at 4 px (at 512, scaled with the size)
    # x264 spends about the bits per second it spends on the portrait.
    picture = cv2.GaussianBlur(noise, (0, 0), 4.0 * width / 512)
    gx, gy = np.meshgrid(np.arange(width, dtype=np.float32), np.arange(height, dtype=np.float32))
    maps = []
    for k in range(FLOOR_MAPS):  # smooth few-pixel displacements, different every frame
        phase = 2 * np.pi * k / FLOOR_MAPS
        dx = 3.0 * np.sin(2 * np.pi * gy / height + phase)
        dy = 3.0 * np.cos(2 * np.pi * gx / width + phase)
        maps.append(((gx + dx).astype(np.float32), (gy + dy).astype(np.float32)))
    n_frames = int(round(clip.duration_s * fps))

    def frames() -> Iterator[np.ndarray]:
        for idx in range(n_frames):
            map_x, map_y = maps[idx % FLOOR_MAPS]
            yield cv2.remap(picture, map_x, map_y, cv2.INTER_LINEAR,
                            borderMode=cv2.BORDER_REPLICATE)

    started = time.perf_counter()
    write_mp4(out, frames(), clip, fps=fps, width=width, height=height, n_frames=n_frames)
    return time.perf_counter() - started


def project_seconds(image: str, audio: Path, size: str, out: Path) -> tuple[float, float]:
    """Wall seconds of ``render_video`` on ``audio`` at ``size``, and the audio's length."""
    started = time.perf_counter()
    summary = render_video(image, str(audio), out, Options(size=size))
    return time.perf_counter() - started, summary.audio_duration_s


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--image", default=str(ROOT / "examples" / "astronaut.png"))
    parser.add_argument("--sizes", nargs="+", default=["512", "720", "1080"])
    parser.add_argument("--seconds", type=float, default=60.0, help="audio length")
    parser.add_argument("--repeats", type=int, default=3, help="floor/project rounds per size")
    args = parser.parse_args()
    clip = looped_speech(args.seconds)
    fps = Options().fps
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        audio, warm_audio = Path(tmp) / "speech.wav", Path(tmp) / "warm.wav"
        write_wav(audio, clip)
        write_wav(warm_audio, looped_speech(2.0))
        for size in args.sizes:
            height, width = fit_to_size(load_portrait(args.image).rgb,
                                        Options(size=size).long_side_px).shape[:2]
            project_seconds(args.image, warm_audio, size, Path(tmp) / "warm.mp4")
            ratios, floors, projects = [], [], []
            for _ in range(args.repeats):
                floor = floor_seconds(width, height, clip, fps, Path(tmp) / "floor.mp4")
                project, duration = project_seconds(args.image, audio, size,
                                                    Path(tmp) / "out.mp4")
                floors.append(floor / duration)
                projects.append(project / duration)
                ratios.append(project / floor)
                print(f"  {size}: floor {floors[-1]:.3f} x real time, project "
                      f"{projects[-1]:.3f}, ratio {ratios[-1]:.2f}", file=sys.stderr, flush=True)
            rows.append((size, width, height, statistics.median(floors),
                         statistics.median(projects), statistics.median(ratios),
                         min(ratios), max(ratios)))
            print(f"{size} ({width}x{height}): ratio {rows[-1][5]:.2f} "
                  f"(range {rows[-1][6]:.2f}-{rows[-1][7]:.2f} over {args.repeats})", flush=True)
    print(f"\n{args.seconds:g} s of speech, median of {args.repeats} alternating rounds:\n")
    print("| size | frame | floor (real-time factor) | talkinghead | ratio |")
    print("|---|---|---|---|---|")
    for size, width, height, floor, project, ratio, _, _ in rows:
        print(f"| {size} | {width}x{height} | {floor:.2f} | {project:.2f} | {ratio:.2f}x |")


if __name__ == "__main__":
    main()
