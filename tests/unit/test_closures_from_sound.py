"""Lips shut from the sound alone (motion.mouth.acoustic_closures), on synthetic voices.

A voiced sound here is a harmonic series at 120 Hz shaped by formant
resonances: an open vowel has its formants at 700, 1200 and 2500 Hz.
"""

from __future__ import annotations

import numpy as np
import pytest

from talkinghead.motion.mouth import acoustic_closures
from talkinghead.speech import analyse_speech

RATE_HZ = 16_000
FPS = 25
OPEN_VOWEL = ((700.0, 90.0), (1200.0, 110.0), (2500.0, 160.0))
ROUNDED_VOWEL = ((400.0, 70.0), (800.0, 90.0), (2300.0, 150.0))  # an o: F2 low, but above 700 Hz


def voiced(duration_s: float, formants: tuple[tuple[float, float], ...], *,
           level_db: float = -20.0, f0_hz: float = 120.0) -> np.ndarray:
    """A harmonic series through the given (centre, bandwidth) resonances, RMS at ``level_db``."""
    t = np.arange(int(duration_s * RATE_HZ)) / RATE_HZ
    harmonics = np.arange(1, int(4000 / f0_hz)) * f0_hz
    gains = sum(1.0 / (1.0 + ((harmonics - centre) / width) ** 2) for centre, width in formants)
    phases = np.arange(len(harmonics))[:, None]
    sound = (gains[:, None] * np.sin(2 * np.pi * harmonics[:, None] * t[None, :] + phases)).sum(0)
    sound *= 10 ** (level_db / 20) / np.sqrt(np.mean(sound**2))
    return sound.astype(np.float32)


def silence(duration_s: float) -> np.ndarray:
    return np.zeros(int(duration_s * RATE_HZ), np.float32)


def frames_between(start_s: float, end_s: float) -> np.ndarray:
    """Frames shown during [start_s, end_s)."""
    return np.arange(int(np.ceil(start_s * FPS)), int(np.ceil(end_s * FPS)))


def test_a_dark_rounded_vowel_as_quiet_is_not_a_closure() -> None:
    """o and u keep their second formant above 700 Hz: dark, but the lips are apart."""
    sound = np.concatenate([silence(0.3), voiced(0.3, OPEN_VOWEL),
                            voiced(0.12, ROUNDED_VOWEL, level_db=-24.0),
                            voiced(0.3, OPEN_VOWEL), silence(0.3)])
    shut = acoustic_closures(analyse_speech(sound, RATE_HZ, FPS)) > 0
    assert not shut[frames_between(0.32, 1.0)].any()


def test_the_closure_level_is_heard_10_ms_before_the_other_measures() -> None:
    """closure_db's window sits 10 ms earlier than loudness_db's, so a stop's
    silence shuts the lips once it has begun, not while the vowel still sounds."""
    click = silence(1.0)
    click[RATE_HZ // 2] = 1.0
    speech = analyse_speech(click, RATE_HZ, 100)  # 10 ms frames
    heard = np.flatnonzero(speech.loudness_db > -100)
    heard_for_closure = np.flatnonzero(speech.closure_db > -100)
    assert len(heard) == len(heard_for_closure) == 4
    np.testing.assert_array_equal(heard_for_closure, heard + 1)


@pytest.mark.parametrize("closure_s", [0.03, 0.04, 0.06, 0.08])
def test_a_stop_closure_shuts_the_lips_while_it_lasts(closure_s: float) -> None:
    """Silence between vowels: the lips shut at a frame shown during it (or within
    20 ms of its release, well inside the 45 ms at which late lips are seen),
    never at one shown before it began; also when the closure is as short as
    30 ms, split between two 40 ms windows."""
    for offset_s in np.arange(0.0, 0.04, 0.005):
        start_s = 0.6 + offset_s
        sound = np.concatenate([silence(0.3), voiced(0.3 + offset_s, OPEN_VOWEL),
                                silence(closure_s), voiced(0.3, OPEN_VOWEL), silence(0.3)])
        shut = np.flatnonzero(acoustic_closures(analyse_speech(sound, RATE_HZ, FPS)))
        shown_s = shut / FPS
        assert len(shut), (closure_s, offset_s)
        assert (shown_s >= start_s).all() and (shown_s <= start_s + closure_s + 0.02).all(), (
            closure_s, offset_s, shown_s - start_s)
