"""Mesh warp: control-point displacements -> a warped ROI, fully vectorised.

Per frame the work is: one sparse product (control points -> coarse forward
field), a few damped fixed-point steps on the coarse grid that invert it (only
over the cells still changing: the face, not the slowly breathing body), one
``cv2.resize`` of the coarse backward map to a dense one, and one conversion of
that map to OpenCV's fixed-point form, shared by every remap of the frame.
"""

from __future__ import annotations

import cv2
import numpy as np

from talkinghead.analysis.rig import Rig

#: Damped fixed-point steps that turn the forward displacement field into a
#: backward map. Damping by half keeps the iteration converging where the warp
#: stretches up to ~3x (an eyelid sliding down over the eye); plain fixed-point
#: iteration diverges past 2x.
INVERSION_STEPS = 7
DAMPING = 0.5
#: A coarse cell whose map moved less than this (in output pixels) in one step
#: has converged: later steps move it by about as much again at most, far below
#: the 1/32 pixel to which ``cv2.remap`` rounds its coordinates. Steps after
#: the first only visit the box of cells still moving (the fixed-point
#: iteration is per cell, so leaving converged cells out changes nothing else).
CONVERGED_PX = 0.004

#: A dense backward map ready for ``cv2.remap``: OpenCV's fixed-point pair
#: (CV_16SC2 integer positions, CV_16UC1 1/32-pixel fractions), which is what
#: remap makes of float maps anyway, once per call; made once, shared by calls.
FixedMap = tuple[np.ndarray, np.ndarray]


def backward_map(rig: Rig, displacement: np.ndarray) -> np.ndarray:
    """Where each output pixel of the ROI samples the source: (h, w, 2) float32 (x, y).

    ``displacement`` (N, 2) moves the control points. Barycentric weights spread
    it over a coarse grid of source pixels (the forward field f); the backward
    map m solves m = x - f(m) on that grid and is upsampled to full size.
    """
    coarse_w, coarse_h = rig.field_size
    field = np.asarray(rig.barycentric @ displacement.astype(np.float32), dtype=np.float32)
    return invert_field(field.reshape(coarse_h, coarse_w, 2), rig.field_step, rig.roi_size)


def invert_field(field: np.ndarray, step: int, size: tuple[int, int]) -> np.ndarray:
    """Dense backward map (h, w, 2) of ``size`` (width, height) for a forward field.

    ``field`` (gh, gw, 2) holds displacements at the centres of ``step``-sized
    blocks; the map m solving m = x - f(m) is found on that grid and upsampled.
    """
    return upsample_map(invert_coarse_map(field, step), step, size)


def upsample_map(coarse: np.ndarray, step: int, size: tuple[int, int]) -> np.ndarray:
    """Dense (h, w, 2) positions of ``size`` (width, height) from ``coarse`` (gh, gw, 2)
    positions at the centres of ``step``-sized blocks, the last row and column of
    blocks overhanging the picture.

    Resized by exactly ``step`` and cropped, so block centres land on their own
    pixels (a resize straight to ``size`` stretched the picture by up to 4 px
    when ``size`` is not a multiple of ``step``), and interpolated as shifts
    from the block centres, so the edges outside the outermost centres are exact
    (a resize repeats the outermost value there).
    """
    gh, gw = coarse.shape[:2]
    width, height = size
    shift = coarse - _centres(gw, gh, step)
    dense = cv2.resize(shift, (gw * step, gh * step), interpolation=cv2.INTER_LINEAR)
    dense = dense[:height, :width]
    dense += _cell_grid(width, height)
    return dense


def at_block_centres(dense: np.ndarray, step: int, coarse_size: tuple[int, int]) -> np.ndarray:
    """``dense`` (h, w, channels) sampled at the centres of ``step``-sized blocks:
    (gh, gw, channels) for ``coarse_size`` (gw, gh); centres past the edge repeat it."""
    gw, gh = coarse_size
    centres = _centres(gw, gh, step)
    return cv2.remap(dense, centres, None, cv2.INTER_LINEAR,  # type: ignore[call-overload,no-any-return]
                     borderMode=cv2.BORDER_REPLICATE)


def invert_coarse(field: np.ndarray, step: int) -> tuple[np.ndarray, np.ndarray]:
    """``invert_field`` left on the coarse grid (positions still in full-size pixels)."""
    coarse = invert_coarse_map(field, step)
    return coarse[..., 0], coarse[..., 1]


def invert_coarse_map(field: np.ndarray, step: int) -> np.ndarray:
    """The coarse backward map (gh, gw, 2), positions in full-size pixels.

    The iteration runs in coarse-cell units, so ``cv2.remap`` samples the field
    at the map directly (one two-channel map, no per-step unit conversion).
    """
    coarse_h, coarse_w = field.shape[:2]
    cells = _cell_grid(coarse_w, coarse_h)
    scaled = field * np.float32(1.0 / step)  # displacements in cells
    mapped = cells - scaled
    y0, y1, x0, x1 = 0, coarse_h, 0, coarse_w
    tolerance = np.float32(CONVERGED_PX / step)
    for _ in range(INVERSION_STEPS - 1):
        box = mapped[y0:y1, x0:x1]
        # One two-channel float map and no second map: the stubs want both typed.
        at = cv2.remap(scaled, box, None,  # type: ignore[call-overload]
                       cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
        # m <- (1 - d) m + d (x - f(m)), written as m += d (x - f(m) - m).
        np.subtract(cells[y0:y1, x0:x1], at, out=at)
        at -= box
        at *= np.float32(DAMPING)
        box += at
        # Rows and columns of cells still moving (reducing over the last axis,
        # of length 2, is slow in numpy: x and y stay side by side in each row).
        moving = (np.abs(at) > tolerance).reshape(len(at), -1)
        rows = np.flatnonzero(moving.any(axis=1))
        cols = np.flatnonzero(moving.any(axis=0).reshape(-1, 2).any(axis=1))
        if not len(rows):
            break
        y0, y1, x0, x1 = y0 + rows[0], y0 + rows[-1] + 1, x0 + cols[0], x0 + cols[-1] + 1
    # Back to full-size pixels: cell centres sit at (i + 0.5) * step - 0.5.
    mapped += np.float32(0.5)
    mapped *= np.float32(step)
    mapped -= np.float32(0.5)
    return mapped


def fixed_map(dense: np.ndarray) -> FixedMap:
    """``dense`` (h, w, 2) float32 in OpenCV's fixed-point form, for ``warp_fixed``."""
    # No second input map (``dense`` holds x and y): the stubs want one.
    return cv2.convertMaps(dense, None, cv2.CV_16SC2)  # type: ignore[call-overload,no-any-return]


def warp_fixed(image: np.ndarray, maps: FixedMap) -> np.ndarray:
    """Sample ``image`` at a fixed-point backward map (bilinear): the same pixels as
    ``warp`` with the float map it was made from, but mirrored beyond the edges.
    Hair cut off by the frame that a turn brings into view continues as hair;
    repeating the edge's last row drew it as streaks."""
    return cv2.remap(image, maps[0], maps[1], cv2.INTER_LINEAR,
                     borderMode=cv2.BORDER_REFLECT_101)


def warp(image: np.ndarray, map_x: np.ndarray, map_y: np.ndarray) -> np.ndarray:
    """Sample ``image`` at the backward map (bilinear, edges replicated)."""
    return cv2.remap(image, map_x, map_y, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)


_GRIDS: dict[tuple[int, int], np.ndarray] = {}
_CENTRES: dict[tuple[int, int, int], np.ndarray] = {}


def _centres(width: int, height: int, step: int) -> np.ndarray:
    """(height, width, 2) float32 pixel (x, y) of the centres of ``step``-sized blocks
    on a width x height grid of blocks; cached (read only)."""
    key = (width, height, step)
    if key not in _CENTRES:
        centres = _cell_grid(width, height) * np.float32(step) + np.float32((step - 1) / 2)
        centres.setflags(write=False)
        _CENTRES[key] = centres
    return _CENTRES[key]


def _cell_grid(width: int, height: int) -> np.ndarray:
    """(height, width, 2) float32 (x, y) of each cell; cached (read only) per size."""
    key = (width, height)
    if key not in _GRIDS:
        gy, gx = np.mgrid[0:height, 0:width].astype(np.float32)
        grid = np.ascontiguousarray(np.dstack([gx, gy]))
        grid.setflags(write=False)
        _GRIDS[key] = grid
    return _GRIDS[key]
