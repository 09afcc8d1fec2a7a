"""The inside of the mouth: dark cavity, upper and lower teeth, tongue.

Drawn between the warped inner-lip contours, so it appears exactly as far as
the lips part and vanishes when they meet.
"""

from __future__ import annotations

import cv2
import numpy as np

from talkinghead.analysis import landmarks as lm

SUBPIXEL_BITS = 4
_SCALE = 1 << SUBPIXEL_BITS


def paint_mouth(roi: np.ndarray, xy: np.ndarray, skin_rgb: np.ndarray,
                face_height_px: float) -> None:
    """Paint the mouth interior into ``roi`` (uint8 RGB, modified in place).

    ``xy`` are the warped face-mesh points in ROI pixels.
    """
    upper = xy[lm.INNER_UPPER_LIP].astype(np.float64)
    lower = xy[lm.INNER_LOWER_LIP].astype(np.float64)
    # Where the lips press together (lower above upper), they meet: no cavity there.
    down = _unit(np.cross([0.0, 0.0, 1.0], [*(upper[-1] - upper[0]), 0.0])[:2])
    column_gap = (lower - upper) @ down
    pressed = column_gap <= 0
    middle = (upper + lower) / 2
    upper[pressed], lower[pressed] = middle[pressed], middle[pressed]
    column_gap = np.maximum(column_gap, 0.0)
    gap = float(column_gap.max())
    if gap < 0.75:
        return
    pad = int(max(4, gap))
    x0, y0 = np.floor(np.minimum(upper.min(0), lower.min(0))).astype(int) - pad
    x1, y1 = np.ceil(np.maximum(upper.max(0), lower.max(0))).astype(int) + pad
    h, w = roi.shape[:2]
    x0, y0, x1, y1 = max(x0, 0), max(y0, 0), min(x1, w), min(y1, h)
    if x1 - x0 < 2 or y1 - y0 < 2:
        return
    origin = np.array([x0, y0], dtype=np.float64)
    patch_h, patch_w = y1 - y0, x1 - x0

    # Grow the cavity a little into the lips: it hides the lip crease that the
    # warp stretches open, and real lips roll inwards there anyway.
    grow = (np.minimum(1.0 + 0.12 * column_gap, 0.3 * column_gap))[:, None] * down
    upper = upper - grow
    lower = lower + grow * 0.6
    cavity = np.concatenate([upper, lower[::-1]]) - origin
    mask = _fill(patch_h, patch_w, [cavity])

    skin = skin_rgb.astype(np.float32)
    luma = float(skin.mean()) / 160.0  # keep teeth and cavity in the photo's light
    dark = np.array([52, 16, 20], np.float32) * min(max(luma, 0.35), 1.3)
    teeth_colour = np.array([200, 192, 180], np.float32) * min(max(luma, 0.5), 1.0)
    tongue_colour = np.array([140, 60, 64], np.float32) * min(max(luma, 0.4), 1.1)

    colour = np.empty((patch_h, patch_w, 3), np.float32)
    colour[:] = dark
    # Teeth show in the middle of the mouth and fade into shadow at the corners.
    centre_x = (upper[:, 0].mean() + lower[:, 0].mean()) / 2 - x0
    half_span = max(np.ptp(upper[:, 0]) / 2, 1.0)
    across = np.abs(np.arange(patch_w) - centre_x) / half_span
    fade = np.clip(1.25 - across * 1.1, 0.0, 1.0)[None, :, None]
    # Upper teeth hang from the upper lip; lower teeth and tongue show as the jaw drops.
    tooth_h = min(0.4 * gap, 0.035 * face_height_px)
    upper_teeth = np.concatenate([upper, (upper + down * tooth_h)[::-1]]) - origin
    teeth_mask = _fill(patch_h, patch_w, [upper_teeth])[..., None] * fade
    colour = colour * (1 - teeth_mask) + teeth_colour * teeth_mask
    if gap > 0.04 * face_height_px:
        tongue_centre = lower.mean(0) - origin - down * 0.1 * gap
        tongue_axes = (np.ptp(lower[:, 0]) * 0.28, 0.22 * gap)
        tongue = np.zeros((patch_h, patch_w), np.float32)
        cv2.ellipse(tongue, tuple(int(c) for c in np.round(tongue_centre * _SCALE)),
                    tuple(int(a) for a in np.round(np.array(tongue_axes) * _SCALE)),
                    0, 0, 360, 1.0, -1, cv2.LINE_AA, SUBPIXEL_BITS)
        tongue = tongue[..., None] * 0.7
        colour = colour * (1 - tongue) + tongue_colour * tongue
        lower_h = min(0.12 * gap, 0.02 * face_height_px)
        lower_teeth = np.concatenate([lower, (lower - down * lower_h)[::-1]]) - origin
        lower_mask = _fill(patch_h, patch_w, [lower_teeth])[..., None] * fade * 0.6
        colour = colour * (1 - lower_mask) + teeth_colour * 0.8 * lower_mask
    # Depth: darker towards the back of the mouth, soft edges under the lips.
    shade = 1.0 - 0.35 * _fill(patch_h, patch_w, [_shrink(cavity, 0.5)])
    colour *= cv2.GaussianBlur(shade, (0, 0), max(gap * 0.3, 0.8))[..., None]
    colour = cv2.GaussianBlur(colour, (0, 0), max(0.6, face_height_px / 400))
    mask = cv2.GaussianBlur(mask, (0, 0), 0.6)[..., None]
    patch = roi[y0:y1, x0:x1].astype(np.float32)
    roi[y0:y1, x0:x1] = np.clip(patch * (1 - mask) + colour * mask + 0.5, 0, 255).astype(np.uint8)


def _fill(height: int, width: int, polygons: list[np.ndarray]) -> np.ndarray:
    canvas = np.zeros((height, width), np.float32)
    pts = [np.round(p * _SCALE).astype(np.int32) for p in polygons]
    cv2.fillPoly(canvas, pts, 1.0, cv2.LINE_AA, SUBPIXEL_BITS)
    return canvas


def _shrink(polygon: np.ndarray, factor: float) -> np.ndarray:
    centre = polygon.mean(axis=0)
    return centre + (polygon - centre) * factor


def _unit(vector: np.ndarray) -> np.ndarray:
    return vector / max(float(np.linalg.norm(vector)), 1e-9)
