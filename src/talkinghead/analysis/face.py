"""Face landmarks, body pose and person mask: the only module that imports mediapipe."""

from __future__ import annotations

import contextlib
import os
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cache

import numpy as np

from talkinghead.errors import NoFaceError, RenderError

# mediapipe's C++ side logs every graph start to stderr; keep a CLI's output clean.
os.environ.setdefault("GLOG_minloglevel", "2")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

# mediapipe graphs are not thread-safe; one lock serialises their use.
_LOCK = threading.Lock()


@dataclass(frozen=True)
class FaceLandmarks:
    """478 face-mesh points in image pixels: ``points`` is (478, 3) float32.

    z is depth in the same pixel scale as x (smaller is nearer the camera).
    """

    points: np.ndarray

    @property
    def xy(self) -> np.ndarray:
        return self.points[:, :2]


@cache
def _face_mesh():  # type: ignore[no-untyped-def]
    import mediapipe as mp

    return mp.solutions.face_mesh.FaceMesh(
        static_image_mode=True, refine_landmarks=True, max_num_faces=1,
        min_detection_confidence=0.3,
    )


@cache
def _segmenter():  # type: ignore[no-untyped-def]
    import mediapipe as mp

    return mp.solutions.selfie_segmentation.SelfieSegmentation(model_selection=0)


@cache
def _pose():  # type: ignore[no-untyped-def]
    import mediapipe as mp

    return mp.solutions.pose.Pose(static_image_mode=True, model_complexity=1,
                                  enable_segmentation=False, min_detection_confidence=0.5)


def body_pose(rgb: np.ndarray) -> np.ndarray | None:
    """mediapipe's 33 body points: (33, 3) x, y in pixels and visibility 0..1; None
    when no person is found."""
    try:
        with _LOCK, _quiet_native_logs():
            result = _pose().process(rgb)
    except Exception as exc:
        raise RenderError(f"pose estimation failed: {exc}") from exc
    if result.pose_landmarks is None:
        return None
    height, width = rgb.shape[:2]
    return np.array([(p.x * width, p.y * height, p.visibility)
                     for p in result.pose_landmarks.landmark], dtype=np.float32)


@cache
def _hands():  # type: ignore[no-untyped-def]
    import mediapipe as mp

    return mp.solutions.hands.Hands(static_image_mode=True, max_num_hands=2, model_complexity=1,
                                    min_detection_confidence=0.4)


def hand_points(rgb: np.ndarray) -> list[np.ndarray]:
    """mediapipe's 21 points of each hand found, (21, 2) in pixels (0 is the wrist)."""
    try:
        with _LOCK, _quiet_native_logs():
            result = _hands().process(rgb)
    except Exception as exc:
        raise RenderError(f"hand detection failed: {exc}") from exc
    height, width = rgb.shape[:2]
    return [np.array([(p.x * width, p.y * height) for p in hand.landmark], dtype=np.float32)
            for hand in result.multi_hand_landmarks or []]


def find_face(rgb: np.ndarray, *, name: str = "the image") -> FaceLandmarks:
    """Locate the most prominent face; raise NoFaceError when there is none.

    Small faces in large images (full-body shots) are retried on crops.
    """
    for crop in _candidate_crops(rgb.shape[1], rgb.shape[0]):
        x0, y0, x1, y1 = crop
        points = _mesh_points(np.ascontiguousarray(rgb[y0:y1, x0:x1]))
        if points is not None:
            points[:, 0] += x0
            points[:, 1] += y0
            return FaceLandmarks(points=points)
    raise NoFaceError(
        f"{name}: no face found; use a portrait where one face is clearly visible, "
        "upright and not too small (at least ~80 px across)"
    )


@cache
def _face_detector():  # type: ignore[no-untyped-def]
    import mediapipe as mp

    return mp.solutions.face_detection.FaceDetection(model_selection=1,
                                                     min_detection_confidence=0.3)


def face_boxes(rgb: np.ndarray) -> list[tuple[float, float, float, float]]:
    """Faces found by mediapipe's full-range face detector (BlazeFace), a second
    opinion independent of the face mesh: (x0, y0, x1, y1) in pixels."""
    try:
        with _LOCK, _quiet_native_logs():
            result = _face_detector().process(np.ascontiguousarray(rgb))
    except Exception as exc:
        raise RenderError(f"face detection failed: {exc}") from exc
    height, width = rgb.shape[:2]
    boxes = []
    for detection in result.detections or []:
        box = detection.location_data.relative_bounding_box
        boxes.append((box.xmin * width, box.ymin * height, (box.xmin + box.width) * width,
                      (box.ymin + box.height) * height))
    return boxes


def person_mask(rgb: np.ndarray) -> np.ndarray:
    """Soft person mask, (height, width) float32 in 0..1."""
    try:
        with _LOCK, _quiet_native_logs():
            result = _segmenter().process(rgb)
    except Exception as exc:  # mediapipe raises plain RuntimeError on internal failure
        raise RenderError(f"person segmentation failed: {exc}") from exc
    return np.clip(result.segmentation_mask.astype(np.float32), 0.0, 1.0)


def _mesh_points(rgb: np.ndarray) -> np.ndarray | None:
    try:
        with _LOCK, _quiet_native_logs():
            result = _face_mesh().process(rgb)
    except Exception as exc:
        raise RenderError(f"face mesh failed: {exc}") from exc
    if not result.multi_face_landmarks:
        return None
    height, width = rgb.shape[:2]
    marks = result.multi_face_landmarks[0].landmark
    return np.array([(p.x * width, p.y * height, p.z * width) for p in marks], dtype=np.float32)


def _candidate_crops(width: int, height: int) -> list[tuple[int, int, int, int]]:
    """The whole image, then overlapping upper crops where a small face is likelier."""
    crops = [(0, 0, width, height)]
    side = min(width, height)
    for frac in (0.5, 0.33):
        size = int(max(side * frac, 128))
        if size >= side:
            continue
        step = size // 2
        for y0 in range(0, max(height - size, 0) + 1, step):
            for x0 in range(0, max(width - size, 0) + 1, step):
                crops.append((x0, y0, x0 + size, y0 + size))
    return crops


@contextlib.contextmanager
def _quiet_native_logs() -> Iterator[None]:
    """Silence mediapipe's C++ warnings, which bypass Python and GLOG settings.

    Set TALKINGHEAD_NATIVE_LOGS=1 to see them.
    """
    if os.environ.get("TALKINGHEAD_NATIVE_LOGS") == "1":
        yield
        return
    saved = os.dup(2)
    try:
        with open(os.devnull, "wb") as devnull:
            os.dup2(devnull.fileno(), 2)
            yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)
