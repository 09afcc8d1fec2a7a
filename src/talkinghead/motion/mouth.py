"""Mouth motion: visemes from the phone timeline, scaled by loudness (JALI style).

Phones say which shape (lips round, spread, pressed; teeth; tongue); loudness
says how far the jaw opens. Without phones (too short, nothing recognised)
the mouth follows loudness and spectral shape alone. Silence closes the mouth.
"""

from __future__ import annotations

import numpy as np

from talkinghead.motion.smooth import smooth
from talkinghead.motion.visemes import MOUTH_PARAMETERS, mouth_curves, plausible_closures
from talkinghead.speech import SpeechTrack
from talkinghead.speech.phonemes import Phone
from talkinghead.speech.prosody import LEAD_S


def mouth_motion(speech: SpeechTrack, phones: list[Phone], *,
                 gain: float) -> dict[str, np.ndarray]:
    """Per-frame mouth parameters by name (see MOUTH_PARAMETERS), each 0..1."""
    n = speech.n_frames
    loud = speech.loudness.astype(np.float64) ** 0.7
    voiced = smooth(speech.voice_activity.astype(np.float64), 0.6)
    if phones:
        phones = plausible_closures(phones, speech.loudness_db, speech.fps)
        shapes = mouth_curves(phones, n, speech.fps, lead_s=LEAD_S)
    else:
        shapes = _spectral_shapes(speech)
    curves = dict(zip(MOUTH_PARAMETERS, shapes.T, strict=True))
    press = curves["lip_press"]
    # The jaw: mostly loudness, shaped by the viseme's openness. Loud periodic
    # sound is a vowel whatever the recogniser says (it guesses on song and on
    # other languages), so it always opens the jaw some way.
    periodic = smooth((speech.pitch_hz > 0).astype(np.float64), 0.6)
    jaw = curves["jaw_open"] * (0.45 + 0.55 * loud) + 0.25 * loud
    jaw = np.maximum(jaw, 0.6 * loud * periodic)
    jaw = smooth(jaw, 0.6) * voiced * (1.0 - press)
    curves["jaw_open"] = np.clip(jaw * gain, 0.0, 1.0)
    lips = min(gain, 1.0)
    for name in ("lip_round", "lip_spread", "upper_lip_raise", "tongue"):
        curves[name] = np.clip(smooth(curves[name], 0.6) * voiced * lips, 0.0, 1.0)
    curves["lip_press"] = np.clip(press, 0.0, 1.0)
    return curves


def _spectral_shapes(speech: SpeechTrack) -> np.ndarray:
    """Phone-free fallback: hissing narrows the jaw, dark spectra round, bright spread."""
    hiss = np.clip((speech.brightness - 0.25) / 0.5, 0.0, 1.0)
    dark = np.clip((speech.darkness - 0.55) / 0.35, 0.0, 1.0)
    bright = np.clip((0.5 - speech.darkness) / 0.3, 0.0, 1.0) * (1.0 - hiss)
    shapes = np.zeros((speech.n_frames, len(MOUTH_PARAMETERS)))
    shapes[:, MOUTH_PARAMETERS.index("jaw_open")] = 0.7 * (1.0 - 0.6 * hiss)
    shapes[:, MOUTH_PARAMETERS.index("lip_round")] = dark
    shapes[:, MOUTH_PARAMETERS.index("lip_spread")] = bright
    shapes[:, MOUTH_PARAMETERS.index("upper_lip_raise")] = 0.3 * hiss
    return shapes
