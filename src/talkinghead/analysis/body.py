"""The body below the head: where it is, and how much each point breathes and sways.

The person mask says where the body is; the face says where the shoulders
are (about half a face height below the chin). The body is anchored where it
leaves the frame (a half-body shot) or at its feet (a full-body shot): those
points never move, and motion grows towards the shoulders, which carry the head.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class BodyFrame:
    """Body geometry in ROI pixels.

    anchor: (2,) the fixed point the body sways about (bottom centre of the person).
    shoulder_y: the shoulder line; full body motion above it.
    """

    anchor: np.ndarray
    shoulder_y: float

    @property
    def torso_px(self) -> float:
        """Visible torso height: how far the shoulders are from the anchor."""
        return max(float(self.anchor[1] - self.shoulder_y), 0.0)


def person_roi(mask: np.ndarray, head_roi: tuple[int, int, int, int],
               margin_px: int) -> tuple[int, int, int, int]:
    """The head ROI grown to hold the whole person (plus a margin), within the image."""
    height, width = mask.shape
    rows = np.flatnonzero((mask > 0.5).any(axis=1))
    cols = np.flatnonzero((mask > 0.5).any(axis=0))
    x0, y0, x1, y1 = head_roi
    if len(rows) and len(cols):
        x0, x1 = min(x0, cols[0] - margin_px), max(x1, cols[-1] + 1 + margin_px)
        y0, y1 = min(y0, rows[0] - margin_px), max(y1, rows[-1] + 1 + margin_px)
    return max(0, x0), max(0, y0), min(width, x1), min(height, y1)


def body_frame(mask: np.ndarray, chin_xy: np.ndarray, face_h: float) -> BodyFrame:
    """Anchor and shoulder line from the ROI's person mask and the chin (ROI pixels)."""
    height = mask.shape[0]
    rows = np.flatnonzero((mask > 0.5).any(axis=1))
    bottom = float(rows[-1]) if len(rows) else height - 1.0
    if bottom >= height - 3:  # the person leaves the frame: anchor at the edge
        bottom = height - 1.0
    bottom_row = mask[int(bottom)] > 0.5
    centre_x = float(np.flatnonzero(bottom_row).mean()) if bottom_row.any() else float(
        chin_xy[0])
    shoulder_y = min(float(chin_xy[1]) + 0.45 * face_h, bottom)
    return BodyFrame(anchor=np.array([centre_x, bottom]), shoulder_y=shoulder_y)


def body_weight(xy: np.ndarray, body: BodyFrame, roi_w: int, roi_h: int,
                fade_px: float) -> np.ndarray:
    """0 at the anchor's height, rising smoothly to 1 at the shoulders and above;
    0 on the ROI's left, right and top borders (the bottom is the anchor's)."""
    span = max(body.torso_px, 1.0)
    rise = np.clip((body.anchor[1] - xy[:, 1]) / span, 0.0, 1.0)
    weight = rise * rise * (3.0 - 2.0 * rise)
    border = np.minimum.reduce([xy[:, 0], xy[:, 1], roi_w - 1 - xy[:, 0]])
    edge = np.clip(border / max(fade_px, 1.0), 0.0, 1.0)
    return weight * edge * (xy[:, 1] < roi_h - 1)
