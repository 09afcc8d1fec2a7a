"""One pass over the decoded frames: landmarks, background difference, samples.

Frames stream through and only what the report needs is kept (a few sampled
frames and small mouth crops), so memory does not grow with the video's length.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import cv2
import numpy as np

from talkinghead.analysis import landmarks as lm
from talkinghead.analysis.face import find_face, person_mask
from talkinghead.errors import NoFaceError
from talkinghead.quality.background import background_mask, frame_difference
from talkinghead.quality.lipsync import eye_distance

#: Landmarks are searched in the source face's box grown by this share of its size.
SEARCH_MARGIN = 0.6
MOUTH_CROP_PX = (96, 64)


@dataclass(frozen=True)
class Reference:
    """The source portrait at the video's size, analysed once.

    rgb: (H, W, 3) uint8; points: (478, 3) face-mesh points; background: (H, W)
    bool, where the source surely shows background; search_box: (x0, y0, x1, y1)
    where each frame's face is looked for.
    """

    rgb: np.ndarray
    points: np.ndarray
    background: np.ndarray
    search_box: tuple[int, int, int, int]
    resized: bool


@dataclass(frozen=True)
class Scan:
    """Per-frame measurements of the whole video.

    points: (n, 478, 3) float32, NaN where no face was found.
    background_diff: (n,) mean absolute difference to the source off the person.
    samples: frame index -> full RGB frame, for the indices asked for.
    mouth_crops: frame index -> (64, 96, 3) RGB crop around the mouth.
    """

    points: np.ndarray
    background_diff: np.ndarray
    samples: dict[int, np.ndarray]
    mouth_crops: dict[int, np.ndarray]

    @property
    def n_frames(self) -> int:
        return len(self.points)

    @property
    def face_found(self) -> np.ndarray:
        return np.isfinite(self.points[:, 0, 0])


def prepare_reference(portrait_rgb: np.ndarray, width: int, height: int, *,
                      name: str = "the portrait") -> Reference:
    """Scale the portrait to the video's size and analyse it (NoFaceError without a face)."""
    resized = portrait_rgb.shape[:2] != (height, width)
    rgb = portrait_rgb
    if resized:
        shrink = width * height < portrait_rgb.shape[0] * portrait_rgb.shape[1]
        rgb = cv2.resize(portrait_rgb, (width, height),
                         interpolation=cv2.INTER_AREA if shrink else cv2.INTER_CUBIC)
    points = find_face(rgb, name=name).points
    return Reference(rgb=rgb, points=points, background=background_mask(person_mask(rgb)),
                     search_box=search_box(points, width, height), resized=resized)


def search_box(points: np.ndarray, width: int, height: int) -> tuple[int, int, int, int]:
    """The face's box (from its (478, 3) points) grown by SEARCH_MARGIN of its size,
    within the ``width`` x ``height`` image: where the next frame's face is looked for."""
    (x0, y0), (x1, y1) = points[:, :2].min(axis=0), points[:, :2].max(axis=0)
    margin = SEARCH_MARGIN * max(x1 - x0, y1 - y0)
    return (int(max(0, x0 - margin)), int(max(0, y0 - margin)),
            int(min(width, x1 + margin)), int(min(height, y1 + margin)))


def frame_landmarks(frame: np.ndarray, box: tuple[int, int, int, int]) -> np.ndarray | None:
    """Face-mesh points of ``frame`` searched within ``box``; None when no face."""
    x0, y0, x1, y1 = box
    try:
        points = find_face(np.ascontiguousarray(frame[y0:y1, x0:x1])).points.copy()
    except NoFaceError:
        return None
    points[:, 0] += x0
    points[:, 1] += y0
    return points


def mouth_crop(frame: np.ndarray, points: np.ndarray) -> np.ndarray:
    """A fixed-size crop centred on the mouth, scaled by the eye-corner distance."""
    centre = points[np.concatenate([lm.INNER_UPPER_LIP, lm.INNER_LOWER_LIP]), :2].mean(axis=0)
    half_w = 0.55 * float(eye_distance(points[None])[0])
    half_h = half_w * MOUTH_CROP_PX[1] / MOUTH_CROP_PX[0]
    out_w, out_h = MOUTH_CROP_PX
    # An affine map from the crop's pixels to the frame's, so crops past the edge still work.
    matrix = np.array([[out_w / (2 * half_w), 0, out_w / 2 - centre[0] * out_w / (2 * half_w)],
                       [0, out_h / (2 * half_h), out_h / 2 - centre[1] * out_h / (2 * half_h)]])
    return cv2.warpAffine(frame, matrix, (out_w, out_h), flags=cv2.INTER_AREA,
                          borderMode=cv2.BORDER_REPLICATE)


def scan_frames(frames: Iterable[np.ndarray], reference: Reference, *,
                sample_idx: set[int], mouth_idx: set[int]) -> Scan:
    """Measure every frame; keep the frames in ``sample_idx`` and mouth crops of ``mouth_idx``."""
    all_points: list[np.ndarray] = []
    differences: list[float] = []
    samples: dict[int, np.ndarray] = {}
    crops: dict[int, np.ndarray] = {}
    missing = np.full((478, 3), np.nan, np.float32)
    for idx, frame in enumerate(frames):
        if frame.shape != reference.rgb.shape:
            frame = cv2.resize(frame, reference.rgb.shape[1::-1], interpolation=cv2.INTER_AREA)
        points = frame_landmarks(frame, reference.search_box)
        all_points.append(missing if points is None else points)
        differences.append(frame_difference(frame, reference.rgb, reference.background))
        if idx in sample_idx:
            samples[idx] = frame
        if idx in mouth_idx:
            crops[idx] = mouth_crop(frame, reference.points if points is None else points)
    return Scan(points=np.array(all_points, np.float32).reshape(-1, 478, 3),
                background_diff=np.array(differences, np.float64),
                samples=samples, mouth_crops=crops)
