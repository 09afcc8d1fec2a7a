"""Background stability: how far the frames stray from the source off the person."""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

#: The person mask is grown by this share of the image's long side, so hair
#: edges and the warp's soft border do not count as background.
MARGIN_SHARE = 0.03


@dataclass(frozen=True)
class Background:
    """Mean absolute difference to the source outside the person, 0..255 per channel.

    mean_abs_diff: over all frames; max_abs_diff: the worst frame's value;
    coverage: share of the image counted as background.
    """

    mean_abs_diff: float | None
    max_abs_diff: float | None
    coverage: float


def background_mask(person: np.ndarray) -> np.ndarray:
    """True where the source shows background for sure: (H, W) bool."""
    height, width = person.shape
    radius = max(1, int(MARGIN_SHARE * max(height, width)))
    kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * radius + 1, 2 * radius + 1))
    return cv2.dilate((person > 0.1).astype(np.uint8), kernel) == 0


def frame_difference(frame: np.ndarray, source: np.ndarray, mask: np.ndarray) -> float:
    """Mean |frame - source| over the ``mask`` pixels; NaN when the mask is empty."""
    if not mask.any():
        return float("nan")
    diff = cv2.absdiff(frame, source)
    return float(diff[mask].mean())


def summarise(per_frame: np.ndarray, mask: np.ndarray) -> Background:
    """Summarise per-frame differences."""
    ok = np.isfinite(per_frame)
    return Background(
        mean_abs_diff=float(per_frame[ok].mean()) if ok.any() else None,
        max_abs_diff=float(per_frame[ok].max()) if ok.any() else None,
        coverage=float(mask.mean()),
    )
