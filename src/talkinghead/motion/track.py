"""MotionTrack: the renderer's only input besides the Rig, one row per frame."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from talkinghead.config import Options
from talkinghead.motion.body import breathing, sway
from talkinghead.motion.expression import EXPRESSIONS, brow_curve, smile_curve
from talkinghead.motion.eyes import blink_curve, gaze_curves
from talkinghead.motion.head import head_pose
from talkinghead.motion.mouth import mouth_motion
from talkinghead.speech import SpeechTrack
from talkinghead.speech.phonemes import Phone

#: Every per-frame parameter, in a fixed order.
PARAMETERS = (
    "jaw_open",  # 0 closed .. 1 wide open
    "lip_round",  # 0 .. 1: o, u, w (corners pulled in)
    "lip_spread",  # 0 .. 1: e, i (corners pulled out)
    "lip_press",  # 0 .. 1: m, b, p (lips pressed together)
    "upper_lip_raise",  # 0 .. 1: f, v, s (upper teeth shown)
    "tongue",  # 0 .. 1: th, l (tongue tip visible)
    "smile",  # 0 .. 1
    "brow_raise",  # -1 lowered .. 1 raised
    "blink",  # 0 open .. 1 shut
    "gaze_x",  # share of eye width, + towards image right
    "gaze_y",  # share of eye height, + down
    "yaw_deg", "pitch_deg", "roll_deg",  # head rotation; pitch + nods the chin down
    "shift_x", "shift_y",  # head translation, share of face height
    "breath",  # -1 out .. 1 in: shoulders and head rise
    "sway_deg",  # the body leans about its base; + is clockwise in the image
)


@dataclass(frozen=True)
class MotionTrack:
    """Per-frame animation parameters: ``values`` is (n_frames, len(PARAMETERS)) float32."""

    fps: int
    values: np.ndarray
    phones: tuple[Phone, ...] = ()

    @property
    def n_frames(self) -> int:
        return len(self.values)

    def curve(self, name: str) -> np.ndarray:
        """One parameter over time."""
        return self.values[:, PARAMETERS.index(name)]

    def at(self, frame_idx: int) -> dict[str, float]:
        """All parameters of one frame by name."""
        return dict(zip(PARAMETERS, self.values[frame_idx].tolist(), strict=True))


def build_motion(speech: SpeechTrack, phones: list[Phone], options: Options) -> MotionTrack:
    """Derive all motion from speech features and phones; seeded, so repeatable."""
    rng = np.random.default_rng(options.seed)
    preset = EXPRESSIONS[options.expression]
    intensity = options.head_motion
    curves: dict[str, np.ndarray] = dict(mouth_motion(speech, phones, gain=options.mouth_motion))
    curves["smile"] = smile_curve(speech, preset) * min(intensity, 1.0)
    curves["brow_raise"] = brow_curve(speech, preset, intensity=intensity)
    curves["blink"] = blink_curve(speech, rng, blinks_per_min=options.blinks_per_min)
    curves["gaze_x"], curves["gaze_y"] = gaze_curves(speech.n_frames, speech.fps, rng)
    pose = head_pose(speech, rng, intensity=intensity * preset.head_energy)
    curves.update(yaw_deg=pose.yaw_deg, pitch_deg=pose.pitch_deg, roll_deg=pose.roll_deg,
                  shift_x=pose.shift_x, shift_y=pose.shift_y)
    curves["breath"] = breathing(speech, rng) * min(intensity, 1.0)
    curves["sway_deg"] = sway(speech, rng) * intensity * preset.head_energy
    values = np.column_stack([curves[name] for name in PARAMETERS]).astype(np.float32)
    return MotionTrack(fps=speech.fps, values=values, phones=tuple(phones))
