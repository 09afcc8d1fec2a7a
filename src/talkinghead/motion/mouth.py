"""Mouth shapes from speech features (the phoneme-free first version).

Loudness opens the jaw (JALI's jaw axis); spectral shape sets the lips:
hissing sounds bring the teeth together, dark vowels round the lips, bright
ones spread them. Silence closes the mouth completely.
"""

from __future__ import annotations

import numpy as np

from talkinghead.motion.smooth import smooth
from talkinghead.speech import SpeechTrack


def mouth_shapes(speech: SpeechTrack, *, gain: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Return (jaw_open, lip_round, lip_spread) per frame, each 0..1."""
    voiced = speech.voice_activity.astype(np.float64)
    hiss = np.clip((speech.brightness - 0.25) / 0.5, 0.0, 1.0)
    jaw = speech.loudness.astype(np.float64) ** 0.7 * (1.0 - 0.6 * hiss)
    # Light smoothing: no chatter at 25 fps, but syllables stay distinct.
    jaw = smooth(jaw, 0.7) * voiced
    jaw = np.clip(jaw * gain, 0.0, 1.0)

    dark = np.clip((speech.darkness - 0.55) / 0.35, 0.0, 1.0)
    lip_round = smooth(dark * voiced, 1.0) * np.minimum(gain, 1.0)
    bright_vowel = np.clip((0.5 - speech.darkness) / 0.3, 0.0, 1.0) * (1.0 - hiss)
    lip_spread = smooth(bright_vowel * voiced, 1.0) * np.minimum(gain, 1.0)
    return jaw, np.clip(lip_round, 0, 1), np.clip(lip_spread, 0, 1)
