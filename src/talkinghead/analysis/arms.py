"""Arms the photo shows: joints, a mask of each arm, and how each pixel is carried.

mediapipe's pose model gives shoulders, elbows, wrists and three points of each
hand. An arm is animated only when its shoulder, elbow and wrist are all seen
with confidence and lie inside the moving region. Its pixels (capsules along
upper arm, forearm and hand, the hand model's outline of the hand, and nearby
pixels of a bare limb's colour, all within the person mask) form a layer of
their own that moves rigidly, part by part; the photo under it is filled from
its surroundings so that whatever a moving arm uncovers shows body or
background.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

#: mediapipe pose indices per arm (image left "l", image right "r"):
#: shoulder, elbow, wrist, and the hand's pinky, index and thumb points.
POSE_ARMS = {"l": (12, 14, 16, 18, 20, 22), "r": (11, 13, 15, 17, 19, 21)}
MIN_VISIBILITY = 0.7
#: Limb thickness as a share of shoulder width: upper arm, forearm, hand.
LIMB_RADIUS_SHARE = (0.11, 0.1, 0.2)
UPPER_ARM_START = 0.35  # the layer's upper arm starts this far from the shoulder
#: Joints blend over this many limb radii, so elbows bend without a crease.
JOINT_BLEND_RADII = 0.8
FIELD_STEP_PX = 4  # the finest grid the arms' motion is computed on


@dataclass(frozen=True)
class Arm:
    """One arm's joints in ROI pixels: shoulder, elbow, wrist, hand tip; ``side``
    is "l" or "r" (image left or right); ``hand`` the hand model's 21 points
    when it found this hand (the pose model's own hand points are rough)."""

    side: str
    shoulder: np.ndarray
    elbow: np.ndarray
    wrist: np.ndarray
    hand_tip: np.ndarray
    hand: np.ndarray | None = None

    @property
    def segments(self) -> tuple[tuple[np.ndarray, np.ndarray], ...]:
        """(start, end) of the upper arm, the forearm and the hand."""
        return ((self.shoulder, self.elbow), (self.elbow, self.wrist),
                (self.wrist, self.hand_tip))


@dataclass(frozen=True)
class ArmLayer:
    """Everything the renderer needs to move the arms, inside ``box`` of the ROI.

    rgb: (h, w, 3) uint8, the photo inside ``box``, arms included.
    mask: (h, w) float32 0..1, the arms' pixels (feathered).
    weights: (len(arms), 3, gh, gw) float32 on a grid every ``step`` pixels: how much
        each pixel follows each arm's upper arm, forearm and hand (they sum to the
        pixel's share of that arm).
    centre_x: the body's middle (between the shoulders), ROI pixels.
    clasped: the two hands touch (folded, clasped): both arms then move as one.
    torso_behind: (h, w) float32, 1 where the torso surely lies behind an arm
        (elsewhere what an arm uncovers is taken from around it).
    grid_mask: (gh, gw) bool on the weights' grid: the arms' own cells (``mask``
        averaged over each cell above HOLE_MASK).
    """

    arms: tuple[Arm, ...]
    box: tuple[int, int, int, int]
    rgb: np.ndarray
    mask: np.ndarray
    weights: np.ndarray
    step: int
    centre_x: float
    clasped: bool
    torso_behind: np.ndarray
    grid_mask: np.ndarray


def shows_arms(pose: np.ndarray | None) -> bool:
    """Whether ``pose`` sees any arm's shoulder, elbow and wrist clearly (before
    running the hand model, which only helps arms that will move)."""
    if pose is None:
        return False
    return any(float(pose[list(joints[:3]), 2].min()) >= MIN_VISIBILITY
               for joints in POSE_ARMS.values())


def find_arms(pose: np.ndarray | None, roi: tuple[int, int, int, int],
              hands: list[np.ndarray] | None = None) -> tuple[Arm, ...]:
    """The arms seen clearly in ``pose`` (33 x (x, y, visibility), image pixels),
    each with the hand of ``hands`` (21 points each) whose wrist is at its wrist."""
    if pose is None:
        return ()
    x0, y0, x1, y1 = roi
    arms = []
    for side, (s, e, w, *hand) in POSE_ARMS.items():
        joints = pose[[s, e, w]]
        inside = ((joints[:, 0] >= x0) & (joints[:, 0] < x1) & (joints[:, 1] >= y0)
                  & (joints[:, 1] < y1)).all()
        if not inside or joints[:, 2].min() < MIN_VISIBILITY:
            continue
        origin = np.array([x0, y0], np.float64)
        shoulder, elbow, wrist = (joints[:, :2].astype(np.float64) - origin)
        tip = pose[hand, :2].astype(np.float64).mean(axis=0) - origin
        tip = wrist + (tip - wrist) * 2.0  # the pose's hand points stop short of the fingers
        shoulder_w = float(np.linalg.norm(pose[11, :2] - pose[12, :2]))
        own = [h - origin for h in hands or []
               if np.linalg.norm(h[0] - origin - wrist) < 0.35 * shoulder_w]
        if own:
            tip = own[0][[8, 12, 16]].mean(axis=0).astype(np.float64)
        arms.append(Arm(side, shoulder, elbow, wrist, tip, own[0] if own else None))
    return tuple(arms)


def arm_layer(arms: tuple[Arm, ...], roi_rgb: np.ndarray, person: np.ndarray, pose: np.ndarray,
              roi: tuple[int, int, int, int], skin_rgb: np.ndarray) -> ArmLayer | None:
    """Mask and part weights of ``arms`` over the ROI's picture and ``person`` mask
    (``skin_rgb``: the face's skin colour, which bare hands share)."""
    if not arms:
        return None
    height, width = person.shape
    origin = np.array(roi[:2], np.float64)
    shoulders = pose[[11, 12], :2].astype(np.float64) - origin
    shoulder_w = max(float(np.linalg.norm(shoulders[0] - shoulders[1])), 8.0)
    radii = [share * shoulder_w for share in LIMB_RADIUS_SHARE]
    # The box: every arm with room to swing about its shoulder.
    reach = max(np.linalg.norm(a.hand_tip - a.shoulder) + np.linalg.norm(a.elbow - a.shoulder)
                for a in arms)
    points = np.vstack([a.shoulder for a in arms])
    bx0, by0 = np.floor(points.min(axis=0) - reach).astype(int)
    bx1, by1 = np.ceil(points.max(axis=0) + reach).astype(int)
    box = (max(bx0, 0), max(by0, 0), min(bx1, width), min(by1, height))
    x0, y0, x1, y1 = box
    ys, xs = np.mgrid[y0:y1, x0:x1].astype(np.float32)
    # The torso's colour, down the body's middle below the shoulders.
    middle = shoulders.mean(axis=0) + np.outer(np.linspace(0.3, 0.9, 7), [0.0, shoulder_w])
    middle = np.round(middle).astype(int).clip(0, [width - 1, height - 1])
    torso_rgb = np.median(roi_rgb[middle[:, 1], middle[:, 0]].astype(np.float32), axis=0)
    masks = []
    for arm in arms:
        # The layer's upper arm starts a third of the way down: the shoulder and
        # collar stay with the body (the upper arm barely moves there anyway).
        drawn = ((arm.shoulder + UPPER_ARM_START * (arm.elbow - arm.shoulder), arm.elbow),
                 *arm.segments[1:])
        full = [_distance(xs, ys, a, b) for a, b in drawn]
        parts = [np.clip(0.5 - (d - r) / 3.0, 0.0, 1.0) for d, r in zip(full, radii, strict=True)]
        if arm.hand is None:
            # Without the hand model the hand's capsule is a rough guess that
            # reaches past the fingers: it keeps only skin (and its own middle),
            # or it lifts a strip of what lies beyond the hand with it.
            middle = np.clip(0.5 - (full[2] - 0.35 * radii[2]) / 3.0, 0.0, 1.0)
            parts[2] = np.maximum(parts[2] * _skin_like(roi_rgb[y0:y1, x0:x1], skin_rgb), middle)
        core = np.max(parts, axis=0)
        if arm.hand is not None:  # the hand's own outline, a little grown
            outline = np.zeros(core.shape, np.uint8)
            hull = cv2.convexHull(np.round(arm.hand - [x0, y0]).astype(np.int32))
            cv2.fillConvexPoly(outline, hull, (1,))
            grow = max(3, int(0.06 * shoulder_w)) | 1
            grown = cv2.dilate(outline, np.ones((grow, grow), np.uint8))
            core = np.maximum(core, cv2.GaussianBlur(grown.astype(np.float32), (0, 0), 1.0))
        masks.append(np.maximum(core, _same_colour(roi_rgb, box, drawn, full, radii,
                                                   torso_rgb, skin_rgb)))
    arm_masks = np.array(masks) * (person[y0:y1, x0:x1] > 0.3)
    # Shrink the box to the arms plus as far as they can swing (a forearm lifted
    # by MAX_LIFT_DEG sweeps about its own length): every frame works in it.
    rows = np.flatnonzero(arm_masks.max(axis=(0, 2)) > 0.01)
    cols = np.flatnonzero(arm_masks.max(axis=(0, 1)) > 0.01)
    if not len(rows):
        return None
    swing = int(max(np.linalg.norm(a.hand_tip - a.elbow) for a in arms))
    tx0, ty0 = max(x0 + cols[0] - swing, x0), max(y0 + rows[0] - swing, y0)
    tx1, ty1 = min(x0 + cols[-1] + 1 + swing, x1), min(y0 + rows[-1] + 1 + swing, y1)
    arm_masks = arm_masks[:, ty0 - y0:ty1 - y0, tx0 - x0:tx1 - x0].astype(np.float32)
    box = x0, y0, x1, y1 = tx0, ty0, tx1, ty1
    mask = arm_masks.max(axis=0)
    # Rigid parts blend smoothly: a grid of about 30 points per shoulder width does.
    step = max(FIELD_STEP_PX, int(shoulder_w / 30))
    # The coarse grid at block centres, as render.warp.invert_coarse expects.
    gys, gxs = np.meshgrid(y0 + (np.arange(-(-(y1 - y0) // step)) + 0.5) * step - 0.5,
                           x0 + (np.arange(-(-(x1 - x0) // step)) + 0.5) * step - 0.5,
                           indexing="ij")
    weights = []
    for arm in arms:
        coarse = np.array([_distance(gxs, gys, a, b) for a, b in arm.segments])
        # Soft nearest part: weights blend over JOINT_BLEND_RADII near each joint.
        scale = JOINT_BLEND_RADII * radii[1]
        affinity = np.exp(-((coarse - coarse.min(axis=0)) / scale) ** 2)
        weights.append(affinity / affinity.sum(axis=0))
    # Where arms overlap (folded hands) each carries a share of the pixel.
    coarse = np.array([cv2.resize(m, gxs.shape[::-1], interpolation=cv2.INTER_AREA)
                       for m in arm_masks]) + 1e-3
    share = coarse / coarse.sum(axis=0)
    behind = _torso(pose, origin, box, shoulder_w)
    clasped = len(arms) == 2 and min(
        float(np.linalg.norm(arms[0].wrist - arms[1].wrist)),
        float(np.linalg.norm(arms[0].hand_tip - arms[1].hand_tip))) < 0.45 * shoulder_w
    return ArmLayer(arms=arms, box=box, rgb=np.ascontiguousarray(roi_rgb[y0:y1, x0:x1]), mask=mask,
                    weights=(np.array(weights) * share[:, None]).astype(np.float32),
                    step=step, centre_x=float(shoulders[:, 0].mean()),
                    clasped=clasped, torso_behind=behind,
                    grid_mask=cv2.resize(mask, gxs.shape[::-1],
                                         interpolation=cv2.INTER_AREA) > HOLE_MASK)


#: The painted-out hole: the arm's mask over HOLE_MASK, grown by a square of
#: HOLE_MARGIN_PX a side.
HOLE_MASK = 0.05
HOLE_MARGIN_PX = 11
#: Pixels the person mask gives at least this share are the body's, for filling.
BODY_SHARE = 0.5
#: Under an arm, the filled body mask is steepened this much about one half.
EDGE_GAIN = 3.0


def remove_arms(roi_rgb: np.ndarray, roi_mask: np.ndarray,
                layer: ArmLayer) -> tuple[np.ndarray, np.ndarray]:
    """The ROI's picture and person mask with the arms painted out from around them."""
    x0, y0, x1, y1 = layer.box
    # The arm and a margin round it are filled: the arm's soft edge mixes in its colour.
    hole = cv2.dilate((layer.mask > HOLE_MASK).astype(np.uint8),
                      np.ones((HOLE_MARGIN_PX, HOLE_MARGIN_PX), np.uint8))
    share = roi_mask[y0:y1, x0:x1]
    # The body's colour comes from the body alone: where an arm crossed the body's
    # edge, the background beside it would mix in as a grey smear.
    known_body = (share >= BODY_SHARE) & (hole == 0)
    rgb = roi_rgb.copy()
    filled = cv2.inpaint(np.ascontiguousarray(roi_rgb[y0:y1, x0:x1]),
                         (~known_body).astype(np.uint8), 7, cv2.INPAINT_TELEA)
    rgb[y0:y1, x0:x1][hole > 0] = filled[hole > 0]
    mask = roi_mask.copy()
    person = np.clip(share * 255, 0, 255).astype(np.uint8)
    around = cv2.inpaint(person, hole, 7, cv2.INPAINT_TELEA) / 255.0
    # ... and its edge there is as crisp as a body's edge, not a long fade.
    around = np.where(hole > 0, np.clip((around - 0.5) * EDGE_GAIN + 0.5, 0.0, 1.0), around)
    # Behind an arm lies the torso where the torso is, else what surrounds the arm.
    mask[y0:y1, x0:x1] = np.maximum(around, layer.torso_behind * (hole > 0))
    return rgb, mask


#: An arm pixel just outside its capsule still belongs to it when its colour is
#: this close (RGB distance) to the limb's own along its middle.
SAME_COLOUR_RGB = 50.0
WIDE_RADII = 1.9


def _same_colour(roi_rgb: np.ndarray, box: tuple[int, int, int, int], segments: tuple,
                 distances: list[np.ndarray], radii: list[float],
                 torso_rgb: np.ndarray, skin_rgb: np.ndarray) -> np.ndarray:
    """0..1: pixels near a bare limb (within WIDE_RADII of its radius) of its colour.

    Capsules are a guess at a limb's width; bare forearms and big hands are
    often wider, and skin left behind would smear into the painted-out photo.
    Sleeves are left to their capsules: a sleeve's colour is often the
    clothes' around it (a sweater, a white apron under white cuffs), which
    growing would take along.
    """
    x0, y0, x1, y1 = box
    patch = roi_rgb[y0:y1, x0:x1].astype(np.float32)
    found = np.zeros(patch.shape[:2], np.float32)
    # The hand's capsule is wide already; growing it takes pale clothes along.
    for (a, b), distance, radius in zip(segments[:2], distances[:2], radii[:2], strict=True):
        t = np.linspace(0.2, 0.8, 9)[:, None]
        samples = np.round(a + t * (b - a) - [x0, y0]).astype(int)
        inside = ((samples >= 0) & (samples < [x1 - x0, y1 - y0])).all(axis=1)
        if not inside.any():
            continue
        colour = np.median(patch[samples[inside, 1], samples[inside, 0]], axis=0)
        bare = _skin_like(colour[None, None], skin_rgb)[0, 0] > 0
        if not bare or np.linalg.norm(colour - torso_rgb) < 1.5 * SAME_COLOUR_RGB:
            continue
        near = distance < WIDE_RADII * radius
        close = np.linalg.norm(patch - colour, axis=2) < SAME_COLOUR_RGB
        found = np.maximum(found, (near & close).astype(np.float32))
    opened = cv2.morphologyEx(found, cv2.MORPH_OPEN, np.ones((3, 3), np.uint8))
    # Only what touches a limb: a patch of the same colour nearby (a white apron
    # under white sleeves) is not the arm, and would be lifted with it.
    limbs = np.min([d - r for d, r in zip(distances, radii, strict=True)], axis=0) < 0
    count, labels = cv2.connectedComponents(((opened > 0) | limbs).astype(np.uint8))
    touching = np.zeros(count, bool)
    touching[np.unique(labels[limbs])] = True
    touching[0] = False
    return cv2.GaussianBlur(opened * touching[labels], (0, 0), 1.0)


#: Skin: chromaticity within this of the face's, brightness within SKIN_BRIGHTNESS of it.
SKIN_CHROMA = 0.05
SKIN_BRIGHTNESS = (0.45, 1.6)


def _skin_like(rgb: np.ndarray, skin_rgb: np.ndarray) -> np.ndarray:
    """(h, w) float32 0/1: pixels of the skin's hue in light or shade."""
    pixels = rgb.astype(np.float32)
    total = pixels.sum(axis=2) + 1e-3
    skin = np.asarray(skin_rgb, np.float32)
    chroma = np.linalg.norm(pixels[..., :2] / total[..., None] - skin[:2] / skin.sum(), axis=2)
    ratio = total / max(float(skin.sum()), 1.0)
    return ((chroma < SKIN_CHROMA) & (ratio > SKIN_BRIGHTNESS[0])
            & (ratio < SKIN_BRIGHTNESS[1])).astype(np.float32)


def _torso(pose: np.ndarray, origin: np.ndarray, box: tuple[int, int, int, int],
           shoulder_w: float) -> np.ndarray:
    """Inside the box: where the torso surely is (between shoulders and hips, drawn
    in by a tenth of a shoulder width; below the shoulders on down when the hips
    are out of view)."""
    x0, y0, x1, y1 = box
    shoulders = pose[[11, 12], :2].astype(np.float64) - origin
    shoulders = shoulders + (shoulders.mean(axis=0) - shoulders) * 0.2
    hips = pose[[23, 24], :2].astype(np.float64) - origin
    if pose[[23, 24], 2].min() < 0.5:  # hips unseen: the torso runs on down
        hips = shoulders + [0.0, 4.0 * shoulder_w]
    polygon = np.vstack([shoulders, hips[::-1]]) - [x0, y0]
    inside = np.zeros((y1 - y0, x1 - x0), np.uint8)
    cv2.fillConvexPoly(inside, np.round(polygon).astype(np.int32), (1,))
    return inside.astype(np.float32)


def _distance(xs: np.ndarray, ys: np.ndarray, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Distance of every (xs, ys) from the segment a-b."""
    d = b - a
    length2 = max(float(d @ d), 1e-6)
    t = np.clip(((xs - a[0]) * d[0] + (ys - a[1]) * d[1]) / length2, 0.0, 1.0)
    return np.hypot(xs - a[0] - t * d[0], ys - a[1] - t * d[1])
