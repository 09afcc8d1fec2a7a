"""The mouth track as data, for 2D and 3D rigs: Rhubarb-style mouth cues.

Rhubarb Lip Sync's shapes (Preston Blair's set): A closed (m, b, p),
B slightly open with clenched teeth (most consonants, ee), C open (eh, ae),
D wide open (aa), E rounded (ao, er), F puckered (oo, w), G upper teeth on the
lower lip (f, v), H tongue raised (l), X idle (silence). Each frame's shape is
read from the continuous parameters the video was rendered with, so the cues
match the video exactly.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from talkinghead.motion.track import PARAMETERS, MotionTrack

SHAPES = "ABCDEFGHX"


@dataclass(frozen=True)
class MouthCue:
    """One Rhubarb shape held from ``start_s`` to ``end_s``."""

    start_s: float
    end_s: float
    shape: str


def frame_shapes(motion: MotionTrack) -> list[str]:
    """The Rhubarb shape of every frame."""
    jaw, round_, press = (motion.curve(n) for n in ("jaw_open", "lip_round", "lip_press"))
    raise_, tongue = motion.curve("upper_lip_raise"), motion.curve("tongue")
    # Highest priority first: np.select takes the first condition that holds.
    shape = np.select(
        [press > 0.5,
         (jaw < 0.03) & (raise_ < 0.2),
         (raise_ > 0.35) & (jaw < 0.25),
         tongue > 0.5,
         (round_ > 0.55) & (jaw < 0.45),
         round_ > 0.45,
         jaw > 0.7,
         jaw > 0.35],
        ["A", "X", "G", "H", "F", "E", "D", "C"],
        default="B",
    )
    return shape.tolist()


def mouth_cues(motion: MotionTrack) -> list[MouthCue]:
    """Frames of the same shape merged into cues."""
    shapes = frame_shapes(motion)
    cues: list[MouthCue] = []
    start = 0
    for idx in range(1, len(shapes) + 1):  # one step per frame of a short list
        if idx == len(shapes) or shapes[idx] != shapes[start]:
            cues.append(MouthCue(round(start / motion.fps, 3), round(idx / motion.fps, 3),
                                 shapes[start]))
            start = idx
    return cues


def write_mouth_track(path: Path, motion: MotionTrack) -> None:
    """Write the cues: ``.tsv`` as Rhubarb's TSV, anything else as JSON.

    The JSON also carries every per-frame parameter the video was rendered with.
    """
    cues = mouth_cues(motion)
    if path.suffix.lower() == ".tsv":
        lines = [f"{cue.start_s:.2f}\t{cue.shape}" for cue in cues]
        if cues:
            lines.append(f"{cues[-1].end_s:.2f}\tX")
        path.write_text("\n".join(lines) + "\n", encoding="utf-8")
        return
    document = {
        "metadata": {"fps": motion.fps, "duration": round(motion.n_frames / motion.fps, 3)},
        "mouthCues": [{"start": c.start_s, "end": c.end_s, "value": c.shape} for c in cues],
        "parameters": list(PARAMETERS),
        "frames": np.round(motion.values, 4).tolist(),
    }
    path.write_text(json.dumps(document), encoding="utf-8")
