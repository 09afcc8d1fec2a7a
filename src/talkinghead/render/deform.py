"""Where each control point goes in one frame: face expression, then head pose.

All functions are vectorised over the control points; displacements are in
ROI pixels. Expression works in the face's own axes (u across, v down, origin
at the mouth), so a tilted source face opens its jaw along its own chin line.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from talkinghead.analysis import landmarks as lm
from talkinghead.analysis.rig import Rig

#: Widest jaw opening (inner-lip gap at loudest) as a share of face height.
MAX_OPEN_SHARE = 0.11
BREATH_SHARE = 0.008  # shoulder rise at a full breath, share of the visible torso
SHRUG_SHARE = 0.06  # shoulder (and head) rise at a full shrug, share of face height
LEAN_GROWTH = 0.012  # a full lean towards the camera grows the upper body this much
WEIGHT_SHIFT_SHARE = 0.012  # sideways shift at a full weight shift, share of the torso
UPPER_TEETH_SHARE = 0.022  # visible height of the upper teeth below the rest lip line
ROOM_SHARE = 0.6  # a point may move down at most this share of its room to the ROI's edge
GIVE_BACK_JAW_OPEN = 0.1  # by this jaw opening, closed lips no longer overlap


@dataclass(frozen=True)
class FacePose:
    """One frame's geometry: control points, and the upper teeth's edge (ROI pixels)."""

    positions: np.ndarray  # (N, 2)
    upper_teeth_edge: np.ndarray  # (len(INNER_UPPER_LIP), 2)


def pose_face(rig: Rig, params: dict[str, float]) -> FacePose:
    """Positions of all control points, and where the (skull-fixed) upper teeth end."""
    xyz = rig.control_xyz.copy()
    du, dv, closed_upper_v = _expression(rig, params)
    carry = rig.outline_carry
    # Near the ROI's lower edge (which stays put) a dropping chin and the skin
    # under it move only part of the way down, or they would fold over the edge.
    room = ROOM_SHARE * carry.room_below_px
    dv = np.minimum(dv, room[: rig.n_face])
    xyz[: rig.n_face, :2] += rig.face.to_image(du, dv)
    ring_shift = rig.face.to_image(
        du[carry.face_point] * carry.share,
        np.minimum(dv[carry.face_point] * carry.share, room[rig.n_face:]))
    xyz[carry.ringed, :2] += ring_shift
    # The upper teeth hang from the skull: the closed lip line, a little lower.
    face_xy = rig.control_xyz[lm.INNER_UPPER_LIP, :2]
    _, v = rig.face.to_local(face_xy)
    teeth_dv = closed_upper_v - v + UPPER_TEETH_SHARE * rig.face.height_px
    teeth = np.column_stack([face_xy + rig.face.to_image(np.zeros_like(v), teeth_dv),
                             rig.control_xyz[lm.INNER_UPPER_LIP, 2]])
    moved = _move_head(np.vstack([xyz, teeth]), rig, params)
    n = len(xyz)
    weight = rig.head_weight[:, None]
    positions = rig.control_xyz[:, :2] + (moved[:n] - rig.control_xyz[:, :2]) * weight
    # The rings follow the head only in part, but the expression they carry in full.
    positions[carry.ringed] += ring_shift * (1.0 - weight[carry.ringed])
    # The body breathes and sways under everything, carrying the head with it.
    positions = positions + _move_body(positions, rig, params) * rig.body_weight[:, None]
    teeth_edge = moved[n:] + _move_body(moved[n:], rig, params)
    return FacePose(positions=positions, upper_teeth_edge=teeth_edge)


def _expression(rig: Rig, params: dict[str, float]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Local (du, dv) of the face points, and the closed upper-lip line's v."""
    u, v = rig.mouth_zones.u, rig.mouth_zones.v  # the source points never move: made once
    du = np.zeros_like(u)
    dv = np.zeros_like(v)
    closed_upper_v = _mouth(rig, u, v, du, dv, params)
    _brows(rig, u, v, du, dv, params["brow_raise"])
    for upper, lower, crease, iris in (
        (lm.LEFT_EYE_UPPER, lm.LEFT_EYE_LOWER, lm.LEFT_EYE_CREASE, lm.LEFT_IRIS),
        (lm.RIGHT_EYE_UPPER, lm.RIGHT_EYE_LOWER, lm.RIGHT_EYE_CREASE, lm.RIGHT_IRIS),
    ):
        _eye(u, v, du, dv, params, upper, lower, crease, iris)
    return du, dv, closed_upper_v


def _mouth(rig: Rig, u: np.ndarray, v: np.ndarray, du: np.ndarray, dv: np.ndarray,
           params: dict[str, float]) -> np.ndarray:
    face = rig.face
    height = face.height_px
    half_w = face.mouth_half_width_px
    # Which points are lips, above or below the mouth, depends on the portrait
    # only: the Rig classified them once (analysis.rig._mouth_zones).
    zones = rig.mouth_zones
    upper_v = v[lm.INNER_UPPER_LIP]
    midline, source_gap = zones.midline, zones.source_gap
    is_lip, upper_lip, lower_lip, corners = (zones.lip, zones.upper_lip, zones.lower_lip,
                                             zones.corners)

    rounding, spread, smile = params["lip_round"], params["lip_spread"], params["smile"]
    press, raise_ = params["lip_press"], params["upper_lip_raise"]
    narrowing = 1.0 - 0.25 * rounding
    across = np.clip(np.abs(u) / (half_w * narrowing), 0.0, 1.0)
    profile = np.sqrt(1.0 - across**2)  # elliptical mouth opening
    open_px = params["jaw_open"] * MAX_OPEN_SHARE * height

    # The jaw: everything below the mouth moves down, less towards the jaw's sides.
    lateral = 0.25 + 0.75 * np.cos(np.clip(np.abs(u) / (2.4 * half_w), 0, 1) * np.pi / 2) ** 2
    below = np.clip((v - midline) / (0.08 * height), 0.0, 1.0)
    jaw = np.where(lower_lip, profile, lateral * below * (~upper_lip))
    jaw[corners] = 0.3

    # Close whatever opening the source has (the lips meet midway) ...
    closing_upper = np.where(upper_lip, source_gap / 2, 0.0)
    dv += closing_upper
    dv -= np.where(lower_lip | (jaw > 0), source_gap / 2 * np.minimum(jaw * 2, 1.0), 0.0)
    closed_upper_v = upper_v + closing_upper[lm.INNER_UPPER_LIP]
    # ... then open to the target; the upper lip lifts a little with the jaw.
    dv += jaw * open_px
    # Closed, such lips overlap (``zones.overlap``); opening, they first give that
    # back, or a small opening stays shut (a jaw a quarter open showed no gap).
    # Lips pressing together (an m, b or p) keep it.
    give_back = min(params["jaw_open"] / GIVE_BACK_JAW_OPEN, 1.0) * (1.0 - min(press, 1.0))
    dv += np.where(lower_lip | (jaw > 0), zones.overlap * np.minimum(jaw * 2, 1.0), 0.0) * give_back
    dv -= np.where(upper_lip, (0.12 * open_px + raise_ * 0.03 * height) * profile, 0.0)
    # Pressed lips flatten against each other.
    dv += np.where(upper_lip & ~zones.inner_upper, press * 0.008 * height, 0.0)
    dv -= np.where(lower_lip & ~zones.inner_lower, press * 0.008 * height, 0.0)

    # Lip shape: rounding pulls towards the centre; spreading and smiling pull out
    # (smiling also lifts the corners and the cheeks above them).
    zone = np.where(is_lip, 1.0, np.clip(1.6 - np.abs(u) / half_w, 0, 1) * 0.6) * (
        is_lip | zones.near_mouth)
    du += u * (-0.22 * rounding + 0.08 * spread + 0.1 * smile) * zone
    sideways = np.clip(np.abs(u) / half_w, 0.0, 1.0) ** 2 * zone
    dv -= sideways * (0.015 * spread + 0.04 * smile) * height
    dv -= np.where(zones.cheeks, smile * 0.015 * height, 0.0)
    return closed_upper_v


def _brows(rig: Rig, u: np.ndarray, v: np.ndarray, du: np.ndarray, dv: np.ndarray,
           raise_: float) -> None:
    """Brows lift (or knit down and in), carrying the forehead less and the lids not at all."""
    if raise_ == 0:
        return
    height = rig.face.height_px
    brows = np.concatenate([lm.LEFT_BROW, lm.RIGHT_BROW])
    brow_v = float(v[brows].mean())
    eye_v = float(v[np.concatenate([lm.LEFT_EYE_UPPER, lm.RIGHT_EYE_UPPER])].mean())
    below = np.clip((v - brow_v) / max(eye_v - brow_v, 1.0), 0.0, 1.0)  # 0 at brow, 1 at eye
    above = np.clip((brow_v - v) / (0.3 * height), 0.0, 1.0)  # 0 at brow, 1 high on forehead
    weight = np.where(v > brow_v, 1.0 - below, 1.0 - 0.65 * above)
    weight[v > eye_v] = 0.0
    dv -= raise_ * 0.03 * height * weight
    if raise_ < 0:  # knitting brows also draws them together
        du -= np.sign(u) * (-raise_) * 0.012 * height * weight


def _eye(u: np.ndarray, v: np.ndarray, du: np.ndarray, dv: np.ndarray, params: dict[str, float],
         upper: np.ndarray, lower: np.ndarray, crease: np.ndarray, iris: np.ndarray) -> None:
    """Gaze moves the iris; a blink brings the upper lid down to the lower lid."""
    width = float(np.ptp(u[upper]))
    opening = float(np.max(v[lower]) - np.min(v[upper]))
    du[iris] += params["gaze_x"] * width
    dv[iris] += params["gaze_y"] * opening
    # A smile's cheeks push the lower lid up a little.
    dv[lower[1:-1]] -= params["smile"] * 0.12 * opening
    closure = params["blink"]
    if closure <= 0:
        return
    order = np.argsort(u[lower])
    lower_line = np.interp(u, u[lower][order], (v + dv)[lower][order])
    lid = upper[1:-1]
    dv[lid] += closure * (lower_line[lid] - (v + dv)[lid])
    # The lid slides over the iris rather than squashing it: iris points stay
    # put until the lid edge reaches them, then ride just under it.
    order = np.argsort(u[upper])
    lid_line = np.interp(u, u[upper][order], (v + dv)[upper][order])
    dv[iris] += np.maximum(lid_line[iris] - (v + dv)[iris], 0.0)
    # The skin above follows evenly (an uneven pull dents the brow), which also
    # spreads the stretch over more skin.
    dv[crease] += 0.3 * closure * float(np.mean(lower_line[lid] - v[lid]))


def _move_body(xy: np.ndarray, rig: Rig, params: dict[str, float]) -> np.ndarray:
    """Displacement of ``xy`` by the body's motion about its base: breathing and
    shrugs lift (straight up), sway leans, a lean towards the camera grows the
    upper body a little, and a weight shift carries it sideways."""
    torso = max(rig.body.torso_px, 0.5 * rig.face.height_px)
    rise = (params["breath"] * BREATH_SHARE * torso
            + params["shrug"] * SHRUG_SHARE * rig.face.height_px)
    angle = np.radians(params["sway_deg"])
    grow = 1.0 + LEAN_GROWTH * params["lean"]
    rel = xy - rig.body.anchor
    cos, sin = np.cos(angle) * grow, np.sin(angle) * grow
    leaned = np.column_stack([rel[:, 0] * cos - rel[:, 1] * sin, rel[:, 0] * sin + rel[:, 1] * cos])
    return leaned - rel + np.array([params["weight_shift"] * WEIGHT_SHIFT_SHARE * torso, -rise])


def _move_head(xyz: np.ndarray, rig: Rig, params: dict[str, float]) -> np.ndarray:
    """Rotate about the neck pivot (x right, y down, z away), project, and shift.

    The turn (yaw) comes first. A turned surface hides part of itself (the far
    cheek's edge goes behind the cheek), which a warp cannot show, so within
    each row band of control points the turned x keeps its left-to-right order:
    hidden points collapse onto the silhouette in front of them. Points past the
    control points (the teeth line) are turned without that.
    """
    yaw, pitch, roll = np.radians([params["yaw_deg"], params["pitch_deg"], params["roll_deg"]])
    cy, sy, cp, sp = np.cos(yaw), np.sin(yaw), np.cos(pitch), np.sin(pitch)
    cr, sr = np.cos(roll), np.sin(roll)
    r_yaw = np.array([[cy, 0, sy], [0, 1, 0], [-sy, 0, cy]])
    r_pitch = np.array([[1, 0, 0], [0, cp, -sp], [0, sp, cp]])
    r_roll = np.array([[cr, -sr, 0], [sr, cr, 0], [0, 0, 1]])
    pivot = rig.neck_pivot
    turned = (xyz - pivot) @ r_yaw.T
    if yaw != 0:
        turned[rig.turn_order, 0] = _keep_row_order(turned[rig.turn_order, 0], rig.turn_band,
                                                    nearer_goes_left=yaw > 0)
    rotated = turned @ (r_roll @ r_pitch).T + pivot
    shift = np.array([params["shift_x"], params["shift_y"]]) * rig.face.height_px
    return rotated[:, :2] + shift


def _keep_row_order(x: np.ndarray, band: np.ndarray, *, nearer_goes_left: bool) -> np.ndarray:
    """Make ``x`` (sorted by band, then source x) non-decreasing within each band.

    Turning left (yaw > 0) the near surface moves left over what lies left of
    it, so each point is pulled left to the least x to its right; turning right
    each point is pushed right to the greatest x to its left.
    """
    offset = band * 1e7  # bands never mix: each lies in its own range
    if nearer_goes_left:
        return np.minimum.accumulate((x + offset)[::-1])[::-1] - offset
    return np.maximum.accumulate(x + offset) - offset
