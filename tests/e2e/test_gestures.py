"""Arms as rigid parts: a lifted forearm carries its hand, the rest stays the photo."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

from talkinghead.analysis.arms import find_arms
from talkinghead.analysis.face import find_face, person_mask
from talkinghead.analysis.rig import Rig, build_rig
from talkinghead.inputs import load_portrait
from talkinghead.pipeline import fit_to_size
from talkinghead.render.frames import render_frame

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "astronaut.png"
# The astronaut's left arm (image right) as a pose model would report it:
# shoulder, elbow, wrist, then pinky, index and thumb near the hand.
SHOULDER, ELBOW, WRIST = np.array([306.0, 257.0]), np.array([330.0, 372.0]), np.array([
    300.0, 450.0])


def _pose(visibility: float = 0.95) -> np.ndarray:
    pose = np.zeros((33, 3), np.float32)
    pose[11, :2], pose[12, :2] = SHOULDER, (113.0, 240.0)
    pose[13, :2], pose[15, :2] = ELBOW, WRIST
    pose[[17, 19, 21], :2] = WRIST + np.array([[-8.0, 14.0], [-14.0, 12.0], [-16.0, 4.0]])
    pose[[11, 12, 13, 15, 17, 19, 21], 2] = visibility
    return pose


@pytest.fixture(scope="module")
def source() -> np.ndarray:
    return fit_to_size(load_portrait(EXAMPLE).rgb, 512)


@pytest.fixture(scope="module")
def rig(source: np.ndarray) -> Rig:
    return build_rig(source, find_face(source), person_mask(source), _pose())


def test_only_clearly_seen_arms_are_animated(rig: Rig) -> None:
    assert rig.arms is not None and [arm.side for arm in rig.arms.arms] == ["r"]
    assert find_arms(_pose(visibility=0.4), rig.roi) == ()
    assert find_arms(None, rig.roi) == ()


def test_arms_at_rest_are_the_photo(source: np.ndarray, rig: Rig) -> None:
    frame = render_frame(rig, {})
    x0, y0 = rig.roi[:2]
    bx0, by0, bx1, by1 = rig.arms.box
    solid = rig.arms.mask > 0.99
    # The warp's map holds its edge values over the ROI's outermost pixel or two.
    width, height = rig.roi_size
    rows, cols = np.mgrid[by0:by1, bx0:bx1]
    solid &= (rows >= 2) & (cols >= 2) & (rows < height - 2) & (cols < width - 2)
    region = (slice(y0 + by0, y0 + by1), slice(x0 + bx0, x0 + bx1))
    assert solid.sum() > 1000
    assert np.abs(frame[region].astype(int) - source[region])[solid].max() <= 2


def test_a_lifted_forearm_carries_the_hand_rigidly(source: np.ndarray, rig: Rig) -> None:
    lift = 30.0
    frame = render_frame(rig, {"r_fore_deg": lift})
    # The wrist lies left of and below the elbow, so lifting turns the forearm
    # by +lift in image axes (x right, y down) about the elbow.
    angle = np.radians(lift)

    def about_elbow(point: np.ndarray) -> np.ndarray:
        x, y = point - ELBOW
        return ELBOW + np.array([x * np.cos(angle) - y * np.sin(angle),
                                 x * np.sin(angle) + y * np.cos(angle)])

    assert about_elbow(WRIST)[1] < WRIST[1] - 20  # the hand rises
    # The forearm's texture near the wrist, found again in the frame, turned with it.
    half = 10  # inside the forearm's capsule (radius 0.1 shoulder widths, ~19 px)
    on_forearm = np.round(ELBOW + 0.7 * (WRIST - ELBOW)).astype(int)
    patch = source[on_forearm[1] - half:on_forearm[1] + half,
                   on_forearm[0] - half:on_forearm[0] + half]
    centre = (float(half), float(half))
    turn = cv2.getRotationMatrix2D(centre, -lift, 1.0)  # OpenCV's angles run the other way
    patch = cv2.warpAffine(patch, turn, patch.shape[1::-1], borderMode=cv2.BORDER_REFLECT)
    moved = about_elbow(on_forearm.astype(float))
    score = cv2.matchTemplate(frame, patch, cv2.TM_CCOEFF_NORMED)
    _, best, _, (bx, by) = cv2.minMaxLoc(score)
    found = np.array([bx + half, by + half], float)
    assert best > 0.6 and np.linalg.norm(found - moved) < 6, (best, found, moved)


def test_gestures_leave_the_rest_of_the_picture_alone(source: np.ndarray, rig: Rig) -> None:
    frame = render_frame(rig, {"r_fore_deg": 35.0, "r_upper_deg": 12.0, "r_hand_deg": 10.0})
    still = render_frame(rig, {})
    x0, y0 = rig.roi[:2]
    bx0, by0, bx1, by1 = rig.arms.box
    outside = np.ones(source.shape[:2], bool)
    outside[y0 + by0:y0 + by1, x0 + bx0:x0 + bx1] = False
    assert np.array_equal(frame[outside], still[outside])
    assert np.abs(frame.astype(int) - still).max() > 60  # and the arm did move
