"""Lip sync: mouth opening seen in the frames against what the audio says.

Mouth opening is measured on the decoded frames' landmarks, in units of the
distance between the outer eye corners (so it does not depend on image size).
The loudness envelope is computed here, not taken from the generator, so the
measurement does not move when the generator's own timing is tuned.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from talkinghead.analysis import landmarks as lm

#: Lips count as closed below this opening (share of the eye-corner distance).
CLOSED_OPENING = 0.04
#: Silences at least this long are checked for a closed mouth ...
MIN_SILENCE_S = 0.2
#: ... leaving out this much at each end, where lips are still closing or opening.
SILENCE_EDGE_S = 0.08
MAX_LAG_FRAMES = 10
#: Below this spread (share of the eye-corner distance, about 0.2 px on a
#: 512 px portrait) the mouth is still: what varies is compression noise, and
#: its correlation with the sound means nothing, so r is reported as 0.
STILL_OPENING_STD = 0.002
ENVELOPE_WINDOW_S = 0.04
ENVELOPE_RANGE_DB = 40.0
#: Sound counts as speech within 30 dB of the clip's loud parts (envelope
#: 0.25): the report's own measure, not the generator's voice-activity detector,
#: so "closed in silence" cannot pass because both share a mistake.
SPEECH_ENVELOPE = 0.25
EYE_CORNERS = (33, 263)
#: The middle columns of the inner-lip contours (of 11, corner to corner).
_MIDDLE = slice(3, 8)


@dataclass(frozen=True)
class LipSync:
    """Lip-sync figures of one video.

    r_lag0: Pearson r of opening and loudness at the same frame (0 when the
        mouth is still, see STILL_OPENING_STD).
    best_lag_frames: lag with the highest r within +-MAX_LAG_FRAMES; positive
        means the mouth moves after the sound.
    closed_in_silence: share of silent frames (silences >= 200 ms) with closed
        lips; None when the clip has no such silence.
    opening_std: standard deviation of the opening (near 0: the mouth never moves).
    snaps_per_s: how often, per second of speech, the lips shut for a single frame
        between open ones (see snaps_per_s); real lips do not.
    """

    r_lag0: float
    best_lag_frames: int
    best_lag_ms: float
    r_best: float
    closed_in_silence: float | None
    silent_frames: int
    opening_mean: float
    opening_std: float
    snaps_per_s: float


def mouth_opening(points: np.ndarray) -> np.ndarray:
    """Inner-lip gap per frame from (n, 478, 2+) landmarks; NaN where no face."""
    upper = points[:, lm.INNER_UPPER_LIP[_MIDDLE], :2]
    lower = points[:, lm.INNER_LOWER_LIP[_MIDDLE], :2]
    gap = np.linalg.norm(lower - upper, axis=2).mean(axis=1)
    return gap / eye_distance(points)


def eye_distance(points: np.ndarray) -> np.ndarray:
    """Outer eye-corner distance per frame, the face's scale in pixels."""
    left, right = EYE_CORNERS
    return np.linalg.norm(points[:, right, :2] - points[:, left, :2], axis=1)


def loudness_envelope(mono: np.ndarray, sample_rate_hz: int, fps: float,
                      n_frames: int) -> np.ndarray:
    """Loudness at each frame's time (RMS over 40 ms, in dB, mapped to 0..1).

    0 is 40 dB or more below the clip's loud parts (98th percentile), 1 is at them.
    """
    window = max(int(ENVELOPE_WINDOW_S * sample_rate_hz), 2)
    half = window // 2
    padded = np.pad(mono.astype(np.float32), (window, window))
    centres = (np.arange(n_frames) / fps * sample_rate_hz).astype(np.int64) + window
    centres = np.clip(centres, half, len(padded) - half - 1)
    frames = sliding_window_view(padded, window)[centres - half]
    db = 20 * np.log10(np.maximum(np.sqrt(np.mean(frames.astype(np.float64) ** 2, axis=1)),
                                  1e-6))
    peak = float(np.percentile(db, 98))
    return np.clip((db - (peak - ENVELOPE_RANGE_DB)) / ENVELOPE_RANGE_DB, 0.0, 1.0)


def pearson(a: np.ndarray, b: np.ndarray) -> float:
    """Pearson r over frames where both are finite; 0 when either is flat."""
    ok = np.isfinite(a) & np.isfinite(b)
    if ok.sum() < 3:
        return 0.0
    x, y = a[ok] - a[ok].mean(), b[ok] - b[ok].mean()
    norm = np.sqrt(np.sum(x * x) * np.sum(y * y))
    return float(np.sum(x * y) / norm) if norm > 1e-12 else 0.0


def lagged_correlation(opening: np.ndarray, envelope: np.ndarray,
                       max_lag: int = MAX_LAG_FRAMES) -> tuple[np.ndarray, np.ndarray]:
    """(lags, r): r of opening[t] with envelope[t - lag] for lag in -max_lag..max_lag."""
    n = len(opening)
    lags = np.arange(-max_lag, max_lag + 1)
    r = np.array([
        pearson(opening[lag:], envelope[: n - lag]) if lag >= 0
        else pearson(opening[:lag], envelope[-lag:])
        for lag in lags
    ])
    return lags, r


def speech_from_envelope(envelope: np.ndarray) -> np.ndarray:
    """Frames with sound (see SPEECH_ENVELOPE), from ``loudness_envelope``."""
    return envelope > SPEECH_ENVELOPE


def speech_from_truth(spans: list[tuple[str, float, float]], fps: float,
                      n_frames: int) -> np.ndarray:
    """Frames during any phoneme of a truth file's (label, start_s, end_s) spans."""
    t = np.arange(n_frames) / fps
    active = np.zeros(n_frames, bool)
    for _, start, end in spans:  # one step per phoneme
        active |= (t >= start) & (t < end)
    return active


def read_truth(text: str) -> list[tuple[str, float, float]]:
    """Phoneme times from a truth file: one phoneme a line, its start and end in
    seconds and its label in any order (``0.20 0.27 b`` or ``b\t0.20\t0.27``);
    ``#`` comments, blank lines and pause labels (``_``, ``sil``, ``SIL``) skipped."""
    spans = []
    for number, line in enumerate(text.splitlines(), 1):
        fields = line.split("#", 1)[0].split()
        if not fields:
            continue
        times, label = [], []
        for field in fields:
            try:
                times.append(float(field))
            except ValueError:
                label.append(field)
        if len(times) != 2 or times[1] < times[0]:
            raise ValueError(f"line {number}: expected a start, an end and a label")
        name = " ".join(label)
        if name.lower() not in {"", "_", "sil", "sp", "pau"}:
            spans.append((name, times[0], times[1]))
    return spans


def silent_frames(voice_activity: np.ndarray, fps: float) -> np.ndarray:
    """Frames inside silences of at least MIN_SILENCE_S, less SILENCE_EDGE_S at each end."""
    inactive = ~voice_activity.astype(bool)
    edges = np.diff(np.concatenate([[0], inactive.astype(np.int8), [0]]))
    starts, stops = np.flatnonzero(edges == 1), np.flatnonzero(edges == -1)
    keep = np.zeros(len(inactive), bool)
    edge = int(round(SILENCE_EDGE_S * fps))
    for start, stop in zip(starts, stops, strict=True):
        if (stop - start) / fps >= MIN_SILENCE_S:
            # The clip's own start and end need no time for the lips to move.
            lo = start if start == 0 else start + edge
            hi = stop if stop == len(inactive) else stop - edge
            keep[lo : max(hi, lo)] = True
    return keep


#: A snap: a frame lower than both its neighbours by this share of the clip's wide
#: opening (its 95th percentile over speech).
SNAP_SHARE = 0.4


def snaps_per_s(opening: np.ndarray, speaking: np.ndarray, fps: float) -> float:
    """One-frame dips per second of speech: the mouth shut for a single frame between
    open ones (``opening`` in any unit, NaN where no face; ``speaking`` per frame).

    Lips take a frame or two to meet and to part; eleven real speakers' lips read
    0 by this measure (``benchmarks/lips_from_sound.py --footage``).
    """
    n = min(len(opening), len(speaking))
    opening, speaking = np.asarray(opening[:n], np.float64), np.asarray(speaking[:n], bool)
    voiced = opening[speaking & np.isfinite(opening)]
    if n < 3 or not len(voiced):
        return 0.0
    wide = float(np.percentile(voiced, 95))
    middle, sides = opening[1:-1], np.fmin(opening[:-2], opening[2:])
    with np.errstate(invalid="ignore"):
        snaps = speaking[1:-1] & (sides - middle > SNAP_SHARE * wide)
    return float(snaps.sum() / int(speaking.sum()) * fps)


def measure_lipsync(opening: np.ndarray, envelope: np.ndarray, voice_activity: np.ndarray,
                    fps: float) -> LipSync:
    """All lip-sync figures from per-frame opening, loudness and voice activity."""
    lags, r = lagged_correlation(opening, envelope)
    still = not np.isfinite(opening).any() or float(np.nanstd(opening)) < STILL_OPENING_STD
    if still:
        r = np.zeros_like(r)
    best = int(np.argmax(r)) if not still else int(np.flatnonzero(lags == 0)[0])
    silent = silent_frames(voice_activity, fps) & np.isfinite(opening)
    closed = float(np.mean(opening[silent] < CLOSED_OPENING)) if silent.any() else None
    return LipSync(
        r_lag0=float(r[lags == 0][0]), best_lag_frames=int(lags[best]),
        best_lag_ms=float(lags[best] * 1000.0 / fps), r_best=float(r[best]),
        closed_in_silence=closed, silent_frames=int(silent.sum()),
        opening_mean=float(np.nanmean(opening)) if np.isfinite(opening).any() else 0.0,
        opening_std=float(np.nanstd(opening)) if np.isfinite(opening).any() else 0.0,
        snaps_per_s=snaps_per_s(opening, voice_activity, fps),
    )
