"""Identity distance against head turn: real talking footage beside our renders.

A turned face reads further from a frontal photo even when nothing is wrong
with it. To tell damage from turning, this measures any video the same way:
dlib's face descriptor of every STEP-th frame against a reference face
(``quality.identity.descriptor``), and the head's turn from the video's first
face (``quality.motion.head_angles``: sqrt(yaw^2 + pitch^2)), binned by turn.
Run it on real footage and on our render of its first frame with its sound,
with that first frame as the reference of both (``--reference``; without it,
each video's first face found).

    python benchmarks/identity_turns.py VIDEO [VIDEO ...] [--reference IMAGE] [--step 5]

It prints, per video, the median distance over all sampled frames and per
turn bin (frames, median distance).
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

from talkinghead.inputs import load_portrait
from talkinghead.quality import motion
from talkinghead.quality.clip import follow_face
from talkinghead.quality.identity import descriptor
from talkinghead.quality.video import iter_frames

TURN_BINS_DEG = ((0, 5), (5, 10), (10, 15), (15, 25), (25, 90))


def identity_by_turn(video: Path, step: int,
                     reference: np.ndarray | None) -> tuple[float, list[tuple[str, int, float]]]:
    """Median distance to the ``reference`` descriptor (None: the video's first
    face), and (bin, frames, median) per turn bin."""
    frames = [frame for idx, frame in enumerate(iter_frames(video)) if idx % step == 0]
    points, first = follow_face(frames)
    if first is None:
        raise SystemExit(f"{video}: no face found")
    angles = motion.head_angles(points, points[first])
    found = np.isfinite(points[:, 0, 0])
    if reference is None:
        reference = descriptor(frames[first], points[first])
        found[first] = False  # the reference itself reads 0
    distance = np.full(len(frames), np.nan)
    for idx in np.flatnonzero(found):
        distance[idx] = np.linalg.norm(descriptor(frames[idx], points[idx]) - reference)
    turn = np.hypot(angles[:, 0], angles[:, 1])
    rows = []
    for low, high in TURN_BINS_DEG:
        inside = found & (turn >= low) & (turn < high)
        if inside.any():
            rows.append((f"{low}-{high}", int(inside.sum()), float(np.median(distance[inside]))))
    return float(np.nanmedian(distance)), rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("videos", nargs="+", type=Path)
    parser.add_argument("--step", type=int, default=5, help="measure every STEP-th frame")
    parser.add_argument("--reference", type=Path, help="picture whose face every frame is "
                        "compared with (default: each video's first face)")
    args = parser.parse_args()
    reference = None
    if args.reference:
        picture = load_portrait(args.reference).rgb
        points, first = follow_face([picture])
        if first is None:
            raise SystemExit(f"{args.reference}: no face found")
        reference = descriptor(picture, points[first])
    against = args.reference.name if args.reference else "its first face"
    for video in args.videos:
        median, rows = identity_by_turn(video, args.step, reference)
        print(f"{video.name}: identity distance to {against}, median {median:.3f}")
        for name, count, value in rows:
            print(f"  turn {name:>6} deg: {count:3d} frames, median {value:.3f}")


if __name__ == "__main__":
    main()
