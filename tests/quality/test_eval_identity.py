"""Identity: the same face is near 0, another person is past dlib's 0.6."""

from __future__ import annotations

import cv2
import numpy as np
from matplotlib import cbook
from PIL import Image

from talkinghead.analysis.face import find_face
from talkinghead.quality import identity


def _descriptor(rgb: np.ndarray) -> np.ndarray:
    return identity.descriptor(rgb, find_face(rgb).points)


def test_same_face_is_near_zero_and_another_person_is_far(portrait) -> None:
    rgb = portrait[1]
    source = _descriptor(rgb)
    recompressed = cv2.imdecode(cv2.imencode(".jpg", rgb, [cv2.IMWRITE_JPEG_QUALITY, 70])[1],
                                cv2.IMREAD_UNCHANGED)  # channel order kept: RGB in, RGB out
    # Grace Hopper's public-domain portrait ships with matplotlib.
    with cbook.get_sample_data("grace_hopper.jpg") as handle:
        other = np.asarray(Image.open(handle).convert("RGB"))
    same = np.linalg.norm(_descriptor(recompressed) - source)
    different = np.linalg.norm(_descriptor(other) - source)
    assert same < 0.15
    assert different > identity.SAME_PERSON_DISTANCE
    figures = identity.measure_identity(source, [_descriptor(recompressed), _descriptor(other)])
    assert figures.same_person_share == 0.5
    assert figures.max_distance == different


def test_the_static_video_keeps_the_identity(static_eval) -> None:
    assert static_eval.identity.n_frames >= 10
    assert static_eval.identity.mean_distance < 0.15
    assert static_eval.identity.same_person_share == 1.0


def test_model_files_are_found_without_importing_the_package() -> None:
    folder = identity.model_dir()
    assert (folder / "dlib_face_recognition_resnet_model_v1.dat").is_file()
    assert (folder / "shape_predictor_68_face_landmarks.dat").is_file()


def test_front_distance_counts_only_frames_facing_as_the_portrait() -> None:
    source = np.zeros(128)
    frames = [np.full(128, v / np.sqrt(128)) for v in (0.1, 0.2, 0.4, 0.5)]  # distances
    angles = np.array([[2.0, -3.0, 9.0],   # roll does not matter
                       [-4.5, 4.0, 0.0],
                       [18.0, 1.0, 0.0],   # turned aside
                       [0.0, -7.0, 0.0]])  # chin up
    figures = identity.measure_identity(source, frames, angles)
    assert figures.n_front_frames == 2
    assert abs(figures.front_mean_distance - 0.15) < 1e-9
    assert abs(figures.mean_distance - 0.3) < 1e-9
    assert identity.measure_identity(source, frames[2:], angles[2:]).front_mean_distance is None
    assert identity.measure_identity(source, frames).front_mean_distance is None


def test_the_static_video_faces_as_the_portrait_throughout(static_eval) -> None:
    assert static_eval.identity.n_front_frames == static_eval.identity.n_frames
    assert static_eval.identity.front_mean_distance < 0.15
