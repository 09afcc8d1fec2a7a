"""Wrist figures: the arithmetic on known tracks, then mediapipe's pose on real pictures."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from talkinghead.quality import pose
from talkinghead.quality.video import iter_frames
from tests.quality.conftest import EXAMPLES, encode, shifted, silence

SIZE = (400, 400)
SHOULDER_W = 100.0


def _track(right_wrist: np.ndarray) -> pose.PoseTrack:
    """A person seen whole, shoulders 100 px apart; the right wrist follows ``right_wrist``
    (m, 2), every other point still. Sampled on every 2nd frame."""
    m = len(right_wrist)
    points = np.zeros((m, pose.N_POINTS, 3))
    points[..., 2] = 0.99
    for idx, xy in {11: (250, 100), 12: (150, 100), 13: (260, 200), 14: (140, 200),
                    15: (270, 300)}.items():
        points[:, idx, :2] = xy
    points[:, 16, :2] = right_wrist
    return pose.PoseTrack(frames=np.arange(m) * 2, points=points, size=SIZE)


def _circle(m: int, radius: float, centre: tuple[float, float] = (130.0, 300.0)) -> np.ndarray:
    angle = 2 * np.pi * np.arange(m) / m
    return np.stack([centre[0] + radius * np.cos(angle), centre[1] + radius * np.sin(angle)], 1)


def test_pose_runs_about_twelve_times_a_second() -> None:
    assert [pose.pose_step(fps) for fps in (10, 25, 30, 50, 60)] == [1, 2, 2, 4, 5]


def test_a_wrist_on_a_known_circle_gives_its_radius_and_path() -> None:
    track = _track(_circle(100, 40.0))  # radius 0.4 shoulder widths
    arms = pose.measure_arms(track.points[0], track)
    assert arms.arms_visible == ("left", "right")
    assert arms.shoulder_width_px == pytest.approx(SHOULDER_W)
    assert arms.right_wrist_range_sw == pytest.approx(0.4, abs=0.01)
    assert arms.right_wrist_path_sw == pytest.approx(2 * np.pi * 0.4, rel=0.02)
    assert arms.left_wrist_range_sw == pytest.approx(0.0, abs=1e-9)
    assert arms.left_wrist_path_sw == pytest.approx(0.0, abs=1e-9)
    assert arms.wrist_range_sw_max == arms.right_wrist_range_sw
    assert arms.wrist_path_sw_max == arms.right_wrist_path_sw
    assert arms.arms_found_share == 1.0 and arms.pose_step_frames == 2 and arms.note is None


def test_frames_where_an_arm_is_lost_lower_the_share_not_the_range() -> None:
    track = _track(_circle(100, 40.0))
    track.points[5::5, 16, 2] = 0.1  # the right wrist unseen in one sample of five
    track.points[3, 14, 2] = 0.2  # and its elbow once
    arms = pose.measure_arms(track.points[0], track)
    assert arms.arms_found_share == pytest.approx(1 - 20 / 100)
    # The median of an odd number of points on a circle is one of them, a step off centre.
    assert arms.right_wrist_range_sw == pytest.approx(0.4, abs=0.03)
    assert arms.right_wrist_path_sw == pytest.approx(2 * np.pi * 0.4, rel=0.03)


def test_only_arms_seen_in_the_reference_are_measured() -> None:
    track = _track(_circle(50, 40.0))
    reference = track.points[0].copy()
    reference[16, 0] = -3.0  # the right wrist just outside the picture
    arms = pose.measure_arms(reference, track)
    assert arms.arms_visible == ("left",)
    assert arms.right_wrist_range_sw is None and arms.right_wrist_path_sw is None
    assert arms.wrist_range_sw_max == arms.left_wrist_range_sw == pytest.approx(0.0, abs=1e-9)
    reference[15, 2] = 0.4  # and the left wrist barely visible
    arms = pose.measure_arms(reference, track)
    assert arms.arms_visible == () and arms.note == "no arms visible"
    assert arms.wrist_range_sw_max is None and arms.arms_found_share is None
    assert arms.shoulder_width_px == pytest.approx(SHOULDER_W)


def test_no_person_in_any_frame_gives_no_figures() -> None:
    track = _track(_circle(10, 40.0))
    reference = track.points[0].copy()
    track.points[:] = np.nan
    arms = pose.measure_arms(reference, track)
    assert arms.wrist_range_sw_max is None and arms.shoulder_width_px is None
    assert arms.note == "the two shoulders are never both visible"


def test_the_astronaut_shows_no_arms_and_the_evaluation_says_so(static_eval) -> None:
    astronaut = np.asarray(Image.open(EXAMPLES / "astronaut.png").convert("RGB"))
    points = pose.detect_pose(astronaut)
    assert pose.seen(points[[11, 12]], (512, 512)).all()  # the shoulders, yes
    assert pose.visible_arms(points, (512, 512)) == ()  # the wrists are out of the picture
    assert static_eval.arms.note == "no arms visible"
    assert static_eval.arms.wrist_range_sw_max is None
    assert "wrists: no arms visible" in static_eval.notes
    assert static_eval.figures()["arms"]["arms_found_share"] is None


N_ARM = 50
AMPLITUDE_SW = 0.5


@pytest.fixture(scope="session")
def arm_reference(arm_picture: np.ndarray) -> np.ndarray:
    return pose.detect_pose(arm_picture)


def _arm_video(path: Path, picture: np.ndarray, dx: np.ndarray) -> Path:
    return encode(path, [shifted(picture, dx=float(d)) for d in dx], silence(len(dx)), len(dx))


def test_a_still_picture_gives_still_wrists(workdir: Path, arm_picture, arm_reference) -> None:
    video = _arm_video(workdir / "arm_still.mp4", arm_picture, np.zeros(20))
    track = pose.track_pose(iter_frames(video), pose.pose_step(25))
    arms = pose.measure_arms(arm_reference, track)
    assert "right" in arms.arms_visible
    assert len(track.frames) == 10 and arms.pose_step_frames == 2
    assert arms.wrist_range_sw_max < 0.03 and arms.wrist_path_sw_max < 0.1
    assert arms.arms_found_share == 1.0
    first = track.points[0]  # the encoded picture's pose: compression alone changes it
    assert arms.shoulder_width_px == pytest.approx(np.linalg.norm(first[11, :2] - first[12, :2]),
                                                   rel=0.02)


def test_a_wrist_moved_by_a_known_amount_is_measured_near_it(workdir: Path, arm_picture,
                                                            arm_reference) -> None:
    """The whole picture slides sideways by up to half a shoulder width and back (2 s):
    the pose model must follow the right wrist (the steady one in this picture)."""
    width = float(np.linalg.norm(arm_reference[11, :2] - arm_reference[12, :2]))
    dx = AMPLITUDE_SW * width * np.sin(2 * np.pi * np.arange(N_ARM) / N_ARM)
    video = _arm_video(workdir / "arm_moving.mp4", arm_picture, dx)
    track = pose.track_pose(iter_frames(video), pose.pose_step(25))
    arms = pose.measure_arms(arm_reference, track)
    sampled = dx[track.frames]
    expected = np.percentile(np.abs(sampled - np.median(sampled)), 95) / width  # about 0.5
    assert arms.right_wrist_range_sw == pytest.approx(expected, rel=0.25)
    assert arms.wrist_range_sw_max >= arms.right_wrist_range_sw
    # There and back: the path is at least the four half-width strokes.
    assert 0.75 * 4 * AMPLITUDE_SW < arms.right_wrist_path_sw < 1.5 * 4 * AMPLITUDE_SW
