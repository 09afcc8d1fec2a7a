"""The backward map: it inverts the forward field, and skipping converged cells costs nothing."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from talkinghead.render import warp


def _field(height: int, width: int) -> np.ndarray:
    """A smooth forward field: a bump pushed down and right (an opening jaw, say),
    on a gentle everywhere-moving lean (the body's sway)."""
    gy, gx = np.mgrid[0:height, 0:width].astype(np.float32)
    across, down = (gx - width / 2) / (width / 8), (gy - height / 2) / (height / 8)
    bump = np.exp(-(across**2 + down**2))
    lean = 0.02 * (gy - height)
    return np.dstack([3.0 * bump + lean, 5.0 * bump]).astype(np.float32)


@pytest.mark.parametrize("step", [2, 4])
def test_backward_map_inverts_the_field(step: int) -> None:
    field = _field(60, 80)
    mapped = warp.invert_coarse_map(field, step)
    # m = x - f(m): sample f at m (in cells) and compare.
    cells = (mapped + 0.5) / step - 0.5
    at = cv2.remap(field, cells, None, cv2.INTER_LINEAR,  # type: ignore[call-overload]
                   borderMode=cv2.BORDER_REPLICATE)
    gy, gx = np.mgrid[0:60, 0:80].astype(np.float32)
    full = np.dstack([gx, gy]) * step + (step - 1) / 2
    # Seven damped steps leave a few hundredths of a pixel where the bump is steep.
    assert np.abs(mapped - (full - at)).max() < 0.1


def test_skipping_converged_cells_changes_under_a_hundredth_of_a_pixel(
        monkeypatch: pytest.MonkeyPatch) -> None:
    field = _field(90, 120)
    shortcut = warp.invert_coarse_map(field, 3)
    monkeypatch.setattr(warp, "CONVERGED_PX", 0.0)  # every cell, every step
    every = warp.invert_coarse_map(field, 3)
    assert np.abs(shortcut - every).max() < 0.01


def test_dense_map_has_the_roi_size_and_both_channels() -> None:
    dense = warp.invert_field(_field(30, 40), 4, (160, 120))
    assert dense.shape == (120, 160, 2) and dense.dtype == np.float32
    still = warp.invert_field(np.zeros((30, 40, 2), np.float32), 4, (160, 120))
    gy, gx = np.mgrid[0:120, 0:160]
    # No displacement: the identity (inside the outermost half cell, which resize extrapolates).
    assert np.abs(still[4:-4, 4:-4] - np.dstack([gx, gy])[4:-4, 4:-4]).max() < 1e-3
