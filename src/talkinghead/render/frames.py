"""Frames: for each row of the MotionTrack, warp the person and composite it."""

from __future__ import annotations

from collections.abc import Iterator

import cv2
import numpy as np

from talkinghead.analysis.rig import Rig
from talkinghead.motion import PARAMETERS, MotionTrack
from talkinghead.render.arms import arm_map, composite_arms, uncovered_layer
from talkinghead.render.deform import pose_face
from talkinghead.render.mouth import paint_mouth
from talkinghead.render.warp import backward_map, fixed_map, warp_fixed

NEUTRAL = dict.fromkeys(PARAMETERS, 0.0)


def render_frame(rig: Rig, params: dict[str, float]) -> np.ndarray:
    """One full RGB uint8 frame for one set of motion parameters.

    Parameters left out of ``params`` are neutral (0): ``{"jaw_open": 1}`` is
    the source face with its mouth wide open.
    """
    params = {**NEUTRAL, **params}
    pose = pose_face(rig, params)
    positions = pose.positions
    displacement = positions - rig.control_xyz[:, :2]
    dense = backward_map(rig, displacement)
    # Person and mask move together in one RGBA remap. Arms at rest are drawn
    # into the Rig's rest layer already; only moving arms need a layer of their own.
    moved = None if rig.arms is None else arm_map(rig.arms, params)
    layer = (rig.layers.rest if moved is None or rig.arms is None
             else uncovered_layer(rig.layers, rig.arms, moved))
    warped = warp_fixed(layer, fixed_map(dense))
    person = cv2.cvtColor(warped, cv2.COLOR_RGBA2RGB)
    alpha = np.multiply(warped[..., 3], np.float32(1 / 255), dtype=np.float32)
    paint_mouth(person, positions[: rig.n_face], pose.upper_teeth_edge, rig.skin_rgb,
                rig.face.height_px, params["tongue"], rig.source_mouth, white_rgb=rig.white_rgb)
    if rig.arms is not None and moved is not None:  # moving arms go on top, over the body
        composite_arms(person, alpha, rig.arms, dense, moved)
    blended = cv2.blendLinear(person, rig.roi_plate, alpha, 1.0 - alpha)
    if blended.shape == rig.image.shape:  # the ROI is the whole picture: no copy to paste into
        return blended
    frame = rig.image.copy()
    x0, y0, x1, y1 = rig.roi
    frame[y0:y1, x0:x1] = blended
    return frame


def render_frames(rig: Rig, motion: MotionTrack) -> Iterator[np.ndarray]:
    """Yield the frames one by one, so memory does not grow with duration.

    A frame whose parameters equal the previous frame's (a long silence with
    body and head motion off) is the previous frame again: not rendered twice.
    """
    previous: tuple[dict[str, float], np.ndarray] | None = None
    for frame_idx in range(motion.n_frames):
        params = motion.at(frame_idx)
        if previous is None or params != previous[0]:
            previous = params, render_frame(rig, params)
        yield previous[1]
