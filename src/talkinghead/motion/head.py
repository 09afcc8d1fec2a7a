"""Head pose: slow seeded drift, nods on stressed syllables and phrase starts.

Angles stay in natural ranges (a few degrees); motion calms in pauses but
never stops, and every curve is smoothed so nothing jitters.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from talkinghead.motion.expression import pitch_accents
from talkinghead.motion.smooth import seeded_drift, smooth
from talkinghead.speech import SpeechTrack

YAW_DEG, PITCH_DEG, ROLL_DEG = 3.0, 2.0, 1.8
SHIFT_SHARE = 0.008  # head translation, as a share of face height


@dataclass(frozen=True)
class HeadPose:
    """Per-frame head pose: degrees, and shifts as a share of face height."""

    yaw_deg: np.ndarray
    pitch_deg: np.ndarray
    roll_deg: np.ndarray
    shift_x: np.ndarray
    shift_y: np.ndarray


def head_pose(speech: SpeechTrack, rng: np.random.Generator, *, intensity: float) -> HeadPose:
    """Head motion for the clip; ``intensity`` scales everything (0 = still)."""
    n, fps = speech.n_frames, speech.fps
    # Calmer when nobody speaks: activity eases in and out over ~0.5 s.
    energy = 0.55 + 0.45 * smooth(speech.voice_activity.astype(np.float64), 0.5 * fps)
    accents = pitch_accents(speech)
    stress = np.clip(0.6 * speech.onset + 0.6 * np.diff(accents, prepend=0.0) * 4, 0.0, 1.0)
    nods = _impulses(stress, rng, fps, threshold=0.45, min_gap_s=1.1)
    tilts = _impulses(stress, rng, fps, threshold=0.5, min_gap_s=1.5) * rng.choice(
        [-1.0, 1.0], size=n)
    yaw = seeded_drift(rng, n, fps, amplitude=YAW_DEG) * energy
    roll = seeded_drift(rng, n, fps, amplitude=ROLL_DEG) * energy + _shape(tilts, fps, 1.2) * 1.2
    pitch = seeded_drift(rng, n, fps, amplitude=PITCH_DEG * 0.6) * energy
    pitch = pitch + _shape(nods, fps, 0.7) * PITCH_DEG
    shift_x = seeded_drift(rng, n, fps, amplitude=SHIFT_SHARE, highest_hz=0.2) * energy
    shift_y = seeded_drift(rng, n, fps, amplitude=SHIFT_SHARE * 0.5, highest_hz=0.2) * energy
    return HeadPose(*(smooth(c, 1.5) * intensity for c in (yaw, pitch, roll, shift_x, shift_y)))


def _impulses(strength: np.ndarray, rng: np.random.Generator, fps: int, *, threshold: float,
              min_gap_s: float) -> np.ndarray:
    """Sparse impulses where ``strength`` first crosses ``threshold``, spaced apart."""
    crossings = np.flatnonzero((strength > threshold) & (np.roll(strength, 1) <= threshold))
    impulses = np.zeros(len(strength))
    last = -10 * fps
    for frame in crossings:  # a few per second at most
        if frame - last >= min_gap_s * fps:
            impulses[frame] = rng.uniform(0.5, 1.0)
            last = frame
    return impulses


def _shape(impulses: np.ndarray, fps: int, duration_s: float) -> np.ndarray:
    """Each impulse becomes a smooth there-and-back movement lasting ``duration_s``."""
    t = np.arange(max(int(duration_s * fps), 2)) / fps
    kernel = np.sin(np.pi * t / duration_s) ** 2
    return np.convolve(impulses, kernel)[: len(impulses)]
