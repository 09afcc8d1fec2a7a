"""Identity: does the face in the frames stay the source's person?

dlib's ResNet face descriptor (128 numbers per face) from the model files that
the ``face_recognition_models`` package ships, run by ``dlib-bin``. Euclidean
distance between descriptors under 0.6 is dlib's "same person" threshold.
The only module of the quality report that imports dlib.
"""

from __future__ import annotations

import importlib.util
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import numpy as np

from talkinghead.analysis import landmarks as lm
from talkinghead.errors import RenderError

SAME_PERSON_DISTANCE = 0.6
#: Frames whose yaw and pitch are both within this of the portrait's pose are
#: "facing as in the portrait": their distance shows damage, not the turn itself
#: (a real person turned 20 degrees reads 0.3-0.4 from their own frontal frame).
FRONT_DEG = 5.0
_BROWS = np.array([70, 63, 105, 66, 107, 336, 296, 334, 293, 300])


@dataclass(frozen=True)
class Identity:
    """Descriptor distances of sampled frames to the source face; ``front_*`` over
    the sampled frames posed within FRONT_DEG of the source (None without any)."""

    mean_distance: float | None
    max_distance: float | None
    same_person_share: float | None
    n_frames: int
    front_mean_distance: float | None = None
    n_front_frames: int = 0


def model_dir() -> Path:
    """Where ``face_recognition_models`` keeps its .dat files.

    Found without importing the package: its ``__init__`` imports pkg_resources,
    which recent setuptools no longer provides.
    """
    spec = importlib.util.find_spec("face_recognition_models")
    if spec is None or spec.origin is None:
        raise RenderError("identity check needs the face_recognition_models package "
                          "(pip install 'talkinghead[eval]')")
    return Path(spec.origin).parent / "models"


@cache
def _models():  # type: ignore[no-untyped-def]
    import dlib

    folder = model_dir()
    predictor = dlib.shape_predictor(str(folder / "shape_predictor_68_face_landmarks.dat"))
    encoder = dlib.face_recognition_model_v1(
        str(folder / "dlib_face_recognition_resnet_model_v1.dat"))
    return predictor, encoder


def face_box(points: np.ndarray) -> tuple[int, int, int, int]:
    """A dlib-detector-like box (left, top, right, bottom) from face-mesh points.

    dlib's detector boxes span the face oval across and brows to chin down;
    using the mesh avoids dlib's detector, which misses painted and turned faces.
    """
    xy = points[:, :2]
    left, right = xy[lm.FACE_OVAL, 0].min(), xy[lm.FACE_OVAL, 0].max()
    top, bottom = xy[_BROWS, 1].min(), xy[lm.CHIN, 1]
    return int(left), int(top), int(round(right)), int(round(bottom))


def descriptor(rgb: np.ndarray, points: np.ndarray) -> np.ndarray:
    """128-d descriptor of the face at ``points`` (face-mesh, pixels) in ``rgb``."""
    import dlib

    predictor, encoder = _models()
    left, top, right, bottom = face_box(points)
    shape = predictor(np.ascontiguousarray(rgb), dlib.rectangle(left, top, right, bottom))
    return np.array(encoder.compute_face_descriptor(np.ascontiguousarray(rgb), shape))


def measure_identity(source: np.ndarray, frames: list[np.ndarray],
                     angles_deg: np.ndarray | None = None) -> Identity:
    """Distances of frame descriptors to the source descriptor; ``angles_deg``
    (len(frames), 3) yaw, pitch, roll of each frame relative to the source picks
    the frames facing as the source does."""
    if not frames:
        return Identity(None, None, None, 0)
    distances = np.array([np.linalg.norm(f - source) for f in frames])
    front = np.zeros(len(frames), bool)
    if angles_deg is not None:
        front = np.all(np.abs(np.asarray(angles_deg)[:, :2]) <= FRONT_DEG, axis=1)
    return Identity(mean_distance=float(distances.mean()), max_distance=float(distances.max()),
                    same_person_share=float(np.mean(distances < SAME_PERSON_DISTANCE)),
                    n_frames=len(distances),
                    front_mean_distance=float(distances[front].mean()) if front.any() else None,
                    n_front_frames=int(front.sum()))
