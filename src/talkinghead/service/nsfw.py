"""Nudity check on the input portrait: NudeNet's ``320n.onnx`` run with onnxruntime.

The model file ships inside the ``nudenet`` wheel (installed ``--no-deps``);
we only read the file, so nudenet's own imports never run.
"""

from __future__ import annotations

from functools import cached_property
from importlib.resources import files

import numpy as np

#: The detector's 18 classes, in output order.
LABELS = (
    "FEMALE_GENITALIA_COVERED", "FACE_FEMALE", "BUTTOCKS_EXPOSED", "FEMALE_BREAST_EXPOSED",
    "FEMALE_GENITALIA_EXPOSED", "MALE_BREAST_EXPOSED", "ANUS_EXPOSED", "FEET_EXPOSED",
    "BELLY_COVERED", "FEET_COVERED", "ARMPITS_COVERED", "ARMPITS_EXPOSED", "FACE_MALE",
    "BELLY_EXPOSED", "MALE_GENITALIA_EXPOSED", "ANUS_COVERED", "FEMALE_BREAST_COVERED",
    "BUTTOCKS_COVERED",
)
#: Classes that make an image "nsfw" for the hosted API's ``has_nsfw_contents``.
EXPLICIT = frozenset({"BUTTOCKS_EXPOSED", "FEMALE_BREAST_EXPOSED", "FEMALE_GENITALIA_EXPOSED",
                      "MALE_GENITALIA_EXPOSED", "ANUS_EXPOSED"})
INPUT_PX = 320


class NudityDetector:
    """Scores an RGB image for exposed nudity; loads the model on first use."""

    def __init__(self, *, threshold: float = 0.5) -> None:
        self.threshold = threshold

    @cached_property
    def _session(self):  # type: ignore[no-untyped-def]
        import onnxruntime as ort

        options = ort.SessionOptions()
        options.intra_op_num_threads = 1  # workers already run in parallel
        options.inter_op_num_threads = 1
        model = files("nudenet").joinpath("320n.onnx")
        return ort.InferenceSession(str(model), sess_options=options,
                                    providers=["CPUExecutionProvider"])

    def score(self, rgb: np.ndarray) -> float:
        """Highest confidence of any explicit class; ``rgb`` is (h, w, 3) uint8."""
        import cv2

        height, width = rgb.shape[:2]
        side = max(height, width)
        square = np.zeros((side, side, 3), dtype=np.uint8)
        square[:height, :width] = rgb  # pad right/bottom, as the model was trained
        blob = cv2.resize(square, (INPUT_PX, INPUT_PX), interpolation=cv2.INTER_AREA)
        blob = blob.astype(np.float32).transpose(2, 0, 1)[None] / 255.0
        session = self._session
        (output,) = session.run(None, {session.get_inputs()[0].name: blob})
        class_scores = output[0, 4:, :]  # (18 classes, anchors)
        explicit = [i for i, name in enumerate(LABELS) if name in EXPLICIT]
        return float(class_scores[explicit].max())

    def is_nsfw(self, rgb: np.ndarray) -> bool:
        """True when ``score`` reaches the threshold."""
        return self.score(rgb) >= self.threshold
