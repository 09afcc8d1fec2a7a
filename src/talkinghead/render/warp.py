"""Mesh warp: control-point displacements -> a warped ROI, fully vectorised."""

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


def backward_map(rig: Rig, displacement: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Where each output pixel of the ROI samples the source: (map_x, map_y) float32.

    ``displacement`` (N, 2) moves the control points. Barycentric weights spread
    it over a coarse grid of source pixels (the forward field f); the backward
    map m solves m = x - f(m) by damped fixed-point iteration on that grid, then
    is upsampled to full size.
    """
    coarse_w, coarse_h = rig.field_size
    field = np.asarray(rig.barycentric @ displacement.astype(np.float32), dtype=np.float32)
    return invert_field(field.reshape(coarse_h, coarse_w, 2), rig.field_step, rig.roi_size)


def invert_field(field: np.ndarray, step: int,
                 size: tuple[int, int]) -> tuple[np.ndarray, np.ndarray]:
    """Backward map (map_x, map_y) of ``size`` (width, height) for a forward field.

    ``field`` (gh, gw, 2) holds displacements at the centres of ``step``-sized
    blocks; the map m solving m = x - f(m) is found on that grid and upsampled.
    """
    map_x, map_y = invert_coarse(field, step)
    return (cv2.resize(map_x, size, interpolation=cv2.INTER_LINEAR),
            cv2.resize(map_y, size, interpolation=cv2.INTER_LINEAR))


def invert_coarse(field: np.ndarray, step: int) -> tuple[np.ndarray, np.ndarray]:
    """``invert_field`` left on the coarse grid (positions still in full-size pixels)."""
    coarse_h, coarse_w = field.shape[:2]
    grid_x, grid_y = _pixel_grid(coarse_w, coarse_h)
    full_x, full_y = (grid_x + 0.5) * step - 0.5, (grid_y + 0.5) * step - 0.5
    map_x, map_y = full_x - field[..., 0], full_y - field[..., 1]
    for _ in range(INVERSION_STEPS - 1):
        at = cv2.remap(field, (map_x + 0.5) / step - 0.5, (map_y + 0.5) / step - 0.5,
                       cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
        map_x = (1 - DAMPING) * map_x + DAMPING * (full_x - at[..., 0])
        map_y = (1 - DAMPING) * map_y + DAMPING * (full_y - at[..., 1])
    return map_x, map_y


def warp(image: np.ndarray, map_x: np.ndarray, map_y: np.ndarray) -> np.ndarray:
    """Sample ``image`` at the backward map (bilinear, edges replicated)."""
    return cv2.remap(image, map_x, map_y, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)


_GRIDS: dict[tuple[int, int], tuple[np.ndarray, np.ndarray]] = {}


def _pixel_grid(width: int, height: int) -> tuple[np.ndarray, np.ndarray]:
    key = (width, height)
    if key not in _GRIDS:
        gx, gy = np.meshgrid(np.arange(width, dtype=np.float32),
                             np.arange(height, dtype=np.float32))
        _GRIDS[key] = (gx, gy)
    return _GRIDS[key]
