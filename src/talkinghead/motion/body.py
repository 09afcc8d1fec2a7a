"""Body motion: breathing, sway, shrugs, lean and weight shift.

A half- or full-body photo lives too: the chest draws a breath before each
phrase, the body sways slowly about its base, the shoulders shrug now and then
at the end of a phrase, the torso leans in while speaking loudly, and a
standing person shifts their weight from one hip to the other.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from talkinghead.motion.head import phrases
from talkinghead.motion.smooth import seeded_drift, smooth
from talkinghead.speech import SpeechTrack

SWAY_DEG = 0.8
SHRUG_SHARE = 0.3  # share of phrase ends that end in a shrug


@dataclass(frozen=True)
class BodyMotion:
    """Per-frame body parameters (see motion.track.PARAMETERS for their units)."""

    breath: np.ndarray
    sway_deg: np.ndarray
    shrug: np.ndarray
    lean: np.ndarray
    weight_shift: np.ndarray


def body_motion(speech: SpeechTrack, rng: np.random.Generator, *,
                intensity: float) -> BodyMotion:
    """All body curves, scaled by ``intensity`` (0 = a still body)."""
    n, fps = speech.n_frames, speech.fps
    active = smooth(speech.voice_activity.astype(np.float64), 0.6 * fps)
    loud = smooth(speech.loudness * speech.voice_activity, 1.0 * fps)
    lean = np.clip(0.8 * loud * active + seeded_drift(rng, n, fps, amplitude=0.25,
                                                      lowest_hz=0.03, highest_hz=0.1), -1, 1)
    weight = np.clip(seeded_drift(rng, n, fps, amplitude=1.6, lowest_hz=0.03,
                                  highest_hz=0.08), -1, 1)
    return BodyMotion(
        breath=np.clip(breathing(speech, rng) * intensity, -1.0, 1.0),
        sway_deg=sway(speech, rng) * intensity,
        shrug=np.clip(shrugs(speech, rng) * intensity, 0.0, 2.0),
        lean=lean * intensity,
        weight_shift=weight * intensity,
    )


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


def shrugs(speech: SpeechTrack, rng: np.random.Generator) -> np.ndarray:
    """0..1 per frame: now and then both shoulders lift and drop as a phrase ends."""
    n, fps = speech.n_frames, speech.fps
    impulses = np.zeros(n)
    for _, end, _ in phrases(speech.voice_activity, fps)[:-1]:  # every phrase but the last
        if rng.random() < SHRUG_SHARE:
            impulses[max(end - fps // 3, 0)] = rng.uniform(0.6, 1.0)
    t = np.arange(int(0.9 * fps)) / fps
    kernel = np.sin(np.pi * t / 0.9) ** 2
    return np.convolve(impulses, kernel)[:n]
