"""Head pose, landmark jitter and blinks, from the frames' face-mesh points.

Angles follow the renderer's convention (x right, y down, z away from the
camera; rotation = roll @ pitch @ yaw; positive pitch nods the chin down)
and are relative to the source portrait's pose.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.ndimage import gaussian_filter1d
from scipy.signal import find_peaks

from talkinghead.analysis import landmarks as lm
from talkinghead.quality.lipsync import eye_distance

#: Percentiles of the robust pose range: a few wrong or missing frames do not widen it.
RANGE_PERCENTILES = (5.0, 95.0)
#: Jitter is what a Gaussian of this many frames does not explain.
JITTER_SIGMA_FRAMES = 1.5
#: A blink: a dip in eye openness at least this share of the clip's median
#: openness deep, lasting under MAX_BLINK_S. The face mesh follows lids only part
#: of the way (a lid shut in a rendered frame reads as about 70% open), so the
#: dip asked for is shallow; frame-to-frame noise is about 3%.
BLINK_DEPTH = 0.15
MAX_BLINK_S = 0.6


@dataclass(frozen=True)
class Motion:
    """Head pose ranges (max - min, and 5th to 95th percentile) and standard
    deviations in degrees, over the frames with a face; jitter in % of the
    eye-corner distance; blinks counted from eye openness."""

    yaw_range_deg: float
    pitch_range_deg: float
    roll_range_deg: float
    yaw_p5_p95_deg: float
    pitch_p5_p95_deg: float
    roll_p5_p95_deg: float
    yaw_std_deg: float
    pitch_std_deg: float
    roll_std_deg: float
    jitter_pct: float
    blinks: int
    blinks_per_min: float


def rigid_points(reference: np.ndarray) -> np.ndarray:
    """Indices of upper-face points that move only with the head: forehead, temples,
    nose. Eyes, lids and brows (within 0.4 eye-corner distances of an eye) are left out."""
    xy = reference[:, :2]
    scale = eye_distance(reference[None])[0]
    eyes = [xy[lm.LEFT_EYE_UPPER].mean(0), xy[lm.RIGHT_EYE_UPPER].mean(0)]
    far = np.all([np.linalg.norm(xy - eye, axis=1) > 0.4 * scale for eye in eyes], axis=0)
    upper = xy[:, 1] <= xy[lm.NOSE_TIP, 1] + 0.05 * scale
    keep = far & upper
    keep[468:] = False  # irises
    return np.flatnonzero(keep)


def rotation_to(reference: np.ndarray, points: np.ndarray) -> np.ndarray:
    """The 3x3 rotation that best maps ``reference`` (k, 3) onto ``points`` (k, 3)
    up to scale and shift (Kabsch with the reflection removed)."""
    a = reference - reference.mean(axis=0)
    b = points - points.mean(axis=0)
    u, _, vt = np.linalg.svd(b.T @ a)
    sign = np.sign(np.linalg.det(u @ vt))
    return u @ np.diag([1.0, 1.0, sign]) @ vt


def euler_angles(rotation: np.ndarray) -> tuple[float, float, float]:
    """(yaw, pitch, roll) in degrees of ``rotation`` = roll @ pitch @ yaw."""
    pitch = np.arcsin(np.clip(rotation[2, 1], -1.0, 1.0))
    yaw = np.arctan2(-rotation[2, 0], rotation[2, 2])
    roll = np.arctan2(-rotation[0, 1], rotation[1, 1])
    return float(np.degrees(yaw)), float(np.degrees(pitch)), float(np.degrees(roll))


def head_angles(points: np.ndarray, reference: np.ndarray) -> np.ndarray:
    """(n, 3) yaw, pitch, roll per frame relative to ``reference``; NaN without a face."""
    rigid = rigid_points(reference)
    angles = np.full((len(points), 3), np.nan)
    for idx, frame in enumerate(points):
        if np.isfinite(frame[0, 0]):
            angles[idx] = euler_angles(rotation_to(reference[rigid, :3], frame[rigid, :3]))
    return angles


def jitter_pct(points: np.ndarray, reference: np.ndarray) -> float:
    """RMS high-frequency residual of the rigid points, in % of the eye-corner distance."""
    ok = np.isfinite(points[:, 0, 0])
    if ok.sum() < 5:
        return 0.0
    rigid = points[ok][:, rigid_points(reference), :2].astype(np.float64)
    scale = np.median(eye_distance(points[ok]))
    residual = rigid - gaussian_filter1d(rigid, JITTER_SIGMA_FRAMES, axis=0, mode="nearest")
    return float(np.sqrt(np.mean(residual**2)) / scale * 100.0)


def eye_openness(points: np.ndarray) -> np.ndarray:
    """Lid gap over eye width per frame, both eyes averaged; NaN without a face."""
    values = []
    for upper, lower in ((lm.LEFT_EYE_UPPER, lm.LEFT_EYE_LOWER),
                         (lm.RIGHT_EYE_UPPER, lm.RIGHT_EYE_LOWER)):
        gap = np.linalg.norm(points[:, upper[3:6], :2] - points[:, lower[3:6], :2], axis=2)
        width = np.linalg.norm(points[:, upper[0], :2] - points[:, upper[-1], :2], axis=1)
        values.append(gap.mean(axis=1) / width)
    return (values[0] + values[1]) / 2


def blink_frames(openness: np.ndarray, fps: float) -> np.ndarray:
    """Frame indices of the deepest point of each blink (see BLINK_DEPTH)."""
    ok = np.isfinite(openness)
    if ok.sum() < 3:
        return np.array([], dtype=int)
    median = float(np.median(openness[ok]))
    filled = np.where(ok, openness, median)
    dips, _ = find_peaks(-filled, prominence=BLINK_DEPTH * median,
                         width=(None, max(MAX_BLINK_S * fps, 1.0)), wlen=int(2 * fps) | 1)
    return dips


def percentile_range(values: np.ndarray, percentiles: tuple[float, float] = RANGE_PERCENTILES
                     ) -> np.ndarray:
    """Per column of (n, k) ``values``: the spread between two percentiles, NaN rows
    left out; zeros when no row is finite."""
    ok = np.isfinite(values).all(axis=1)
    if not ok.any():
        return np.zeros(values.shape[1])
    low, high = np.percentile(values[ok], percentiles, axis=0)
    return high - low


def measure_motion(points: np.ndarray, reference: np.ndarray, fps: float) -> Motion:
    """All motion figures from (n, 478, 3) points (NaN rows: no face)."""
    angles = head_angles(points, reference)
    ok = np.isfinite(angles[:, 0])
    rng = np.ptp(angles[ok], axis=0) if ok.any() else np.zeros(3)
    robust = percentile_range(angles)
    std = angles[ok].std(axis=0) if ok.any() else np.zeros(3)
    blinks = len(blink_frames(eye_openness(points), fps))
    minutes = len(points) / fps / 60.0
    return Motion(
        yaw_range_deg=float(rng[0]), pitch_range_deg=float(rng[1]), roll_range_deg=float(rng[2]),
        yaw_p5_p95_deg=float(robust[0]), pitch_p5_p95_deg=float(robust[1]),
        roll_p5_p95_deg=float(robust[2]),
        yaw_std_deg=float(std[0]), pitch_std_deg=float(std[1]), roll_std_deg=float(std[2]),
        jitter_pct=jitter_pct(points, reference), blinks=blinks,
        blinks_per_min=blinks / minutes if minutes > 0 else 0.0,
    )
