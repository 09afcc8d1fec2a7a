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


@pytest.mark.parametrize(("step", "size"), [(6, (512, 512)), (4, (161, 118)), (5, (97, 203))])
def test_no_displacement_is_the_identity_map_to_the_edges(step: int, size: tuple[int, int]) -> None:
    """A ROI that is not a whole number of blocks once stretched the picture by up
    to 4 px (every still frame a little larger than the photo); and the outermost
    half block repeated its neighbours' positions."""
    width, height = size
    coarse = (-(-height // step), -(-width // step), 2)
    still = warp.invert_field(np.zeros(coarse, np.float32), step, size)
    gy, gx = np.mgrid[0:height, 0:width]
    assert still.shape == (height, width, 2)
    assert np.abs(still - np.dstack([gx, gy])).max() < 1e-3


def test_a_uniform_shift_is_exact_everywhere() -> None:
    field = np.zeros((86, 86, 2), np.float32)
    field[..., 0], field[..., 1] = 2.5, -1.25  # everything moves right 2.5 px, up 1.25 px
    dense = warp.invert_field(field, 6, (512, 512))
    gy, gx = np.mgrid[0:512, 0:512]
    assert np.abs(dense - np.dstack([gx - 2.5, gy + 1.25])).max() < 1e-3


def test_block_centres_of_a_dense_map_are_its_pixels_there() -> None:
    gy, gx = np.mgrid[0:50, 0:70].astype(np.float32)
    dense = np.dstack([gx * 2.0, gy + 3.0])
    sampled = warp.at_block_centres(dense, 4, (18, 13))  # the last blocks overhang
    centres_x = (np.arange(18) * 4 + 1.5).clip(max=69)
    centres_y = (np.arange(13) * 4 + 1.5).clip(max=49)
    assert np.allclose(sampled[..., 0], np.broadcast_to(centres_x * 2.0, (13, 18)), atol=1e-3)
    assert np.allclose(sampled[..., 1], np.broadcast_to(centres_y[:, None] + 3.0, (13, 18)),
                       atol=1e-3)
