"""Where each control point goes in one frame: face expression, then head pose.

All functions are vectorised over the control points; displacements are in
ROI pixels, shape (N, 2).
"""

from __future__ import annotations

import numpy as np

from talkinghead.analysis import landmarks as lm
from talkinghead.analysis.rig import Rig

#: Widest jaw opening (inner-lip gap at loudest) as a share of face height.
MAX_OPEN_SHARE = 0.11
CLOSING_OVERSHOOT = 1.4


def control_positions(rig: Rig, params: dict[str, float]) -> np.ndarray:
    """(N, 2) positions of the control points for one frame's parameters."""
    xyz = rig.control_xyz.copy()
    xyz[: rig.n_face, :2] += _expression(rig, params)
    moved = _rotate_head(xyz, rig.neck_pivot, params)
    return rig.control_xyz[:, :2] + (moved - rig.control_xyz[:, :2]) * rig.head_weight[:, None]


def _expression(rig: Rig, params: dict[str, float]) -> np.ndarray:
    face = rig.face
    xy = rig.control_xyz[: rig.n_face, :2]
    u, v = face.to_local(xy)
    du = np.zeros_like(u)
    dv = np.zeros_like(v)
    _mouth(rig, u, v, du, dv, params)
    for upper, lower, crease, iris in (
        (lm.LEFT_EYE_UPPER, lm.LEFT_EYE_LOWER, lm.LEFT_EYE_CREASE, lm.LEFT_IRIS),
        (lm.RIGHT_EYE_UPPER, lm.RIGHT_EYE_LOWER, lm.RIGHT_EYE_CREASE, lm.RIGHT_IRIS),
    ):
        _blink(u, v, dv, params["blink"], upper, lower, crease, iris)
    return face.to_image(du, dv)


def _mouth(rig: Rig, u: np.ndarray, v: np.ndarray, du: np.ndarray, dv: np.ndarray,
           params: dict[str, float]) -> None:
    face = rig.face
    half_w = face.mouth_half_width_px
    upper_u, upper_v = u[lm.INNER_UPPER_LIP], v[lm.INNER_UPPER_LIP]
    lower_v = v[lm.INNER_LOWER_LIP]
    order = np.argsort(upper_u)
    midline = np.interp(u, upper_u[order], ((upper_v + lower_v) / 2)[order])
    source_gap = np.interp(u, upper_u[order], rig.source_lip_gap_px[order], left=0.0, right=0.0)
    # The mesh's inner-lip points sit a little inside the visible lip edge of an
    # open mouth, so close by more than the measured gap: the lips press together.
    source_gap = np.where(source_gap > 0.5, source_gap * CLOSING_OVERSHOOT + 1.0, 0.0)

    is_lip = np.zeros(len(u), bool)
    is_lip[lm.LIP_POINTS] = True
    upper_lip = is_lip & (v < midline)
    upper_lip[lm.INNER_UPPER_LIP] = True
    lower_lip = is_lip & ~upper_lip
    lower_lip[lm.INNER_LOWER_LIP] = True
    corners = np.isin(np.arange(len(u)), lm.MOUTH_CORNERS)
    upper_lip &= ~corners
    lower_lip &= ~corners

    rounding = params["lip_round"]
    narrowing = 1.0 - 0.25 * rounding
    across = np.clip(np.abs(u) / (half_w * narrowing), 0.0, 1.0)
    opening_profile = np.sqrt(1.0 - across**2)  # elliptical mouth opening
    open_px = params["jaw_open"] * MAX_OPEN_SHARE * face.height_px

    # The jaw: everything below the mouth moves down, less towards the jaw's sides.
    face_half_w = 2.4 * half_w
    lateral = 0.25 + 0.75 * np.cos(np.clip(np.abs(u) / face_half_w, 0, 1) * np.pi / 2) ** 2
    below = np.clip((v - midline) / (0.08 * face.height_px), 0.0, 1.0)
    jaw = np.where(lower_lip, opening_profile, lateral * below * (~upper_lip))
    jaw[corners] = 0.3

    # First close whatever opening the source has, then open to the target.
    dv += np.where(upper_lip, source_gap / 2, 0.0)
    dv -= np.where(lower_lip | (jaw > 0), source_gap / 2 * np.minimum(jaw * 2, 1.0), 0.0)
    dv += jaw * open_px
    dv -= np.where(upper_lip, 0.12 * open_px * opening_profile, 0.0)

    # Lip shape: rounding pulls the lips towards the centre, spreading pushes out.
    mouth_zone = is_lip | (np.abs(v - midline) < 0.12 * face.height_px) & (np.abs(u) < 1.6 * half_w)
    zone_weight = np.where(is_lip, 1.0, np.clip(1.6 - np.abs(u) / half_w, 0, 1) * 0.6) * mouth_zone
    spread = params["lip_spread"]
    du += u * (-0.22 * rounding + 0.08 * spread) * zone_weight
    dv -= np.where(corners, spread * 0.015 * face.height_px, 0.0)


def _blink(u: np.ndarray, v: np.ndarray, dv: np.ndarray, closure: float, upper: np.ndarray,
           lower: np.ndarray, crease: np.ndarray, iris: np.ndarray) -> None:
    """Bring the upper lid down to the lower lid, squeezing the eye between them."""
    if closure <= 0:
        return
    order = np.argsort(u[lower])
    lower_line = np.interp(u, u[lower][order], v[lower][order])
    inside = np.concatenate([upper[1:-1], iris])
    dv[inside] += closure * (lower_line[inside] - v[inside])
    dv[crease] += 0.45 * closure * (lower_line[crease] - v[crease]) * 0.5


def _rotate_head(xyz: np.ndarray, pivot: np.ndarray, params: dict[str, float]) -> np.ndarray:
    """Rotate about the neck pivot (x right, y down, z away) and project orthographically."""
    yaw, pitch, roll = np.radians([params["yaw_deg"], params["pitch_deg"], params["roll_deg"]])
    cy, sy, cp, sp, cr, sr = np.cos(yaw), np.sin(yaw), np.cos(pitch), np.sin(pitch), np.cos(
        roll), np.sin(roll)
    r_yaw = np.array([[cy, 0, sy], [0, 1, 0], [-sy, 0, cy]])
    r_pitch = np.array([[1, 0, 0], [0, cp, -sp], [0, sp, cp]])
    r_roll = np.array([[cr, -sr, 0], [sr, cr, 0], [0, 0, 1]])
    rotated = (xyz - pivot) @ (r_roll @ r_pitch @ r_yaw).T + pivot
    return rotated[:, :2]
