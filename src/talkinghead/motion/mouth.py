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
        phones = plausible_closures(phones, speech.loudness_db, speech.fps,
                                    murmur=speech.murmur, brightness=speech.brightness)
        shapes = mouth_curves(phones, n, speech.fps, lead_s=LEAD_S)
    else:
        shapes = _spectral_shapes(speech)
    curves = dict(zip(MOUTH_PARAMETERS, shapes.T, strict=True))
    press = curves["lip_press"]
    if not any(phone.aligned for phone in phones):
        # Without words, the phone loop misses most m/b/p (it is English and
        # guesses on other languages): the sound's own closures shut the lips.
        press = np.maximum(press, acoustic_closures(speech))
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


#: A closure frame is this many dB quieter than the louder frames on both sides ...
DIP_DB = 4.0
#: ... or nasal murmur (m): this share of its energy under 400 Hz, no hiss,
#: and this many dB under the louder side.
MURMUR_SHARE = 0.6
MURMUR_MAX_BRIGHTNESS = 0.05
MURMUR_DIP_DB = 7.0


def acoustic_closures(speech: SpeechTrack) -> np.ndarray:
    """1.0 at frames whose sound says the lips shut (m, b, p), else 0.0.

    Lips that meet stop or muffle the sound: a stop's closure is a trough in
    loudness between louder sounds, and m's murmur is quiet, dark (its energy
    under 400 Hz) and hiss-free next to the vowel it leads into or follows. Both
    hold in any language. Alveolar and velar closures (t, d, k, g, n) sound
    alike at this level and shut the lips too: far less wrong to the eye than
    an m spoken with open lips. Each frame looks two frames either side only,
    within live mode's lookahead.
    """
    db = speech.loudness_db.astype(np.float64)
    n = len(db)
    if n < 3:
        return np.zeros(n)
    padded = np.pad(db, 2, mode="edge")
    before = np.maximum(padded[:-4], padded[1:-3])
    after = np.maximum(padded[3:-1], padded[4:])
    trough = (db <= padded[1:-3]) & (db <= padded[3:-1])
    dip = trough & (np.minimum(before, after) - db >= DIP_DB)
    murmur = ((speech.murmur >= MURMUR_SHARE) & (speech.brightness < MURMUR_MAX_BRIGHTNESS)
              & (np.maximum(before, after) - db >= MURMUR_DIP_DB))
    # Only next to speech: silence is shut anyway, and noise between phrases is not a closure.
    voice = np.pad(speech.voice_activity.astype(bool), 2)
    near_voice = voice[:-4] | voice[1:-3] | voice[2:-2] | voice[3:-1] | voice[4:]
    return ((dip | murmur) & near_voice).astype(np.float64)


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
