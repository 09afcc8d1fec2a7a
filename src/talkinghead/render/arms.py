"""Arms per frame: rigid upper arm, forearm and hand, blended at the joints.

Each part turns about its joint (shoulder, elbow, wrist) in the image plane,
carried by the part above it (linear blend skinning with the weights of
``analysis.arms``). The arm layer then rides on the body's own motion
(breathing, sway), so arms stay attached to shoulders that move.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from talkinghead.analysis.arms import HOLE_MARGIN_PX, Arm, ArmLayer
from talkinghead.analysis.rig import PersonLayers
from talkinghead.render.warp import at_block_centres, invert_coarse, upsample_map, warp


@dataclass(frozen=True)
class ArmMotion:
    """One frame's arm motion on the layer's coarse grid (every ``layer.step`` pixels
    of its box): the backward map in ROI pixels, and how far each photographed pixel
    of the arms moved (``moved_px``)."""

    map_x: np.ndarray
    map_y: np.ndarray
    moved_px: np.ndarray


def arm_map(layer: ArmLayer, params: dict[str, float]) -> ArmMotion | None:
    """How the arm layer moves in this frame; None when the arms are still."""
    angles = [[params[f"{arm.side}_{part}_deg"] for part in ("upper", "fore", "hand")]
              for arm in layer.arms]
    if layer.clasped:  # hands held together move together: both arms' gestures, or
        # three quarters of one arm's (a one-handed beat still lifts joined hands)
        both, one = np.mean(angles, axis=0), 0.75 * np.array(max(angles, key=lambda a: abs(a[1])))
        angles = [list(both if abs(both[1]) >= abs(one[1]) else one)] * len(angles)
    if not np.any(angles):
        return None
    x0, y0, x1, y1 = layer.box
    gh, gw = layer.weights.shape[2:]
    step = layer.step
    gx = x0 + (np.arange(gw) + 0.5) * step - 0.5
    gy = y0 + (np.arange(gh) + 0.5) * step - 0.5
    points = np.stack(np.meshgrid(gx, gy), axis=-1).reshape(-1, 2)
    field = np.zeros_like(points)
    for arm, lifts, weights in zip(layer.arms, angles, layer.weights, strict=True):
        for moved, weight in zip(_part_positions(arm, lifts, points, layer.centre_x), weights,
                                 strict=True):
            field += (moved - points) * weight.reshape(-1, 1)
    field = field.reshape(gh, gw, 2).astype(np.float32)
    map_x, map_y = invert_coarse(field, step)
    return ArmMotion(map_x + x0, map_y + y0, np.hypot(field[..., 0], field[..., 1]))


#: The photo under an arm shows as photographed until the arm has moved this many
#: pixels off it, then as painted out (``analysis.arms.remove_arms``).
UNCOVER_RAMP_PX = 3.0


def uncovered_layer(layers: PersonLayers, layer: ArmLayer, motion: ArmMotion) -> np.ndarray:
    """The RGBA person layer to warp under moving arms: painted out only where an arm
    moved away, the photo as it is where the arm stays (an upper arm that barely
    turns, a sleeve wider than its capsule), so no painted-out edge shows there."""
    x0, y0, x1, y1 = layer.box
    # On the motion's coarse grid: only the arms' own pixels count (the field carries
    # the whole box), and the painted-out margin round them goes with them (their
    # soft edge has their colour).
    cells = max(1, round(HOLE_MARGIN_PX / layer.step)) | 1
    moved = cv2.dilate(np.where(layer.grid_mask, motion.moved_px, np.float32(0.0)),
                       np.ones((cells, cells), np.uint8))
    uncovered = cv2.resize(np.clip(moved / UNCOVER_RAMP_PX, 0.0, 1.0).astype(np.float32),
                           (x1 - x0, y1 - y0), interpolation=cv2.INTER_LINEAR)
    person = layers.rest.copy()
    rows, cols = np.nonzero(uncovered.max(axis=1) > 0)[0], np.nonzero(uncovered.max(axis=0) > 0)[0]
    if len(rows):  # blend only where some arm moved
        part = (slice(rows[0], rows[-1] + 1), slice(cols[0], cols[-1] + 1))
        share = np.ascontiguousarray(uncovered[part])
        box = (slice(y0 + rows[0], y0 + rows[-1] + 1), slice(x0 + cols[0], x0 + cols[-1] + 1))
        person[box] = cv2.blendLinear(layers.body[box], layers.rest[box], share, 1.0 - share)
    return person


def composite_arms(person: np.ndarray, alpha: np.ndarray, layer: ArmLayer,
                   body_map: np.ndarray, motion: ArmMotion | None) -> None:
    """Draw the arm layer over ``person`` and ``alpha`` (ROI-sized, changed in place).

    ``body_map`` (h, w, 2) is the body's backward map over the ROI; ``motion`` the
    arms' (None: at rest), sampled through the body's map. Both maps are smooth, so
    they are chained on the arm's coarse grid.
    """
    x0, y0, x1, y1 = layer.box
    if motion is not None:
        arm_x, arm_y = motion.map_x, motion.map_y
        # Output -> where the body came from -> where the arm came from.
        size = (x1 - x0, y1 - y0)
        step = layer.step
        body = at_block_centres(body_map[y0:y1, x0:x1], step, (arm_x.shape[1], arm_x.shape[0]))
        cell_x = (body[..., 0] - x0 + 0.5) / step - 0.5
        cell_y = (body[..., 1] - y0 + 0.5) / step - 0.5
        chained = np.dstack([warp(arm_x, cell_x, cell_y) - x0, warp(arm_y, cell_x, cell_y) - y0])
        dense = upsample_map(chained, step, size)
        sample_x, sample_y = dense[..., 0], dense[..., 1]
    else:
        sample_x, sample_y = body_map[y0:y1, x0:x1, 0] - x0, body_map[y0:y1, x0:x1, 1] - y0
    rgb = warp(layer.rgb, sample_x, sample_y)
    # float32 maps at runtime (cv2.resize of float32 grids); the stubs infer integers.
    cover = cv2.remap(layer.mask, sample_x, sample_y, cv2.INTER_LINEAR,  # type: ignore[call-overload]
                      borderMode=cv2.BORDER_CONSTANT, borderValue=0)
    box = (slice(y0, y1), slice(x0, x1))
    person[box] = cv2.blendLinear(rgb, person[box], cover, 1.0 - cover)
    np.maximum(alpha[box], cover, out=alpha[box])


def _part_positions(arm: Arm, lifts: list[float], points: np.ndarray,
                    centre_x: float) -> list[np.ndarray]:
    """Where ``points`` go if carried by the upper arm, the forearm and the hand."""
    upper, fore, hand = (np.radians(lift) * _lift_sign(a, b, arm.shoulder[0] - centre_x)
                         for lift, (a, b) in zip(lifts, arm.segments, strict=True))
    elbow = arm.shoulder + _rotate(arm.elbow - arm.shoulder, upper)
    wrist = elbow + _rotate(arm.wrist - arm.elbow, upper + fore)
    return [arm.shoulder + _rotate(points - arm.shoulder, upper),
            elbow + _rotate(points - arm.elbow, upper + fore),
            wrist + _rotate(points - arm.wrist, upper + fore + hand)]


def _lift_sign(start: np.ndarray, end: np.ndarray, outward: float) -> float:
    """The rotation direction (image plane, y down) that raises ``end`` about ``start``;
    for a limb hanging straight down, the one that swings it away from the body."""
    dx, length = end[0] - start[0], float(np.linalg.norm(end - start))
    side = dx if abs(dx) > 0.25 * length else outward
    return -1.0 if side >= 0 else 1.0


def _rotate(vectors: np.ndarray, angle: float) -> np.ndarray:
    c, s = np.cos(angle), np.sin(angle)
    return vectors @ np.array([[c, s], [-s, c]])
