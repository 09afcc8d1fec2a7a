"""Arm and hand gestures that follow the speech.

Speakers gesture in units: the hands rise as a phrase starts (preparation),
beat down on its stressed syllables (strokes), sink most of the way back after
a second or so, and return to rest in the pause after it (retraction). Some
phrases get both hands, opened outwards (an open-palm emphasis); most use one,
the speaker's favourite. Angles are lifts in degrees: positive raises the far
end of the limb (the elbow for the upper arm, the wrist for the forearm); the
renderer turns them into rigid rotations about the shoulder, elbow and wrist
of whichever arms the photo shows. Nothing here knows whether arms are
visible: without them the curves are simply unused.
"""

from __future__ import annotations

import numpy as np

from talkinghead.motion.expression import pitch_accents
from talkinghead.motion.head import phrases
from talkinghead.motion.smooth import smooth
from talkinghead.speech import SpeechTrack

#: Per arm (image left "l", image right "r"): upper arm and forearm lifts and
#: the hand's turn at the wrist, in degrees.
ARM_PARAMETERS = ("l_upper_deg", "l_fore_deg", "l_hand_deg",
                  "r_upper_deg", "r_fore_deg", "r_hand_deg")

FOREARM_LIFT_DEG = (36.0, 56.0)  # a gesture raises the forearm this far
HOLD_S = (0.7, 1.5)  # and holds it this long before sinking back most of the way
UPPER_PER_FORE = 0.35  # the upper arm follows the forearm this much
BEAT_DEG = 7.0  # a stroke on a stressed syllable dips the forearm this far
HAND_DEG = 10.0  # the hand turns at the wrist with strokes
BOTH_HANDS_SHARE = 0.3  # phrases gestured with both hands (open palms)
REST_SHARE = 0.2  # phrases with no gesture at all
MAX_LIFT_DEG = 60.0


def gesture_curves(speech: SpeechTrack, rng: np.random.Generator, *,
                   intensity: float) -> dict[str, np.ndarray]:
    """Every ARM_PARAMETERS curve per frame, scaled by ``intensity`` (0 = still arms)."""
    n, fps = speech.n_frames, speech.fps
    lift = {"l": np.zeros(n), "r": np.zeros(n)}
    rng, stroke_rng = rng.spawn(2)  # each drawn in time order (see motion.head)
    favourite = rng.choice(["l", "r"])
    other = "r" if favourite == "l" else "l"
    for start, end, _ in phrases(speech.voice_activity, fps):  # a few per clip
        roll = rng.random()
        if roll < REST_SHARE or end - start < 0.3 * fps:
            continue
        height = rng.uniform(*FOREARM_LIFT_DEG)
        arms = {favourite: height}
        if roll > 1 - BOTH_HANDS_SHARE:
            arms[other] = height * rng.uniform(0.7, 1.0)
        elif rng.random() < 0.4:
            arms[other] = height * rng.uniform(0.15, 0.35)  # the other hand stirs
        hold = int(rng.uniform(*HOLD_S) * fps)
        for arm, amount in arms.items():
            _gesture_unit(lift[arm], start, end, amount, fps, hold)
    strokes = _strokes(speech, stroke_rng)
    curves: dict[str, np.ndarray] = {}
    for arm in ("l", "r"):
        raised = np.clip(lift[arm] / FOREARM_LIFT_DEG[1], 0.0, 1.0)  # beats only when up
        fore = lift[arm] - BEAT_DEG * strokes * raised
        curves[f"{arm}_fore_deg"] = fore
        curves[f"{arm}_upper_deg"] = UPPER_PER_FORE * lift[arm]
        curves[f"{arm}_hand_deg"] = HAND_DEG * (0.6 * raised - strokes * raised)
    return {name: np.clip(smooth(curve, 1.0) * intensity, -MAX_LIFT_DEG, MAX_LIFT_DEG)
            for name, curve in curves.items()}


def _gesture_unit(curve: np.ndarray, start: int, end: int, height: float, fps: int,
                  hold: int) -> None:
    """Raise ``curve`` to ``height`` just before ``start``, hold it ``hold`` frames,
    sink to a tenth of it for the rest of the phrase, and lower it fully after
    ``end``; overlapping units keep the higher lift."""
    rise, sink, fall = int(0.35 * fps), int(0.6 * fps), int(0.6 * fps)
    t = np.arange(len(curve))
    up = _ease(np.clip((t - (start - rise)) / rise, 0.0, 1.0))
    settle = 1.0 - 0.9 * _ease(np.clip((t - (start + hold)) / sink, 0.0, 1.0))
    down = _ease(np.clip(((end + fall) - t) / fall, 0.0, 1.0))
    np.maximum(curve, height * np.minimum(up, down) * settle, out=curve)


def _strokes(speech: SpeechTrack, rng: np.random.Generator) -> np.ndarray:
    """0..1 per frame: a quick dip-and-return on each stressed syllable."""
    n, fps = speech.n_frames, speech.fps
    stress = np.clip(0.7 * speech.onset + 2.0 * np.diff(pitch_accents(speech), prepend=0.0),
                     0.0, 1.0)
    peaks = np.flatnonzero((stress > 0.35) & (np.roll(stress, 1) <= 0.35))
    impulses = np.zeros(n)
    last = -fps
    for frame in peaks:  # a few per second at most
        if frame - last >= 0.35 * fps:
            impulses[frame] = rng.uniform(0.6, 1.0)
            last = frame
    t = np.arange(max(int(0.3 * fps), 2)) / fps
    kernel = np.sin(np.pi * t / 0.3) ** 2
    return np.clip(np.convolve(impulses, kernel)[:n], 0.0, 1.0)


def _ease(t: np.ndarray) -> np.ndarray:
    return t * t * (3.0 - 2.0 * t)
