"""MotionTrack: the renderer's only input besides the Rig, one row per frame."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from talkinghead.config import Options
from talkinghead.motion.body import body_motion
from talkinghead.motion.expression import EXPRESSIONS, brow_curve, smile_curve
from talkinghead.motion.eyes import blink_curve, gaze_curves
from talkinghead.motion.gestures import ARM_PARAMETERS, gesture_curves
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
    "shrug",  # 0 .. 1: both shoulders lift
    "lean",  # -1 back .. 1 forward: the torso leans towards the camera (grows a little)
    "weight_shift",  # -1 .. 1: full body, hips shift to image left or right
    *ARM_PARAMETERS,  # upper arm and forearm swings of each arm, degrees; hand turns
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
    blink_rng, gaze_rng = np.random.default_rng(options.seed).spawn(2)
    preset = EXPRESSIONS[options.expression]
    curves: dict[str, np.ndarray] = dict(mouth_motion(speech, phones, gain=options.mouth_motion))
    curves["smile"] = smile_curve(speech, preset)
    curves["brow_raise"] = brow_curve(speech, preset)
    curves["blink"] = blink_curve(speech, blink_rng, blinks_per_min=options.blinks_per_min)
    curves["gaze_x"], curves["gaze_y"] = gaze_curves(speech.n_frames, speech.fps, gaze_rng)
    # Each part draws from its own generator, so one knob never changes another's motion.
    head_rng, body_rng, arm_rng = (np.random.default_rng([options.seed, part])
                                   for part in (1, 2, 3))
    pose = head_pose(speech, head_rng, intensity=options.head_motion * preset.head_energy)
    curves.update(yaw_deg=pose.yaw_deg, pitch_deg=pose.pitch_deg, roll_deg=pose.roll_deg,
                  shift_x=pose.shift_x, shift_y=pose.shift_y)
    body = body_motion(speech, body_rng, intensity=options.body_motion * preset.head_energy)
    curves.update(breath=body.breath, sway_deg=body.sway_deg, shrug=body.shrug,
                  lean=body.lean, weight_shift=body.weight_shift)
    curves.update(gesture_curves(speech, arm_rng,
                                 intensity=options.gestures * preset.head_energy))
    values = np.column_stack([curves[name] for name in PARAMETERS]).astype(np.float32)
    return MotionTrack(fps=speech.fps, values=values, phones=tuple(phones))
