"""MotionTrack: the renderer's only input besides the Rig, one row per frame."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from talkinghead.config import Options
from talkinghead.motion.blinks import blink_curve
from talkinghead.motion.head import head_pose
from talkinghead.motion.mouth import mouth_shapes
from talkinghead.speech import SpeechTrack


@dataclass(frozen=True)
class MotionTrack:
    """Per-frame parameters; every array has ``n_frames`` float32 values.

    jaw_open: 0 closed .. 1 wide open.
    lip_round: 0 .. 1 (o, u, w: corners pulled in).
    lip_spread: 0 .. 1 (e, i: corners pulled out).
    blink: 0 open .. 1 closed.
    yaw_deg, pitch_deg, roll_deg: head rotation; pitch positive nods the chin down.
    """

    fps: int
    jaw_open: np.ndarray
    lip_round: np.ndarray
    lip_spread: np.ndarray
    blink: np.ndarray
    yaw_deg: np.ndarray
    pitch_deg: np.ndarray
    roll_deg: np.ndarray

    @property
    def n_frames(self) -> int:
        return len(self.jaw_open)

    def at(self, frame_idx: int) -> dict[str, float]:
        """All parameters of one frame by name."""
        return {name: float(getattr(self, name)[frame_idx]) for name in PARAMETERS}


PARAMETERS = ("jaw_open", "lip_round", "lip_spread", "blink", "yaw_deg", "pitch_deg", "roll_deg")


def build_motion(speech: SpeechTrack, options: Options) -> MotionTrack:
    """Derive all motion from the speech features; seeded, so repeatable."""
    rng = np.random.default_rng(options.seed)
    jaw_open, lip_round, lip_spread = mouth_shapes(speech, gain=options.mouth_motion)
    yaw, pitch, roll = head_pose(speech, rng, intensity=options.head_motion)
    blink = blink_curve(speech, rng, blinks_per_min=options.blinks_per_min)
    f32 = np.float32
    return MotionTrack(
        fps=speech.fps, jaw_open=jaw_open.astype(f32), lip_round=lip_round.astype(f32),
        lip_spread=lip_spread.astype(f32), blink=blink.astype(f32), yaw_deg=yaw.astype(f32),
        pitch_deg=pitch.astype(f32), roll_deg=roll.astype(f32),
    )
