"""Which pixels an arm's layer takes along: the arm, not clothes or skin near it."""

from __future__ import annotations

import cv2
import numpy as np

from talkinghead.analysis.arms import arm_layer, find_arms

SKIN = (225, 175, 150)
CREAM = (232, 196, 175)  # pale clothing within 50 RGB of the skin
COAT = (60, 60, 70)
BLUE = (150, 175, 225)  # a sleeve
SIZE = 400


def _pose() -> np.ndarray:
    """Image-right arm hanging down: shoulder (260, 120), elbow (280, 220), wrist (270, 310)."""
    pose = np.zeros((33, 3), np.float32)
    pose[11, :2], pose[12, :2] = (260.0, 120.0), (140.0, 120.0)  # shoulder width 120
    pose[13, :2], pose[15, :2] = (280.0, 220.0), (270.0, 310.0)
    pose[[17, 19, 21], :2] = [(262.0, 325.0), (268.0, 328.0), (276.0, 322.0)]
    pose[[23, 24], :2] = (250.0, 330.0), (150.0, 330.0)
    pose[:, 2] = 0.95
    return pose


def _picture(sleeve: tuple[int, int, int]) -> np.ndarray:
    rgb = np.full((SIZE, SIZE, 3), COAT, np.uint8)
    cv2.line(rgb, (280, 220), (270, 310), sleeve, 30)  # a forearm wider than its capsule (24)
    cv2.circle(rgb, (272, 335), 22, SKIN, -1)  # the hand
    cv2.rectangle(rgb, (230, 380), (330, 400), CREAM, -1)  # an apron's hem below the hand
    # A patch of the arm's colour within reach of its capsule, clear of the arm.
    cv2.rectangle(rgb, (295, 245), (300, 265), sleeve, -1)
    return rgb


def _mask(rgb: np.ndarray) -> np.ndarray:
    pose = _pose()
    roi = (0, 0, SIZE, SIZE)
    layer = arm_layer(find_arms(pose, roi), rgb, np.ones((SIZE, SIZE), np.float32), pose, roi,
                      np.array(SKIN, np.float32))
    assert layer is not None
    x0, y0, x1, y1 = layer.box
    full = np.zeros((SIZE, SIZE), np.float32)
    full[y0:y1, x0:x1] = layer.mask
    return full


def test_a_bare_arm_takes_its_skin_but_not_pale_clothes_or_patches_near_it() -> None:
    mask = _mask(_picture(SKIN))
    # The forearm's edges, 14 px from its middle, outside its 12 px capsule.
    assert mask[265, 289] > 0.9 and mask[265, 261] > 0.9
    assert mask[335, 272] > 0.9  # the hand
    assert mask[390, 280] < 0.05  # the apron past the fingers, near the hand's colour
    assert mask[255, 298] < 0.05  # the patch that does not touch the arm


def test_a_sleeve_keeps_to_its_capsule() -> None:
    mask = _mask(_picture(BLUE))
    assert mask[265, 275] > 0.9  # the sleeve's middle
    assert mask[265, 290] < 0.05  # its edge, which could as well be the clothes around it


def test_what_an_arm_uncovers_is_filled_from_the_body_not_the_background() -> None:
    from talkinghead.analysis.arms import remove_arms

    rgb = np.full((SIZE, SIZE, 3), 235, np.uint8)  # a white wall
    person = np.zeros((SIZE, SIZE), np.float32)
    person[100:, 150:270] = 1.0  # a dark torso whose edge the forearm crosses
    rgb[person > 0] = COAT
    cv2.line(rgb, (280, 220), (270, 310), SKIN, 30)
    cv2.circle(rgb, (272, 335), 22, SKIN, -1)
    arm = np.zeros_like(person)
    cv2.line(arm, (280, 220), (270, 310), (1.0,), 30)
    cv2.circle(arm, (272, 335), 22, (1.0,), -1)
    person = np.maximum(person, arm)
    pose = _pose()
    roi = (0, 0, SIZE, SIZE)
    layer = arm_layer(find_arms(pose, roi), rgb, person, pose, roi, np.array(SKIN, np.float32))
    assert layer is not None
    body_rgb, body_mask = remove_arms(rgb, person, layer)
    torso_side = (slice(230, 330), slice(255, 268))  # under the arm, inside the torso's edge
    assert body_mask[torso_side].min() > 0.9
    assert np.abs(body_rgb[torso_side].astype(int) - COAT).max() < 25  # not a grey smear
    wall_side = (slice(230, 330), slice(285, 300))  # under the arm, beyond the torso
    assert body_mask[wall_side].max() < 0.1


def test_the_photo_shows_where_an_arm_stays_and_the_fill_only_where_it_moved_away() -> None:
    from talkinghead.analysis.arms import remove_arms
    from talkinghead.analysis.rig import PersonLayers
    from talkinghead.render.arms import arm_map, uncovered_layer

    rgb = _picture(BLUE)
    person = np.ones((SIZE, SIZE), np.float32)
    pose = _pose()
    roi = (0, 0, SIZE, SIZE)
    layer = arm_layer(find_arms(pose, roi), rgb, person, pose, roi, np.array(SKIN, np.float32))
    assert layer is not None
    body_rgb, body_mask = remove_arms(rgb, person, layer)
    alpha = np.full((SIZE, SIZE, 1), 255, np.uint8)
    layers = PersonLayers(body=np.dstack([body_rgb, alpha]), rest=np.dstack([rgb, alpha]))
    still = {f"{side}_{part}_deg": 0.0 for side in "lr" for part in ("upper", "fore", "hand")}
    motion = arm_map(layer, {**still, "r_fore_deg": 40.0})  # the forearm lifts, the upper arm stays
    assert motion is not None
    lifted = uncovered_layer(layers, layer, motion)[..., :3]
    upper_arm, forearm = (185, 274), (265, 275)
    assert np.array_equal(lifted[upper_arm], rgb[upper_arm])  # the sleeve as photographed
    assert not np.array_equal(body_rgb[upper_arm], rgb[upper_arm])  # (painted out below it)
    assert np.array_equal(lifted[forearm], body_rgb[forearm])  # what the forearm uncovered
    # A forearm lifted by a degree moves its hand a pixel or two: the painted-out
    # margin round its still upper part stays hidden.
    nudge = arm_map(layer, {**still, "r_fore_deg": 1.0})
    assert nudge is not None
    nudged = uncovered_layer(layers, layer, nudge)[..., :3]
    upper_edge = (slice(150, 200), slice(250, 300))
    assert np.array_equal(nudged[upper_edge], rgb[upper_edge])
