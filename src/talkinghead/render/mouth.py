"""The inside of the mouth: dark cavity, upper and lower teeth, tongue.

Drawn between the warped inner-lip contours, so it appears exactly as far as
the lips part and vanishes where they meet. The upper teeth hang from the
skull (they show more when the upper lip lifts); the lower teeth and tongue
ride on the jaw.
"""

from __future__ import annotations

import cv2
import numpy as np

from talkinghead.analysis import landmarks as lm
from talkinghead.analysis.rig import SourceMouth

SUBPIXEL_BITS = 4
_SCALE = 1 << SUBPIXEL_BITS


def paint_mouth(roi: np.ndarray, xy: np.ndarray, upper_teeth_edge: np.ndarray,
                skin_rgb: np.ndarray, face_height_px: float, tongue_out: float,
                source: SourceMouth | None = None, *,
                white_rgb: np.ndarray | None = None) -> None:
    """Paint the mouth interior into ``roi`` (uint8 RGB, modified in place).

    ``xy`` are the warped face-mesh points in ROI pixels; ``upper_teeth_edge``
    the biting edge of the upper teeth; ``tongue_out`` 0..1 lifts the tongue
    tip to the teeth (th, l). With ``source``, the photo's own teeth are used.
    ``white_rgb``, the whites of the eyes, gives synthetic teeth this photo's
    white balance.
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
    if source is not None and pressed.any():
        # A photo with parted lips, closed by the warp, leaves its teeth squeezed
        # into a ragged line: draw the soft seam of closed lips over it.
        _lip_seam(roi, middle, pressed, source.lip_rgb, face_height_px)
    if gap < 0.75:
        return
    # Grow the cavity a little into the lips: it hides the lip crease that the
    # warp stretches open, and real lips roll inwards there anyway.
    grow = np.minimum(1.0 + 0.12 * column_gap, 0.3 * column_gap)[:, None] * down
    upper, lower = upper - grow, lower + grow * 0.6

    pad = int(max(4, gap))
    corner_min = np.minimum(upper.min(0), lower.min(0))
    corner_max = np.maximum(upper.max(0), lower.max(0))
    h, w = roi.shape[:2]
    x0, y0 = np.maximum(np.floor(corner_min).astype(int) - pad, 0)
    x1, y1 = np.minimum(np.ceil(corner_max).astype(int) + pad, [w, h])
    if x1 - x0 < 2 or y1 - y0 < 2:
        return
    origin = np.array([x0, y0], dtype=np.float64)
    size = (y1 - y0, x1 - x0)
    upper_o, lower_o = upper - origin, lower - origin

    luma = float(np.mean(skin_rgb)) / 160.0  # keep the cavity in the photo's light
    dark = np.array([52, 16, 20], np.float32) * np.clip(luma, 0.35, 1.3)
    cavity = np.concatenate([upper_o, lower_o[::-1]])
    if source is not None:
        colour = _own_teeth(source, upper, lower, (x0, y0), size, dark)
    else:
        edge = upper_teeth_edge - origin
        edge = upper_o + down * np.maximum((edge - upper_o) @ down, 0.0)[:, None]
        colour = _synthetic_interior(size, upper_o, lower_o, edge, cavity, down, gap, dark,
                                     skin_rgb, face_height_px, tongue_out, white_rgb)
    colour = cv2.GaussianBlur(colour, (0, 0), max(0.6, face_height_px / 400))
    mask = cv2.GaussianBlur(_fill(size, cavity), (0, 0), 0.6)[..., None]
    patch = roi[y0:y1, x0:x1].astype(np.float32)
    roi[y0:y1, x0:x1] = np.clip(patch * (1 - mask) + colour * mask + 0.5, 0, 255).astype(np.uint8)


def _synthetic_interior(size: tuple[int, int], upper: np.ndarray, lower: np.ndarray,
                        teeth_edge: np.ndarray, cavity: np.ndarray, down: np.ndarray, gap: float,
                        dark: np.ndarray, skin_rgb: np.ndarray, face_height_px: float,
                        tongue_out: float, white_rgb: np.ndarray | None = None) -> np.ndarray:
    """Cavity, teeth and tongue drawn for a photo whose own mouth is closed."""
    # Depth: the cavity darkens towards the back of the mouth.
    shade = 1.0 - 0.35 * _fill(size, _shrink(cavity, 0.5))
    colour = dark * cv2.GaussianBlur(shade, (0, 0), max(gap * 0.3, 0.8))[..., None]
    # Teeth: an off-white showing in the middle of the mouth and fading into
    # shadow at the corners
    # (as bright as the skin's luminance, tinted by it to share the light's colour).
    skin = np.asarray(skin_rgb, np.float32)
    luma_of = np.array([0.299, 0.587, 0.114], np.float32)
    skin_luma = float(skin @ luma_of)
    # Teeth are a little warmer than the whites of the eyes, in the same light: take
    # the hue from the sclera where it shows (old photos, paintings, tinted light),
    # else from the skin, faintly; the brightness from the skin.
    warmer = np.array([1.0, 0.98, 0.93], np.float32)
    if white_rgb is not None and _looks_white(np.asarray(white_rgb, np.float32), skin):
        white = np.asarray(white_rgb, np.float32)
        tint = white / max(float(white @ luma_of), 1.0) * warmer
    else:  # no clear sclera (glasses, a squint): a white carrying a little of the skin's hue
        tint = (skin / max(skin_luma, 1.0)) ** 0.3 * warmer
    neutral = tint * min(1.1 * skin_luma, 235.0)
    teeth_colour = np.clip(0.85 * neutral + 0.15 * skin, 0.0, 255.0)
    centre_x = (upper[:, 0].mean() + lower[:, 0].mean()) / 2
    half_span = max(np.ptp(upper[:, 0]) / 2, 1.0)
    across = np.abs(np.arange(size[1]) - centre_x) / half_span
    fade = np.clip(1.4 - across * 1.4, 0.0, 1.0)[None, :, None]
    upper_teeth = _fill(size, np.concatenate([upper, teeth_edge[::-1]]))[..., None] * fade
    shading = _teeth_shading(upper, teeth_edge, size) * _tooth_gaps(size[1], centre_x, half_span)
    colour = _over(colour, teeth_colour * shading, upper_teeth)
    if gap > 0.04 * face_height_px or tongue_out > 0.05:
        tongue = _tongue(size, upper, lower, teeth_edge, down, gap, tongue_out)
        tongue_colour = np.array([0.62, 0.3, 0.3], np.float32) * float(np.max(skin_rgb))
        colour = _over(colour, tongue_colour * 0.85, tongue[..., None])
    if gap > 0.04 * face_height_px:
        lower_h = min(0.12 * gap, 0.02 * face_height_px)
        lower_teeth = np.concatenate([lower, (lower - down * lower_h)[::-1]])
        lower_mask = _fill(size, lower_teeth)[..., None] * fade ** 2 * 0.4
        colour = _over(colour, teeth_colour * 0.6, lower_mask)
    return colour


def _tooth_gaps(width: int, centre_x: float, half_span: float) -> np.ndarray:
    """(1, w, 1) faint dark lines between teeth: one at the centre, then every tooth."""
    tooth_w = max(half_span / 4.0, 2.0)  # about eight teeth show across the mouth
    phase = ((np.arange(width) - centre_x) / tooth_w) % 1.0
    to_gap_px = np.minimum(phase, 1.0 - phase) * tooth_w
    line = np.clip(1.0 - to_gap_px / 0.9, 0.0, 1.0) * 0.3
    return (1.0 - line)[None, :, None].astype(np.float32)


def _looks_white(white: np.ndarray, skin: np.ndarray) -> bool:
    """True when the eye-white sample is a white (brighter and far greyer than the
    skin), not skin caught through glasses, lashes or a squint."""
    def saturation(rgb: np.ndarray) -> float:
        return float((rgb.max() - rgb.min()) / max(float(rgb.max()), 1.0))

    return (float(white.mean()) > 0.6 * float(skin.mean())
            and saturation(white) < max(0.8 * saturation(skin), 0.1))


def _teeth_shading(upper: np.ndarray, edge: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """(h, w, 1) shading: shadow under the upper lip, darker towards the biting edge."""
    xs = np.arange(size[1], dtype=np.float64)
    top, bottom, _ = _contour_rows(upper, edge, xs)
    ys = np.arange(size[0], dtype=np.float64)[:, None]
    depth = np.clip((ys - top) / np.maximum(bottom - top, 1e-3), 0.0, 1.0)
    shade = 0.8 + 0.2 * np.clip(depth * 3.0, 0.0, 1.0) - 0.12 * np.clip(depth - 0.7, 0, 1) / 0.3
    return shade[..., None].astype(np.float32)


def _lip_seam(roi: np.ndarray, midline: np.ndarray, pressed: np.ndarray, lip_rgb: np.ndarray,
              face_height_px: float) -> None:
    """A dark, soft line where the lips meet, along the pressed part of the mouth."""
    x0, y0 = np.maximum(np.floor(midline.min(0)).astype(int) - 4, 0)
    x1, y1 = np.minimum(np.ceil(midline.max(0)).astype(int) + 5, roi.shape[1::-1])
    if x1 - x0 < 2 or y1 - y0 < 2:
        return
    canvas = np.zeros((y1 - y0, x1 - x0), np.float32)
    thickness = max(1, int(round(0.012 * face_height_px)))
    points = np.round((midline - [x0, y0]) * _SCALE).astype(np.int32)
    cv2.polylines(canvas, [points], False, (1.0,), thickness, cv2.LINE_AA, SUBPIXEL_BITS)
    alpha = cv2.GaussianBlur(canvas, (0, 0), 0.5 + 0.004 * face_height_px)[..., None] * 0.9
    patch = roi[y0:y1, x0:x1].astype(np.float32)
    seam = np.asarray(lip_rgb, np.float32) * 0.55
    roi[y0:y1, x0:x1] = np.clip(_over(patch, seam, alpha) + 0.5, 0, 255).astype(np.uint8)


def _own_teeth(source: SourceMouth, upper: np.ndarray, lower: np.ndarray,
               origin: tuple[int, int], size: tuple[int, int], dark: np.ndarray) -> np.ndarray:
    """The source's mouth interior fitted between the current lips.

    Upper teeth ride on the upper lip and lower teeth on the lower lip at their
    own size; a mouth wider open than the photo's shows dark between them, one
    less open squeezes the photo's interior to fit.
    """
    height, width = size
    xs = np.arange(width, dtype=np.float64) + origin[0]
    ys = np.arange(height, dtype=np.float64)[:, None] + origin[1]
    up_y, low_y, span = _contour_rows(upper, lower, xs)
    src_x = source.upper[0, 0] + span * (source.upper[-1, 0] - source.upper[0, 0])
    src_up, src_low, _ = _contour_rows(source.upper, source.lower, src_x)
    dest_gap = np.maximum(low_y - up_y, 1e-3)
    src_gap = np.maximum(src_low - src_up, 0.0)
    top = ys - up_y
    bottom = low_y - ys
    squeeze = np.minimum(src_gap / dest_gap, 1.0)
    upper_part, lower_part = 0.6 * src_gap, 0.4 * src_gap
    src_y = np.where(top < upper_part, src_up + top * squeeze, src_low - bottom * squeeze)
    middle = (dest_gap > src_gap) & (top >= upper_part) & (bottom >= lower_part)
    map_x = np.broadcast_to(src_x, (height, width)).astype(np.float32)
    texture = cv2.remap(source.image, map_x, src_y.astype(np.float32), cv2.INTER_LINEAR,
                        borderMode=cv2.BORDER_REPLICATE).astype(np.float32)
    gap_shadow = cv2.GaussianBlur(middle.astype(np.float32), (0, 0), 1.0)[..., None]
    return _over(texture, dark, gap_shadow)


def _contour_rows(upper: np.ndarray, lower: np.ndarray,
                  xs: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Upper and lower lip y at columns ``xs``, and each column's place (0..1) across."""
    up_order, low_order = np.argsort(upper[:, 0]), np.argsort(lower[:, 0])
    up_y = np.interp(xs, upper[up_order, 0], upper[up_order, 1])
    low_y = np.interp(xs, lower[low_order, 0], lower[low_order, 1])
    left, right = upper[:, 0].min(), upper[:, 0].max()
    span = np.clip((xs - left) / max(right - left, 1e-6), 0.0, 1.0)
    return up_y, low_y, span


def _tongue(size: tuple[int, int], upper: np.ndarray, lower: np.ndarray, teeth_edge: np.ndarray,
            down: np.ndarray, gap: float, tongue_out: float) -> np.ndarray:
    """Tongue coverage: resting on the floor of the mouth, or its tip up at the teeth."""
    rest = lower.mean(0) - down * 0.1 * gap
    tip = teeth_edge.mean(0) + down * 0.15 * gap
    centre = rest + (tip - rest) * tongue_out
    axes = (np.ptp(lower[:, 0]) * (0.28 - 0.08 * tongue_out), (0.22 + 0.1 * tongue_out) * gap)
    canvas = np.zeros(size, np.float32)
    cv2.ellipse(canvas, tuple(int(c) for c in np.round(centre * _SCALE)),
                tuple(int(max(a, 0.5) * _SCALE) for a in axes),
                0, 0, 360, (1.0,), -1, cv2.LINE_AA, SUBPIXEL_BITS)
    return canvas * (0.7 + 0.25 * tongue_out)


def _over(base: np.ndarray, colour: np.ndarray, alpha: np.ndarray) -> np.ndarray:
    return base * (1 - alpha) + colour * alpha


def _fill(size: tuple[int, int], polygon: np.ndarray) -> np.ndarray:
    canvas = np.zeros(size, np.float32)
    cv2.fillPoly(canvas, [np.round(polygon * _SCALE).astype(np.int32)], (1.0,), cv2.LINE_AA,
                 SUBPIXEL_BITS)
    return canvas


def _shrink(polygon: np.ndarray, factor: float) -> np.ndarray:
    centre = polygon.mean(axis=0)
    return centre + (polygon - centre) * factor


def _unit(vector: np.ndarray) -> np.ndarray:
    return vector / max(float(np.linalg.norm(vector)), 1e-9)
