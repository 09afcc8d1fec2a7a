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
BLOCK_FRAMES = 500  # frames analysed at a time


@dataclass(frozen=True)
class SpeechTrack:
    """Per-frame speech features at ``fps`` (all arrays have ``n_frames`` values).

    loudness_db: RMS level in dBFS.
    loudness: level mapped to 0..1 between the clip's noise floor and its peak.
    voice_activity: True where someone is speaking or singing.
    brightness: share of energy above 2.5 kHz (high for s, z, sh, f; low for vowels).
    darkness: share of energy below 700 Hz (high for o, u and hums).
    murmur: share of energy below 400 Hz (high for a nasal's murmur, m and n,
        whose mouth-closed resonance is low; lower for o and u, whose first
        two formants reach above it).
    pitch_hz: fundamental frequency where the sound is periodic, else 0.
    onset: 0..1, how sharply loudness rises into this frame (syllable starts).
    """

    fps: int
    loudness_db: np.ndarray
    loudness: np.ndarray
    voice_activity: np.ndarray
    brightness: np.ndarray
    darkness: np.ndarray
    pitch_hz: np.ndarray
    onset: np.ndarray
    murmur: np.ndarray

    @property
    def n_frames(self) -> int:
        return len(self.loudness_db)


def frame_count(duration_s: float, fps: int) -> int:
    """Frames needed to cover ``duration_s``: the video ends within one frame of the audio."""
    return max(1, int(round(duration_s * fps)))


@dataclass(frozen=True)
class FrameMeasures:
    """What each frame's own 40 ms of sound measures, before any clip-wide scaling.

    Each frame depends only on its window, so live mode measures a frame once,
    as soon as its sound has arrived.
    """

    loudness_db: np.ndarray
    brightness: np.ndarray
    darkness: np.ndarray
    pitch_hz: np.ndarray
    murmur: np.ndarray

    def columns(self) -> tuple[np.ndarray, ...]:
        """Every measure, in field order."""
        return (self.loudness_db, self.brightness, self.darkness, self.pitch_hz, self.murmur)

    def __getitem__(self, frames: slice) -> FrameMeasures:
        return FrameMeasures(*(column[frames] for column in self.columns()))

    @staticmethod
    def empty() -> FrameMeasures:
        """No frames yet."""
        return FrameMeasures(*(np.zeros(0, np.float32) for _ in range(5)))

    @staticmethod
    def concat(parts: list[FrameMeasures]) -> FrameMeasures:
        """One FrameMeasures of ``parts`` one after another."""
        return FrameMeasures(*(np.concatenate(column) for column in zip(
            *(p.columns() for p in parts), strict=True)))


def analyse_speech(mono: np.ndarray, sample_rate_hz: int, fps: int,
                   n_frames: int | None = None) -> SpeechTrack:
    """Measure ``mono`` (float32 samples) once per video frame."""
    duration_s = len(mono) / sample_rate_hz
    n = n_frames if n_frames is not None else frame_count(duration_s, fps)
    return speech_track(measure_frames(mono, sample_rate_hz, fps, 0, n), fps)


def measure_frames(mono: np.ndarray, sample_rate_hz: int, fps: int, first_frame: int,
                   n_frames: int, *, start_s: float = 0.0) -> FrameMeasures:
    """Measure frames ``first_frame`` .. ``first_frame + n_frames - 1`` of ``mono``,
    whose first sample sounds at ``start_s`` on the frame clock (silence outside it)."""
    window = int(WINDOW_S * sample_rate_hz)
    half = window // 2
    padded = np.pad(mono.astype(np.float32), (half + window, half + window))
    frame_s = (first_frame + np.arange(n_frames)) / fps + LEAD_S - start_s
    centres = (frame_s * sample_rate_hz).astype(np.int64) + window
    centres = np.clip(centres, half, len(padded) - half - 1)
    all_windows = sliding_window_view(padded, window)
    # Per-frame features in blocks, so working memory stays flat for long audio.
    parts = [FrameMeasures(*_frame_features(all_windows[centres[i:i + BLOCK_FRAMES] - half],
                                            sample_rate_hz))
             for i in range(0, n_frames, BLOCK_FRAMES)]
    if not parts:
        return FrameMeasures.empty()
    return FrameMeasures.concat(parts)


def speech_track(measures: FrameMeasures, fps: int, *,
                 levels_db: tuple[float, float] | None = None) -> SpeechTrack:
    """Voice activity, scaled loudness and onsets from per-frame measures.

    Loudness is scaled between the noise floor and the peak: by default the
    clip's own, or ``levels_db`` (floor, peak) when the whole clip is not known yet.
    """
    loudness_db, brightness, darkness = (measures.loudness_db, measures.brightness,
                                         measures.darkness)
    raw_pitch_hz = measures.pitch_hz
    floor_db, peak_db = levels_db if levels_db is not None else loudness_levels(loudness_db)
    # Loud frames are voice. So are periodic frames (vowels, voiced consonants,
    # song) above the floor: that catches dense speech over a background, whose
    # quietest moments are far from silent. A clip with no quiet part at all
    # (a held note, a tone) counts as sound throughout.
    loud_db = max(min(floor_db + 10.0, peak_db - 6.0), peak_db - 35.0, SILENCE_DBFS)
    audible_db = max(min(floor_db + 3.0, peak_db - 6.0), peak_db - 35.0, SILENCE_DBFS)
    audible = loudness_db > audible_db
    periodic = (raw_pitch_hz > 0) & audible
    near_periodic = np.convolve(periodic, np.ones(5))[2:len(periodic) + 2] > 0  # +-2 frames
    voice_activity = (loudness_db > loud_db) | periodic | (near_periodic & audible)
    voice_activity = _fill_short_gaps(voice_activity, max_gap=2)
    span = max(peak_db - audible_db, 6.0)
    loudness = np.clip((loudness_db - audible_db) / span, 0.0, 1.0)
    loudness = np.where(voice_activity, loudness, 0.0)
    pitch_hz = np.where(voice_activity, raw_pitch_hz, 0.0)
    rise = np.diff(loudness, prepend=loudness[:1])
    onset = np.clip(rise / 0.3, 0.0, 1.0)
    return SpeechTrack(
        fps=fps,
        loudness_db=loudness_db.astype(np.float32),
        loudness=loudness.astype(np.float32),
        voice_activity=voice_activity,
        brightness=brightness.astype(np.float32),
        darkness=darkness.astype(np.float32),
        pitch_hz=pitch_hz.astype(np.float32),
        onset=onset.astype(np.float32),
        murmur=measures.murmur.astype(np.float32),
    )


def loudness_levels(loudness_db: np.ndarray) -> tuple[float, float]:
    """(noise floor, peak) in dBFS: the 10th and 98th percentiles of frame levels."""
    if len(loudness_db) == 0:
        return SILENCE_DBFS, SILENCE_DBFS
    return float(np.percentile(loudness_db, 10)), float(np.percentile(loudness_db, 98))


def _frame_features(windows: np.ndarray, sample_rate_hz: int) -> tuple[np.ndarray, ...]:
    """Loudness (dBFS), brightness, darkness, raw pitch and murmur of each window."""
    rms = np.sqrt(np.mean(windows.astype(np.float64) ** 2, axis=1))
    loudness_db = 20 * np.log10(np.maximum(rms, 1e-6))
    window = windows.shape[1]
    spectrum = np.abs(np.fft.rfft(windows * np.hanning(window), axis=1)) ** 2
    freqs = np.fft.rfftfreq(window, 1 / sample_rate_hz)
    total = spectrum[:, freqs > 80].sum(axis=1) + 1e-12
    brightness = spectrum[:, freqs > 2500].sum(axis=1) / total
    darkness = spectrum[:, (freqs > 80) & (freqs < 700)].sum(axis=1) / total
    murmur = spectrum[:, (freqs > 80) & (freqs < 400)].sum(axis=1) / total
    return loudness_db, brightness, darkness, _pitch(windows, sample_rate_hz), murmur


def _pitch(windows: np.ndarray, sample_rate_hz: int, *, low_hz: float = 70.0,
           high_hz: float = 500.0, threshold: float = 0.5) -> np.ndarray:
    """F0 per window by normalised autocorrelation (FFT), 0 where not periodic."""
    n = windows.shape[1]
    centred = windows - windows.mean(axis=1, keepdims=True)
    spectrum = np.fft.rfft(centred, n=2 * n, axis=1)
    autocorr = np.fft.irfft(np.abs(spectrum) ** 2, axis=1)[:, :n]
    # Divide out the shrinking overlap so long lags are not penalised.
    autocorr /= (n - np.arange(n)) / n
    energy = autocorr[:, :1] + 1e-12
    low_lag = int(sample_rate_hz / high_hz)
    high_lag = min(int(sample_rate_hz / low_hz), n // 2)
    band = autocorr[:, low_lag:high_lag] / energy
    rows = np.arange(len(band))
    # Octave errors: take the shortest lag nearly as strong as the strongest,
    # then climb to that peak's top.
    near_best = band >= 0.9 * band.max(axis=1, keepdims=True)
    first = near_best.argmax(axis=1)
    climb = np.minimum(first[:, None] + np.arange(8)[None, :], band.shape[1] - 1)
    best = climb[rows, band[rows[:, None], climb].argmax(axis=1)]
    strength = band[rows, best]
    # Parabolic interpolation around the peak for sub-sample lag.
    left = band[rows, np.maximum(best - 1, 0)]
    right = band[rows, np.minimum(best + 1, band.shape[1] - 1)]
    denom = left - 2 * strength + right
    safe = np.where(np.abs(denom) > 1e-9, denom, 1.0)
    shift = np.where(np.abs(denom) > 1e-9, 0.5 * (left - right) / safe, 0.0)
    lag = low_lag + best + np.clip(shift, -0.5, 0.5)
    return np.where(strength > threshold, sample_rate_hz / lag, 0.0)


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
