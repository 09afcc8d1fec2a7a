"""Blinks: a seeded schedule at a natural rate, a little likelier at phrase ends."""

from __future__ import annotations

import numpy as np

from talkinghead.speech import SpeechTrack

MIN_GAP_S = 1.2
CLOSE_S, HOLD_S, OPEN_S = 0.08, 0.04, 0.12


def blink_curve(speech: SpeechTrack, rng: np.random.Generator, *,
                blinks_per_min: float) -> np.ndarray:
    """Eyelid closure per frame, 0 open .. 1 shut."""
    n, fps = speech.n_frames, speech.fps
    duration_s = n / fps
    curve = np.zeros(n)
    if blinks_per_min <= 0:
        return curve
    mean_gap_s = 60.0 / blinks_per_min
    times: list[float] = []
    t = rng.uniform(0.3, min(mean_gap_s, 3.0))
    while t < duration_s:
        times.append(t)
        t += MIN_GAP_S + rng.gamma(2.0, max(mean_gap_s - MIN_GAP_S, 0.1) / 2.0)
    # Phrase ends (speech stopping) attract a blink when none is near.
    ends = np.flatnonzero(speech.voice_activity[:-1] & ~speech.voice_activity[1:]) / fps
    for end in ends:
        if all(abs(end - x) > MIN_GAP_S for x in times) and rng.random() < 0.5:
            times.append(float(end) + 0.05)
    frame_t = np.arange(n) / fps
    for start in times:
        curve = np.maximum(curve, _blink_shape(frame_t - start))
    return curve


def _blink_shape(t: np.ndarray) -> np.ndarray:
    closing = np.clip(t / CLOSE_S, 0, 1)
    opening = np.clip(1 - (t - CLOSE_S - HOLD_S) / OPEN_S, 0, 1)
    shape = np.minimum(closing, opening)
    return np.where((t >= 0) & (t <= CLOSE_S + HOLD_S + OPEN_S), shape, 0.0)
