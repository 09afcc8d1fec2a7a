"""No-reference image quality: BRISQUE (OpenCV contrib) with Debian's opencv-data model.

BRISQUE scores natural-scene statistics: about 0-20 for clean photos, higher
for blur, noise, blocking and ringing. Lower is better.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from pathlib import Path

import cv2
import numpy as np

#: Where Debian's ``opencv-data`` (and a source build of OpenCV) put the model.
MODEL_DIRS = (Path("/usr/share/opencv4/quality"), Path("/usr/local/share/opencv4/quality"))
MODEL_FILE, RANGE_FILE = "brisque_model_live.yml", "brisque_range_live.yml"


@dataclass(frozen=True)
class ImageQuality:
    """BRISQUE of the source and the frames (mean of sampled frames), whole and face only."""

    source_brisque: float
    frames_brisque: float
    source_face_brisque: float | None
    frames_face_brisque: float | None


def model_files() -> tuple[Path, Path] | None:
    """(model, range) files, or None when opencv-data is not installed."""
    for folder in MODEL_DIRS:
        if (folder / MODEL_FILE).is_file() and (folder / RANGE_FILE).is_file():
            return folder / MODEL_FILE, folder / RANGE_FILE
    return None


@cache
def _scorer():  # type: ignore[no-untyped-def]
    files = model_files()
    if files is None:
        return None
    # The contrib module's quality package is missing from OpenCV's type stubs.
    return cv2.quality.QualityBRISQUE_create(str(files[0]), str(files[1]))  # type: ignore[attr-defined]


def brisque(rgb: np.ndarray) -> float | None:
    """BRISQUE score of an RGB uint8 image; None when the model is not installed."""
    scorer = _scorer()
    if scorer is None:
        return None
    return float(scorer.compute(cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR))[0])
