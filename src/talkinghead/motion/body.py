"""Body motion: breathing and a slow sway, so a half- or full-body photo lives too."""

from __future__ import annotations

import numpy as np

from talkinghead.motion.smooth import seeded_drift, smooth
from talkinghead.speech import SpeechTrack

SWAY_DEG = 0.6


def breathing(speech: SpeechTrack, rng: np.random.Generator) -> np.ndarray:
    """-1 (out) .. 1 (in) per frame: a calm cycle, and a breath in before each phrase."""
    n, fps = speech.n_frames, speech.fps
    t = np.arange(n) / fps
    rate_hz = rng.uniform(0.18, 0.28)
    cycle = np.sin(2 * np.pi * rate_hz * t + rng.uniform(0, 2 * np.pi))
    active = speech.voice_activity
    starts = np.flatnonzero(active[1:] & ~active[:-1]) + 1
    inhale = np.zeros(n)
    lead = int(0.6 * fps)
    for start in starts:  # one per phrase
        if start >= lead and not active[start - lead:start].any():
            inhale[start - lead:start] = np.linspace(0.0, 1.0, lead)
    # While speaking, the chest slowly empties instead of cycling.
    speaking = smooth(active.astype(np.float64), fps * 0.3)
    curve = (1 - speaking) * cycle * 0.7 + smooth(inhale, 2.0) * 0.8 - speaking * 0.3
    return np.clip(curve, -1.0, 1.0)


def sway(speech: SpeechTrack, rng: np.random.Generator) -> np.ndarray:
    """Slow side-to-side lean in degrees."""
    return seeded_drift(rng, speech.n_frames, speech.fps, amplitude=SWAY_DEG,
                        lowest_hz=0.04, highest_hz=0.15)
