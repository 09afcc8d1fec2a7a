"""Eyes: a seeded blink schedule at a natural rate (likelier at phrase ends),
and small gaze saccades that return to the camera."""

from __future__ import annotations

import numpy as np

from talkinghead.speech import SpeechTrack

MIN_GAP_S = 1.2
CLOSE_S, HOLD_S, OPEN_S = 0.08, 0.04, 0.12


def blink_curve(speech: SpeechTrack, rng: np.random.Generator, *,
                blinks_per_min: float) -> np.ndarray:
    """Eyelid closure per frame, 0 open .. 1 shut; each blink lasts ~240 ms."""
    n, fps = speech.n_frames, speech.fps
    duration_s = n / fps
    curve = np.zeros(n)
    if blinks_per_min <= 0:
        return curve
    mean_gap_s = 60.0 / blinks_per_min
    # Phrase ends (speech stopping after at least a second) attract a blink.
    active = speech.voice_activity
    ends = np.flatnonzero(active[:-1] & ~active[1:])
    phrase_ends = [e / fps + 0.05 for e in ends if active[max(0, e - fps): e].mean() > 0.7]
    times: list[float] = []
    t = rng.uniform(0.3, min(mean_gap_s, 3.0))
    while t < duration_s:
        near = [e for e in phrase_ends if t - 0.8 < e < t + 0.8]
        times.append(near[0] if near else t)
        t = times[-1] + MIN_GAP_S + rng.gamma(2.0, max(mean_gap_s - MIN_GAP_S, 0.1) / 2.0)
    frame_t = np.arange(n) / fps
    for start in times:
        curve = np.maximum(curve, _blink_shape(frame_t - start))
    return curve


def _blink_shape(t: np.ndarray) -> np.ndarray:
    closing = np.clip(t / CLOSE_S, 0, 1)
    opening = np.clip(1 - (t - CLOSE_S - HOLD_S) / OPEN_S, 0, 1)
    shape = np.minimum(closing, opening)
    return np.where((t >= 0) & (t <= CLOSE_S + HOLD_S + OPEN_S), shape, 0.0)


def gaze_curves(n_frames: int, fps: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Gaze offsets per frame (share of the eye's width / height), mostly at the camera."""
    gaze_x, gaze_y = np.zeros(n_frames), np.zeros(n_frames)
    frame = int(rng.uniform(1.0, 3.0) * fps)
    while frame < n_frames:
        hold = int(rng.uniform(0.3, 1.2) * fps)
        gaze_x[frame: frame + hold] = rng.uniform(-0.12, 0.12)
        gaze_y[frame: frame + hold] = rng.uniform(-0.06, 0.04)
        frame += hold + int(rng.uniform(1.5, 4.0) * fps)
    # Saccades are quick but not instant: two frames to settle.
    kernel = np.array([0.25, 0.5, 0.25])
    return (np.convolve(gaze_x, kernel, mode="same"), np.convolve(gaze_y, kernel, mode="same"))
