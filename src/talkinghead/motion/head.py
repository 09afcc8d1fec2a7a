"""Head pose: slow seeded drift, plus nods at the starts of phrases and loud syllables."""

from __future__ import annotations

import numpy as np

from talkinghead.motion.smooth import seeded_drift, smooth
from talkinghead.speech import SpeechTrack

YAW_DEG, PITCH_DEG, ROLL_DEG = 3.0, 2.0, 1.8


def head_pose(speech: SpeechTrack, rng: np.random.Generator, *,
              intensity: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Return (yaw, pitch, roll) in degrees per frame."""
    n, fps = speech.n_frames, speech.fps
    # Calmer when nobody speaks: activity eases in and out over ~0.5 s.
    energy = 0.55 + 0.45 * smooth(speech.voice_activity.astype(np.float64), 0.5 * fps)
    yaw = seeded_drift(rng, n, fps, amplitude=YAW_DEG) * energy
    roll = seeded_drift(rng, n, fps, amplitude=ROLL_DEG) * energy
    pitch = seeded_drift(rng, n, fps, amplitude=PITCH_DEG * 0.6) * energy
    pitch = pitch + _nods(speech, rng) * PITCH_DEG
    return (smooth(yaw, 1.5) * intensity, smooth(pitch, 1.5) * intensity,
            smooth(roll, 1.5) * intensity)


def _nods(speech: SpeechTrack, rng: np.random.Generator) -> np.ndarray:
    """Small downward nods on strong onsets: rises in loudness."""
    loud = smooth(speech.loudness.astype(np.float64), 1.0)
    rise = np.diff(loud, prepend=loud[:1])
    n, fps = speech.n_frames, speech.fps
    onsets = np.flatnonzero((rise > 0.12) & (np.roll(rise, 1) <= 0.12))
    impulses = np.zeros(n)
    last = -fps
    for frame in onsets:  # a handful per second at most
        if frame - last >= int(0.6 * fps):
            impulses[frame] = rng.uniform(0.5, 1.0)
            last = frame
    t = np.arange(int(0.8 * fps)) / fps
    kernel = np.sin(np.pi * np.clip(t / 0.8, 0, 1)) ** 2  # down and back up over 0.8 s
    return np.convolve(impulses, kernel)[:n]
