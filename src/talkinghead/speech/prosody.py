"""Loudness, voice activity and spectral shape, one value per video frame.

Works on any language, on song and on noise: nothing here needs words.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

WINDOW_S = 0.040
#: Features are read this far ahead of each frame so the mouth leads the
#: sound slightly: lips visibly late are noticed at ~45 ms, early only at ~125 ms.
LEAD_S = 0.020
SILENCE_DBFS = -60.0


@dataclass(frozen=True)
class SpeechTrack:
    """Per-frame speech features at ``fps`` (all arrays have ``n_frames`` values).

    loudness_db: RMS level in dBFS.
    loudness: level mapped to 0..1 between the clip's noise floor and its peak.
    voice_activity: True where someone is speaking or singing.
    brightness: share of energy above 2.5 kHz (high for s, z, sh, f; low for vowels).
    darkness: share of energy below 700 Hz (high for o, u and hums).
    """

    fps: int
    loudness_db: np.ndarray
    loudness: np.ndarray
    voice_activity: np.ndarray
    brightness: np.ndarray
    darkness: np.ndarray

    @property
    def n_frames(self) -> int:
        return len(self.loudness_db)


def frame_count(duration_s: float, fps: int) -> int:
    """Frames needed to cover ``duration_s``: the video ends within one frame of the audio."""
    return max(1, int(round(duration_s * fps)))


def analyse_speech(mono: np.ndarray, sample_rate_hz: int, fps: int,
                   n_frames: int | None = None) -> SpeechTrack:
    """Measure ``mono`` (float32 samples) once per video frame."""
    duration_s = len(mono) / sample_rate_hz
    n = n_frames if n_frames is not None else frame_count(duration_s, fps)
    window = int(WINDOW_S * sample_rate_hz)
    half = window // 2
    padded = np.pad(mono.astype(np.float32), (half + window, half + window))
    centres = ((np.arange(n) / fps + LEAD_S) * sample_rate_hz).astype(np.int64) + window
    centres = np.clip(centres, half, len(padded) - half - 1)
    windows = sliding_window_view(padded, window)[centres - half]  # (n, window)

    rms = np.sqrt(np.mean(windows.astype(np.float64) ** 2, axis=1))
    loudness_db = 20 * np.log10(np.maximum(rms, 1e-6))

    spectrum = np.abs(np.fft.rfft(windows * np.hanning(window), axis=1)) ** 2
    freqs = np.fft.rfftfreq(window, 1 / sample_rate_hz)
    total = spectrum[:, freqs > 80].sum(axis=1) + 1e-12
    brightness = spectrum[:, freqs > 2500].sum(axis=1) / total
    darkness = spectrum[:, (freqs > 80) & (freqs < 700)].sum(axis=1) / total

    floor_db, peak_db = _floor_and_peak(loudness_db)
    threshold_db = max(floor_db + 10.0, peak_db - 35.0, SILENCE_DBFS)
    voice_activity = _fill_short_gaps(loudness_db > threshold_db, max_gap=2)
    span = max(peak_db - threshold_db, 6.0)
    loudness = np.clip((loudness_db - threshold_db) / span, 0.0, 1.0)
    loudness = np.where(voice_activity, loudness, 0.0)
    return SpeechTrack(
        fps=fps,
        loudness_db=loudness_db.astype(np.float32),
        loudness=loudness.astype(np.float32),
        voice_activity=voice_activity,
        brightness=brightness.astype(np.float32),
        darkness=darkness.astype(np.float32),
    )


def _floor_and_peak(loudness_db: np.ndarray) -> tuple[float, float]:
    floor_db = float(np.percentile(loudness_db, 10))
    peak_db = float(np.percentile(loudness_db, 98))
    return floor_db, peak_db


def _fill_short_gaps(active: np.ndarray, *, max_gap: int) -> np.ndarray:
    """Bridge inactive runs of at most ``max_gap`` frames between active ones."""
    out = active.copy()
    idx = np.flatnonzero(active)
    if len(idx) < 2:
        return out
    gaps = np.diff(idx)
    for start, gap in zip(idx[:-1][gaps > 1], gaps[gaps > 1], strict=True):
        if gap - 1 <= max_gap:
            out[start + 1 : start + gap] = True
    return out
