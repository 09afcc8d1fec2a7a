"""Small filters shared by the motion curves."""

from __future__ import annotations

import numpy as np
from scipy.ndimage import gaussian_filter1d


def smooth(curve: np.ndarray, sigma_frames: float) -> np.ndarray:
    """Gaussian smoothing that keeps the ends in place."""
    if sigma_frames <= 0 or len(curve) < 2:
        return curve.astype(np.float64)
    return gaussian_filter1d(curve.astype(np.float64), sigma_frames, mode="nearest")


def seeded_drift(rng: np.random.Generator, n: int, fps: int, *, amplitude: float,
                 lowest_hz: float = 0.05, highest_hz: float = 0.35) -> np.ndarray:
    """Slow, never-repeating wander: a few sines of random frequency and phase."""
    t = np.arange(n) / fps
    freqs = rng.uniform(lowest_hz, highest_hz, size=3)
    phases = rng.uniform(0, 2 * np.pi, size=3)
    weights = np.array([1.0, 0.6, 0.35])
    wave = (weights[:, None] * np.sin(2 * np.pi * freqs[:, None] * t + phases[:, None])).sum(0)
    return amplitude * wave / weights.sum()
