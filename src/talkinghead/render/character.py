"""Frames of a character (see analysis.character): a jaw that drops, lids that blink.

Everything outside the mouth's and the eyes' regions stays exactly as in the
source. On drawn art the warp samples the nearest colour, so lines stay
crisp and fills stay flat.
"""

from __future__ import annotations

from collections.abc import Iterator

import cv2
import numpy as np

from talkinghead.analysis.character import CharacterRig
from talkinghead.motion import MotionTrack


def render_character_frame(rig: CharacterRig, params: dict[str, float]) -> np.ndarray:
    """One RGB frame: the source with the mouth opened by ``jaw_open`` and the eyes
    closed by ``blink``."""
    frame = rig.image.copy()
    opening = float(np.clip(params.get("jaw_open", 0.0), 0.0, 1.0)) * rig.max_open_px
    if opening >= 0.5:
        _open_mouth(frame, rig, opening)
    blink = float(np.clip(params.get("blink", 0.0), 0.0, 1.0))
    if blink > 0.05:
        for eye, lid in zip(rig.eyes, rig.lids, strict=True):
            _close_eye(frame, eye, lid, rig.interior_rgb, blink, flat=rig.flat)
    if rig.figure is not None:
        frame = _squash_and_stretch(frame, rig, params)
    return frame


#: A breath in stretches the figure by this share of its height and lifts it by
#: this share; a nod squashes it by this share per degree; a head tilt leans it
#: by this share of the tilt.
BREATH_STRETCH, BREATH_LIFT, NOD_SQUASH, TILT_LEAN = 0.012, 0.006, 0.0015, 0.3


def _squash_and_stretch(frame: np.ndarray, rig: CharacterRig,
                        params: dict[str, float]) -> np.ndarray:
    """A drawn figure on a plain background moves as a whole: it stretches as it
    breathes in, squashes on nods and leans with the head's tilt, about its base
    and keeping its area, over the background's own colour. Driven by the body's
    and the head's curves, so their knobs still govern it."""
    assert rig.figure is not None
    breath = float(params.get("breath", 0.0))
    stretch = BREATH_STRETCH * breath - NOD_SQUASH * float(params.get("pitch_deg", 0.0))
    lean_deg = TILT_LEAN * float(params.get("roll_deg", 0.0))
    if abs(stretch) < 1e-4 and abs(lean_deg) < 0.05 and breath <= 0:
        return frame
    rows = np.flatnonzero(rig.figure.any(axis=1))
    cols = np.flatnonzero(rig.figure.any(axis=0))
    base = ((cols[0] + cols[-1]) / 2, float(rows[-1]))
    grounded = rows[-1] >= frame.shape[0] - 1  # a bust cut by the frame does not hop
    lift = 0.0 if grounded else -BREATH_LIFT * (rows[-1] - rows[0]) * max(breath, 0.0)
    sy, sx = 1.0 + stretch, 1.0 / np.sqrt(1.0 + stretch)  # taller is thinner
    forward = cv2.getRotationMatrix2D(base, -lean_deg, 1.0) @ np.array(
        [[sx, 0, base[0] * (1 - sx)], [0, sy, base[1] * (1 - sy) + lift], [0, 0, 1]])
    size = (frame.shape[1], frame.shape[0])
    interpolation = cv2.INTER_NEAREST if rig.flat else cv2.INTER_LINEAR
    moved = cv2.warpAffine(frame, forward, size, flags=interpolation,
                           borderMode=cv2.BORDER_REPLICATE)
    mask = cv2.warpAffine(rig.figure.astype(np.uint8), forward, size,
                          flags=cv2.INTER_NEAREST).astype(bool)
    out = frame.copy()
    out[rig.figure] = rig.background_rgb  # where the figure was: the plain background ...
    out[mask] = moved[mask]  # ... and the figure where it is now
    return out


def _open_mouth(frame: np.ndarray, rig: CharacterRig, opening: float) -> None:
    """Split the mouth along its stroke and drop the part below, like a jaw: the gap
    is the mouth's inside; the chin below is squeezed back into place."""
    height, width = frame.shape[:2]
    x, y, w, h = rig.mouth
    # Corners stay shut; the middle opens most.
    drop = opening * np.sin(np.pi * (np.arange(w) + 0.5) / w) ** 0.6
    line = rig.mouth_line
    top = int(max(np.floor(line.min()) - 1, 0))
    bottom = int(min(y + h + rig.max_open_px + h + 10, height - 1))
    if bottom - top < 3:
        return
    # The chin squeezes back into place above the figure's outline, never across it.
    chin = np.minimum(rig.chin_rows[:w], bottom).astype(np.float32)
    drop = np.minimum(drop, np.maximum(chin - line - 3, 0.0))
    rows = np.arange(top, bottom + 1, dtype=np.float32)[:, None]
    below = rows - line[None, :]  # how far under the stroke each pixel is
    gap_end = line[None, :] + drop[None, :]
    squeeze = np.clip((chin[None, :] - rows) / np.maximum(chin[None, :] - gap_end, 1.0),
                      0.0, 1.0)
    map_y = np.where(below < 0, rows, rows - drop[None, :] * squeeze).astype(np.float32)
    map_x = np.broadcast_to(np.arange(x, x + w, dtype=np.float32)[None, :],
                            map_y.shape).astype(np.float32)
    interpolation = cv2.INTER_NEAREST if rig.flat else cv2.INTER_LINEAR
    region = cv2.remap(rig.image, map_x, map_y, interpolation, borderMode=cv2.BORDER_REPLICATE)
    inside = (below >= 0) & (rows < gap_end)
    region[inside] = rig.interior_rgb
    frame[top:bottom + 1, x:x + w] = region


def _close_eye(frame: np.ndarray, eye: tuple[int, int, int, int], lid: np.ndarray,
               lash: tuple[int, int, int], blink: float, *, flat: bool) -> None:
    """Slide lids of the face's own look over the eye, the upper one's edge a dark line.

    On drawn art the edges are hard (flat colours stay flat); on photos they are
    feathered over a few pixels, and the lash is a darker shade of the lid.
    """
    x, y, w, h = eye
    rows = np.arange(h, dtype=np.float32)[:, None]
    cols = np.arange(w, dtype=np.float32)[None, :]
    # The eye's own outline: the ellipse in its box, a little wider so no rim shows.
    radius = np.sqrt(((cols + 0.5 - w / 2) / (0.56 * w)) ** 2
                     + ((rows + 0.5 - h / 2) / (0.56 * h)) ** 2)
    # The upper lid comes down to 0.7 of the eye, the lower one up to meet it.
    upper, lower = blink * 0.7 * h, h - blink * 0.3 * h
    line = max(1.0, h / 20)
    inside: np.ndarray
    covered: np.ndarray
    on_lash: np.ndarray
    if flat:
        inside = (radius <= 1).astype(np.float32)
        covered = ((rows < upper) | (rows > lower)).astype(np.float32)
        on_lash = (np.abs(rows - upper) <= line).astype(np.float32)
        lash_rgb = np.array(lash, np.float32)
    else:
        soft = max(2.0, h / 12)
        inside = np.clip((1.0 - radius) * max(w, h) / (2 * soft), 0.0, 1.0)
        covered = np.maximum(np.clip((upper - rows) / soft + 0.5, 0.0, 1.0),
                             np.clip((rows - lower) / soft + 0.5, 0.0, 1.0))
        on_lash = np.clip(1.0 - np.abs(rows - upper) / (line + 1.0), 0.0, 1.0)
        lash_rgb = lid.astype(np.float32) * 0.35
    region: np.ndarray = frame[y:y + h, x:x + w].astype(np.float32)
    alpha = (inside * covered)[..., None]
    region = region * (1 - alpha) + lid.astype(np.float32) * alpha
    if blink > 0.15:
        strength = 1.0 if flat else min(1.0, (blink - 0.15) * 4)  # flat art: no blends
        alpha = (inside * on_lash * strength)[..., None]
        region = region * (1 - alpha) + lash_rgb * alpha
    frame[y:y + h, x:x + w] = np.round(region).astype(np.uint8)


def render_character_frames(rig: CharacterRig, motion: MotionTrack) -> Iterator[np.ndarray]:
    """Yield the character's frames one by one."""
    for frame_idx in range(motion.n_frames):
        yield render_character_frame(rig, motion.at(frame_idx))
