"""The Rig: everything the renderer needs to know about one portrait, computed once.

A Rig holds the region of the image that moves (the ROI around the person), a
clean background plate behind the person, and a control mesh: the 478 face
points, a coarse grid over hair, neck and background, and fixed points on the
ROI's border. Every ROI pixel is tied to the mesh by fixed barycentric weights,
so a frame's whole displacement field is one sparse matrix product.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np
from scipy import sparse
from scipy.spatial import Delaunay

from talkinghead.analysis import landmarks as lm
from talkinghead.analysis.arms import ArmLayer, arm_layer, find_arms, remove_arms
from talkinghead.analysis.body import BodyFrame, body_frame, body_weight, person_roi
from talkinghead.analysis.face import FaceLandmarks

#: A source mouth open by more than this share of face height shows its own
#: teeth, which are then reused inside the animated mouth.
OPEN_SOURCE_MOUTH_SHARE = 0.025

#: Displacements are smooth, so they are computed on a coarse grid and
#: upsampled: every ``field_step``-th pixel, about one step per this many
#: pixels of face height (at least 2): finer for small faces, coarser for big.
FACE_PX_PER_FIELD_STEP = 55

#: The person mask's soft fringe starts above this share: below it a pixel is
#: background, whatever its colour.
FRINGE_MIN = 0.02
#: Colour difference (levels) under which the person and the plate are too alike
#: to say how much of a fringe pixel is person.
MIN_CONTRAST = 24.0


@dataclass(frozen=True)
class FaceFrame:
    """The face's own axes in ROI pixels: origin at the mouth centre."""

    origin: np.ndarray  # (2,)
    right: np.ndarray  # (2,) unit vector from the image-left eye to the image-right eye
    down: np.ndarray  # (2,) unit vector from forehead towards chin
    height_px: float  # forehead (10) to chin (152)
    mouth_half_width_px: float

    def to_local(self, xy: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(u, v) coordinates of ``xy`` (N, 2): u along ``right``, v along ``down``."""
        rel = xy - self.origin
        return rel @ self.right, rel @ self.down

    def to_image(self, du: np.ndarray, dv: np.ndarray) -> np.ndarray:
        """Turn local displacements into (N, 2) image displacements."""
        return du[:, None] * self.right[None, :] + dv[:, None] * self.down[None, :]


@dataclass(frozen=True)
class SourceMouth:
    """A source photo's own open mouth, reused as the interior when it shows teeth.

    ``image`` is the source ROI (uint8 RGB); ``upper`` and ``lower`` its inner-lip
    contours (ROI pixels, corner to corner).
    """

    image: np.ndarray
    upper: np.ndarray
    lower: np.ndarray
    lip_rgb: np.ndarray  # (3,) typical lip colour


@dataclass(frozen=True)
class MouthZones:
    """Which face points belong to which part of the mouth: fixed per portrait.

    u, v: the face points in the face's own axes (see ``FaceFrame.to_local``).
    midline: (478,) v of the line between the source's inner lips, at each u.
    source_gap: (478,) how far the source's lips are apart at each u, grown to
        what closing them takes (0 where they touch).
    overlap: (478,) the part of ``source_gap`` beyond the measured gap: how far
        the closed lips overlap, given back first as the jaw opens.
    upper_lip, lower_lip: the lip points above and below the midline (a closed
        mouth's inner contours by name, since they touch), corners excluded.
    corners, inner_upper, inner_lower: the mouth corners and the inner contours.
    lip: every lip point; near_mouth: points near the mouth (lip shapes pull
        them along); cheeks: the cheeks a smile lifts.
    """

    u: np.ndarray
    v: np.ndarray
    midline: np.ndarray
    source_gap: np.ndarray
    overlap: np.ndarray
    lip: np.ndarray
    upper_lip: np.ndarray
    lower_lip: np.ndarray
    corners: np.ndarray
    inner_upper: np.ndarray
    inner_lower: np.ndarray
    near_mouth: np.ndarray
    cheeks: np.ndarray


@dataclass(frozen=True)
class PersonLayers:
    """The person as each frame warps it: RGB and mask in one uint8 RGBA image, so
    one remap a frame moves both (the mask to 1/255, under half a level of blend).

    body: the ROI's person (``Rig.roi_rgb``, ``Rig.roi_mask``).
    rest: the person as photographed, the gesturing arms where they rest, for
        the frames in which they are still (is ``body`` when the photo has none):
        the arm layer then needs no remap and no blend of its own.
    """

    body: np.ndarray
    rest: np.ndarray


@dataclass(frozen=True)
class OutlineCarry:
    """Control points around the face outline that follow the expression of the
    face point they ring: point ``ringed[k]`` moves by ``share[k]`` of face point
    ``face_point[k]``'s expression (the jaw's drop, mostly)."""

    ringed: np.ndarray  # (k,) control point indices
    face_point: np.ndarray  # (k,) face mesh indices
    share: np.ndarray  # (k,) float32 0..1
    #: (478 + k,) pixels from each face point, then each ringed point, down to the
    #: ROI's lower edge, which stays put: a chin near it may drop only part of that.
    room_below_px: np.ndarray


@dataclass(frozen=True)
class Rig:
    """A portrait prepared for animation (all coordinates in ROI pixels).

    image: the whole source frame, (H, W, 3) uint8 RGB.
    roi: (x0, y0, x1, y1) of the moving region within ``image``.
    roi_rgb, roi_plate: source and clean background inside the ROI, uint8 RGB
        (with ``arms``, roi_rgb has the moving arms painted out: they are drawn
        as a layer of their own).
    roi_mask: soft person mask inside the ROI, float32 0..1 (arms painted out too).
    arms: the arms that gesture, or None when the photo shows none clearly.
    control_xyz: (N, 3) control points; the first 478 are the face mesh.
    head_weight: (N,) how much each point follows the head (1 face .. 0 border).
    body_weight: (N,) how much each point breathes and sways with the body.
    barycentric: sparse weights tying the pixels of a coarse grid (every
        ``field_step``-th pixel, see ``field_size``) to the control points.
    """

    image: np.ndarray
    roi: tuple[int, int, int, int]
    roi_rgb: np.ndarray
    roi_plate: np.ndarray
    roi_mask: np.ndarray
    control_xyz: np.ndarray
    head_weight: np.ndarray
    body_weight: np.ndarray
    body: BodyFrame
    barycentric: sparse.csr_matrix
    field_step: int
    face: FaceFrame
    neck_pivot: np.ndarray  # (3,) rotation centre of the head, ROI pixels + depth
    turn_order: np.ndarray  # (N,) control points by row band, then x (see _turn_rows)
    turn_band: np.ndarray  # (N,) the band of each point in ``turn_order``
    skin_rgb: np.ndarray  # (3,) float32 typical skin colour
    white_rgb: np.ndarray | None  # (3,) the whites of the eyes: white in this photo's light
    source_lip_gap_px: np.ndarray  # (len(INNER_UPPER_LIP),) source opening per lip column
    source_mouth: SourceMouth | None  # the photo's own open mouth, when it shows one
    mouth_zones: MouthZones  # lip classification of the face points (render.deform)
    outline_carry: OutlineCarry  # rings round the face that follow its expression
    layers: PersonLayers  # roi_rgb and roi_mask as warped per frame, arms at rest too
    arms: ArmLayer | None = None

    @property
    def n_face(self) -> int:
        return 478

    @property
    def field_size(self) -> tuple[int, int]:
        """(width, height) of the coarse grid on which displacements are computed."""
        width, height = self.roi_size
        return -(-width // self.field_step), -(-height // self.field_step)

    @property
    def roi_size(self) -> tuple[int, int]:
        """(width, height) of the ROI."""
        return self.roi[2] - self.roi[0], self.roi[3] - self.roi[1]


def build_rig(image: np.ndarray, face: FaceLandmarks, mask: np.ndarray,
              pose: np.ndarray | None = None, hands: list[np.ndarray] | None = None) -> Rig:
    """Prepare ``image`` (RGB uint8) with its landmarks and person mask for animation.

    ``pose`` (mediapipe's 33 body points, pixels and visibility) lets visible
    arms gesture; ``hands`` (21 points each) outline their hands.
    """
    height, width = image.shape[:2]
    points = face.points.astype(np.float64)
    face_h = float(np.linalg.norm(points[lm.FOREHEAD, :2] - points[lm.CHIN, :2]))
    roi = person_roi(mask, _head_roi(points[:, :2], face_h, width, height),
                     margin_px=int(0.15 * face_h))
    x0, y0, x1, y1 = roi
    local = points.copy()
    local[:, 0] -= x0
    local[:, 1] -= y0
    local[:, 2] = _turning_depth(local, face_h)
    frame = _face_frame(local[:, :2], face_h)

    roi_w, roi_h = x1 - x0, y1 - y0
    extra, ringed, carry = _extra_points(local[:, :2], face_h, roi_w, roi_h)
    face_width = float(np.ptp(local[lm.FACE_OVAL, 0]))
    axis_depth = float(np.mean(local[:, 2])) + 0.5 * face_width  # the neck's turning axis
    control_xyz = np.vstack([local, np.column_stack(
        [extra, _outline_depth(local, extra, axis_depth, face_h)])])
    roi_rgb = np.ascontiguousarray(image[y0:y1, x0:x1])
    roi_mask = np.ascontiguousarray(mask[y0:y1, x0:x1], dtype=np.float32)
    head_weight = _head_weight(control_xyz[:, :2], frame, roi_w, roi_h, open_top=y0 == 0,
                               person_share=_person_around(roi_mask, control_xyz[:, :2],
                                                           0.1 * face_h))
    head_weight[: len(local)] = 1.0

    chin = local[lm.CHIN]
    body = body_frame(roi_mask, chin[:2], face_h)
    field_step = max(2, int(round(face_h / FACE_PX_PER_FIELD_STEP)))
    barycentric = _barycentric_matrix(control_xyz[:, :2], roi_w, roi_h, field_step)
    body_weights = body_weight(control_xyz[:, :2], body, roi_w, roi_h, 0.3 * face_h)
    control_weight = np.maximum(head_weight, body_weights)
    skin_rgb = _skin_colour(roi_rgb, local[:, :2])
    arms = None if pose is None else arm_layer(find_arms(pose, roi, hands or []), roi_rgb,
                                               roi_mask, pose, roi, skin_rgb)
    mobility = _mobility(barycentric, control_weight, roi_w, roi_h, field_step)
    if arms is not None:  # what a moving arm uncovers must come from the plate
        ax0, ay0, ax1, ay1 = arms.box
        reach = cv2.dilate(arms.mask, np.ones((9, 9), np.uint8))
        mobility[ay0:ay1, ax0:ax1] = np.maximum(mobility[ay0:ay1, ax0:ax1], reach)
    plate = _clean_plate(roi_rgb, roi_mask, mobility)
    person_rgb, roi_mask = _person_over_plate(roi_rgb, roi_mask, plate)
    person_rgb = _seal_source_mouth(person_rgb, local[:, :2], frame)
    neck_pivot = np.array([*(chin[:2] + frame.down * 0.25 * face_h), axis_depth])
    turn_order, turn_band = _turn_rows(control_xyz[:, :2], face_h)
    body_rgb, body_mask = (person_rgb, roi_mask) if arms is None else remove_arms(
        person_rgb, roi_mask, arms)
    return Rig(
        image=image,
        roi=roi,
        roi_rgb=body_rgb,
        roi_plate=plate,
        roi_mask=body_mask,
        control_xyz=control_xyz,
        head_weight=head_weight,
        body_weight=body_weights,
        body=body,
        barycentric=barycentric,
        field_step=field_step,
        face=frame,
        neck_pivot=neck_pivot,
        turn_order=turn_order,
        turn_band=turn_band,
        skin_rgb=skin_rgb,
        white_rgb=_eye_white(roi_rgb, local[:, :2]),
        source_lip_gap_px=_lip_gap(local[:, :2], frame),
        source_mouth=_source_mouth(roi_rgb, local[:, :2], frame),
        mouth_zones=_mouth_zones(local[:, :2], frame),
        outline_carry=OutlineCarry(
            ringed=np.flatnonzero(ringed >= 0) + len(local), face_point=ringed[ringed >= 0],
            share=carry[ringed >= 0].astype(np.float32),
            room_below_px=roi_h - 1.0 - np.concatenate([local[:, 1], extra[ringed >= 0, 1]])),
        layers=_person_layers(person_rgb, roi_mask, body_rgb, body_mask, arms, roi_rgb, plate),
        arms=arms,
    )


def _person_layers(person_rgb: np.ndarray, person_mask: np.ndarray, body_rgb: np.ndarray,
                   body_mask: np.ndarray, arms: ArmLayer | None, photo: np.ndarray,
                   plate: np.ndarray) -> PersonLayers:
    """RGBA person layers (see PersonLayers): at rest the arms are where the photo
    has them, so the rest layer is the person as photographed (over the plate)."""
    rest = np.dstack([person_rgb, _alpha8(person_mask)])
    if arms is None:
        return PersonLayers(body=rest, rest=rest)
    # The arms are the person, whatever the segmenter says: where they are surer,
    # their share is raised and the colour un-mixed again for it.
    x0, y0, x1, y1 = arms.box
    box = (slice(y0, y1), slice(x0, x1))
    share = np.maximum(person_mask[box], arms.mask)
    surer = arms.mask > person_mask[box]
    colour = _unmixed(photo[box].astype(np.float32), plate[box].astype(np.float32), share)
    rest[box][surer, :3] = (colour[surer] + 0.5).astype(np.uint8)
    rest[box][..., 3] = _alpha8(share)
    return PersonLayers(body=np.dstack([body_rgb, _alpha8(body_mask)]), rest=rest)


def _alpha8(mask: np.ndarray) -> np.ndarray:
    """A 0..1 mask as uint8 0..255, rounded."""
    return np.clip(mask * 255.0 + 0.5, 0, 255).astype(np.uint8)


def _head_roi(xy: np.ndarray, face_h: float, width: int, height: int) -> tuple[int, int, int, int]:
    """Head, hair and neck with room to move; the rest of the image never changes."""
    (fx0, fy0), (fx1, fy1) = xy.min(axis=0), xy.max(axis=0)
    x0 = int(max(0, fx0 - 0.75 * face_h))
    x1 = int(min(width, fx1 + 0.75 * face_h))
    y0 = int(max(0, fy0 - 0.8 * face_h))
    y1 = int(min(height, fy1 + 0.9 * face_h))
    return x0, y0, x1, y1


def _face_frame(xy: np.ndarray, face_h: float) -> FaceFrame:
    left_eye = xy[lm.LEFT_EYE_UPPER].mean(axis=0)
    right_eye = xy[lm.RIGHT_EYE_UPPER].mean(axis=0)
    right = right_eye - left_eye
    right /= np.linalg.norm(right)
    down = np.array([-right[1], right[0]])
    corners = xy[[lm.INNER_UPPER_LIP[0], lm.INNER_UPPER_LIP[-1]]]
    mouth_centre = xy[np.concatenate([lm.INNER_UPPER_LIP, lm.INNER_LOWER_LIP])].mean(axis=0)
    half_width = float(np.linalg.norm(corners[1] - corners[0]) / 2)
    return FaceFrame(origin=mouth_centre, right=right, down=down, height_px=face_h,
                     mouth_half_width_px=max(half_width, 2.0))


#: Rings of control points around the face outline, in face heights outside
#: it: a turning head stretches the hair beside its near cheek smoothly across
#: them instead of across a few long triangles (which shows as a zigzag edge).
OUTLINE_RINGS = (0.05, 0.12, 0.21, 0.32)
#: The rings carry the expression of the face point they ring, less with
#: distance, gone at this many face heights: a dropping jaw then pushes the
#: skin under the chin down with it instead of folding over points that stay
#: put (a hard, stepped edge along the chin).
CARRY_REACH = 0.25


def _extra_points(face_xy: np.ndarray, face_h: float, roi_w: int,
                  roi_h: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Rings around the face outline, a coarse grid beyond them, points on the ROI border.

    Returns the points, and for each the face point it rings (-1 for the grid)
    and how much of that point's expression it carries (``OutlineCarry``).
    """
    spacing = max(face_h / 4.0, 8.0)
    oval = face_xy[lm.FACE_OVAL]
    centre = oval.mean(axis=0)
    outward = (oval - centre) / np.linalg.norm(oval - centre, axis=1, keepdims=True)
    rings = np.vstack([oval + outward * share * face_h for share in OUTLINE_RINGS])
    parents = np.tile(np.asarray(lm.FACE_OVAL), len(OUTLINE_RINGS))
    carry = np.repeat(np.clip(1.0 - np.asarray(OUTLINE_RINGS) / CARRY_REACH, 0.0, 1.0),
                      len(oval))
    inside = (rings[:, 0] > 0) & (rings[:, 1] > 0) & (rings[:, 0] < roi_w - 1) & (
        rings[:, 1] < roi_h - 1)
    gx = np.linspace(0, roi_w - 1, max(2, int(roi_w / spacing) + 1))
    gy = np.linspace(0, roi_h - 1, max(2, int(roi_h / spacing) + 1))
    grid = np.stack(np.meshgrid(gx, gy), axis=-1).reshape(-1, 2)
    hull = cv2.convexHull(rings.astype(np.float32))
    distance = np.array([cv2.pointPolygonTest(hull, (float(x), float(y)), True) for x, y in grid])
    keep = distance < -0.4 * spacing  # outside the rings, not too close to them
    on_border = (grid[:, 0] == 0) | (grid[:, 1] == 0) | (grid[:, 0] == roi_w - 1) | (
        grid[:, 1] == roi_h - 1)
    grid = grid[keep | on_border]
    return (np.vstack([rings[inside], grid]),
            np.concatenate([parents[inside], np.full(len(grid), -1)]),
            np.concatenate([carry[inside], np.zeros(len(grid))]))


def _turning_depth(face_xyz: np.ndarray, face_h: float) -> np.ndarray:
    """The mesh's depth, smoothed near the face outline.

    Just inside the outline the mesh is seen edge-on: neighbouring points a few
    pixels apart differ in depth by a third of the face. A turn towards the
    camera opens that strip several times over, and unsmoothed it opens unevenly,
    triangle by triangle, which shows as a zigzag edge. Smoothing spreads the
    opening evenly; the middle of the face keeps its full relief.
    """
    xy, depth = face_xyz[:, :2], face_xyz[:, 2]
    sigma = 0.06 * face_h
    gap = np.linalg.norm(xy[:, None, :] - xy[None, :, :], axis=2)
    kernel = np.exp(-0.5 * (gap / sigma) ** 2)
    smoothed = kernel @ depth / kernel.sum(axis=1)
    outline = face_xyz[lm.FACE_OVAL, :2].astype(np.float32)
    inside = np.array([cv2.pointPolygonTest(outline, (float(x), float(y)), True)
                       for x, y in xy])
    near_edge = 1.0 - _smoothstep(np.clip(inside / (0.15 * face_h), 0.0, 1.0))
    return depth + (smoothed - depth) * near_edge


def _outline_depth(face_xyz: np.ndarray, xy: np.ndarray, axis_depth: float,
                   face_h: float) -> np.ndarray:
    """Depth for points off the face: the skull curving back from the face's outline.

    Right at the outline a point is as deep as the outline point nearest it, so
    depth is continuous there and a head turn does not fold; further out (hair
    over the crown and the back of the head) it recedes to the neck's turning
    axis, where a turn moves it least.
    """
    oval = face_xyz[lm.FACE_OVAL]
    distance = np.linalg.norm(xy[:, None, :] - oval[None, :, :2], axis=2)
    edge_depth = oval[np.argmin(distance, axis=1), 2]
    recede = _smoothstep(np.clip(distance.min(axis=1) / (0.4 * face_h), 0.0, 1.0))
    return edge_depth + (axis_depth - edge_depth) * recede


def _turn_rows(xy: np.ndarray, face_h: float) -> tuple[np.ndarray, np.ndarray]:
    """Control points ordered by row band, then left to right, and each one's band.

    A head turn keeps every band's order left to right (see render.deform), so
    the points a turn hides collapse onto the silhouette instead of folding over.
    """
    band = np.floor(xy[:, 1] / max(face_h / 24.0, 2.0)).astype(np.int64)
    order = np.lexsort((xy[:, 0], band))
    return order, band[order]


def _head_weight(xy: np.ndarray, frame: FaceFrame, roi_w: int, roi_h: int, *,
                 open_top: bool, person_share: np.ndarray) -> np.ndarray:
    """1 on the head, fading to 0 down the neck and towards the ROI border.

    ``open_top``: the ROI's top is the picture's own top edge. Nothing above it
    has to stay put, so the person there (as much as ``person_share``, 0..1 per
    point, says) does not fade towards it: hair cut off by the frame turns with
    the head instead of staying pinned to the edge, which sheared it into a
    wedge. The background still fades (a far point turning with the head would
    fetch a mirrored piece of the head from beyond the edge). The sides hold:
    what a turn brings in past them is a mirrored lock of hair, floating over
    the background; and so does the bottom (the body goes on below).
    """
    _, v = frame.to_local(xy)
    chin_v = 0.35 * frame.height_px  # the chin lies about this far below the mouth
    below_chin = (v - chin_v) / (0.55 * frame.height_px)
    neck = 1.0 - _smoothstep(np.clip(below_chin, 0.0, 1.0))
    to_sides = np.minimum.reduce([xy[:, 0], roi_w - 1 - xy[:, 0], roi_h - 1 - xy[:, 1]])
    to_border = np.minimum(to_sides, xy[:, 1])
    fade = _smoothstep(np.clip(to_border / (0.3 * frame.height_px), 0.0, 1.0))
    if not open_top:
        return neck * fade
    fade_sides = _smoothstep(np.clip(to_sides / (0.3 * frame.height_px), 0.0, 1.0))
    return neck * (fade + (fade_sides - fade) * person_share)


def _person_around(mask: np.ndarray, xy: np.ndarray, radius_px: float) -> np.ndarray:
    """0..1 per point: how much of the person lies within about ``radius_px`` of it
    (the mask blurred, doubled and clipped: a point at the person's edge reads 1)."""
    # Blurred at a few pixels' sigma on a shrunken mask: a face-sized sigma on a
    # full-size photo took seconds.
    scale = max(1.0, radius_px / 4.0)
    small = cv2.resize(mask, None, fx=1 / scale, fy=1 / scale, interpolation=cv2.INTER_AREA)
    around = cv2.GaussianBlur(small, (0, 0), radius_px / scale)
    at = np.round(xy / scale).astype(int).clip(0, [around.shape[1] - 1, around.shape[0] - 1])
    return np.clip(2.0 * around[at[:, 1], at[:, 0]], 0.0, 1.0)


def _smoothstep(t: np.ndarray) -> np.ndarray:
    return t * t * (3.0 - 2.0 * t)


def _barycentric_matrix(xy: np.ndarray, roi_w: int, roi_h: int,
                        step: int) -> sparse.csr_matrix:
    """(grid pixels, N) weights: displacement at grid pixel = weights @ point displacement.

    Grid pixel (i, j) sits at the centre of the ``step``-sized block (i, j), the
    convention cv2.resize uses when it upsamples the field back to full size.
    """
    triangulation = Delaunay(xy, qhull_options="QJ")
    xs = (np.arange(-(-roi_w // step)) + 0.5) * step - 0.5
    ys = (np.arange(-(-roi_h // step)) + 0.5) * step - 0.5
    px, py = np.meshgrid(np.clip(xs, 0, roi_w - 1), np.clip(ys, 0, roi_h - 1))
    pixels = np.column_stack([px.ravel(), py.ravel()])
    simplex = triangulation.find_simplex(pixels)
    simplex = np.where(simplex < 0, 0, simplex)  # hull covers the ROI; guard rounding
    transform = triangulation.transform[simplex]
    partial = np.einsum("nij,nj->ni", transform[:, :2], pixels - transform[:, 2])
    weights = np.column_stack([partial, 1.0 - partial.sum(axis=1)])
    rows = np.repeat(np.arange(len(pixels)), 3)
    cols = triangulation.simplices[simplex].ravel()
    return sparse.csr_matrix((weights.ravel().astype(np.float32), (rows, cols)),
                             shape=(len(pixels), len(xy)))


def _person_over_plate(roi_rgb: np.ndarray, roi_mask: np.ndarray,
                       plate: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The person's colour and mask such that, laid over the clean ``plate`` at rest,
    they give the photo back.

    Where the mask is partial (hair, the edge of a sleeve) the photo mixes the
    person with the background behind. That background, moved with a turning head,
    would show as a halo; so the person's colour there is un-mixed from the plate:
    photo = a * colour + (1 - a) * plate. Where the photo is further from the plate
    than the mask's share of the person could make it (dark curls the segmenter
    gave a fifth of a person), the share is raised to what it must be, or those
    curls would be painted out with the background. Where the share is tiny the
    un-mixed colour is unreliable and the person's nearby colour is used.
    """
    mask = roi_mask.astype(np.float32)
    nearby = _person_colour(roi_rgb, mask)
    photo, under = roi_rgb.astype(np.float32), plate.astype(np.float32)
    fringe = (mask > FRINGE_MIN) & (mask < 0.995)
    apart = np.abs(photo - under).max(axis=2)
    reach = np.maximum(np.abs(nearby.astype(np.float32) - under).max(axis=2), MIN_CONTRAST)
    share = np.where(fringe, np.maximum(mask, np.minimum(apart / reach, 1.0)), mask)
    share = share.astype(np.float32)
    trust = np.clip((share - FRINGE_MIN) / 0.2, 0.0, 1.0)[..., None]
    colour = trust * _unmixed(photo, under, share) + (1.0 - trust) * nearby
    out = np.where(fringe[..., None], colour + 0.5, roi_rgb).astype(np.uint8)
    return out, share


def _unmixed(photo: np.ndarray, behind: np.ndarray, share: np.ndarray) -> np.ndarray:
    """The foreground colour that, laid at ``share`` over ``behind``, gives ``photo``
    (float32, clipped to 0..255; shares under 0.05 counted as 0.05)."""
    out = behind + (photo - behind) / np.maximum(share, 0.05)[..., None]
    return np.clip(out, 0.0, 255.0)


def _person_colour(roi_rgb: np.ndarray, roi_mask: np.ndarray) -> np.ndarray:
    """The ROI with the person's colour carried out into the mask's soft edge:
    the solid person's colour, blurred outwards."""
    solid = (roi_mask >= 0.9).astype(np.float32)
    sigma = max(3.0, 0.012 * max(roi_mask.shape))
    weight = cv2.GaussianBlur(solid, (0, 0), sigma)
    spread = cv2.GaussianBlur(roi_rgb.astype(np.float32) * solid[..., None], (0, 0), sigma)
    edge = (roi_mask < 0.9) & (roi_mask > FRINGE_MIN) & (weight > 0.01)
    out = roi_rgb.copy()
    out[edge] = np.clip(spread[edge] / weight[edge, None], 0, 255).astype(np.uint8)
    return out


def _clean_plate(roi_rgb: np.ndarray, roi_mask: np.ndarray, mobility: np.ndarray) -> np.ndarray:
    """Background with the person painted out, so uncovered pixels show background.

    Only where the person can move (``mobility`` > 0): where nothing ever moves
    (the base of the body) the photo itself stays, however unsure the mask is.
    """
    h, w = roi_mask.shape
    scale = max(1, int(max(h, w) / 160))  # inpaint small: it is smooth anyway, and fast
    small = cv2.resize(roi_rgb, (max(w // scale, 1), max(h // scale, 1)),
                       interpolation=cv2.INTER_AREA)
    small_mask = cv2.resize(roi_mask, (small.shape[1], small.shape[0]),
                            interpolation=cv2.INTER_AREA)
    hole = cv2.dilate((small_mask > 0.15).astype(np.uint8), np.ones((5, 5), np.uint8))
    filled = cv2.inpaint(small, hole, 5, cv2.INPAINT_TELEA)
    filled = cv2.resize(filled, (w, h), interpolation=cv2.INTER_LINEAR)
    # Replace the whole soft fringe of the mask too: kept even in part, the
    # person's outline shows as a faint ghost once a turned head uncovers it.
    grow = max(3, int(max(h, w) / 100)) | 1
    person = np.clip(cv2.dilate(roi_mask, np.ones((grow, grow), np.uint8)) * 4.0, 0.0, 1.0)
    replace = person * np.clip(mobility * 4.0, 0.0, 1.0)
    # float32 weights at runtime; numpy's stubs lose the dtype through the arithmetic above.
    return cv2.blendLinear(roi_rgb, filled, 1.0 - replace, replace)  # type: ignore[arg-type]


def _mobility(barycentric: sparse.csr_matrix, control_weight: np.ndarray, roi_w: int,
              roi_h: int, step: int) -> np.ndarray:
    """0..1 per ROI pixel: how much it can move at most (0 = never)."""
    coarse = np.asarray(barycentric @ control_weight.astype(np.float32), dtype=np.float32)
    coarse = coarse.reshape(-(-roi_h // step), -(-roi_w // step))
    return cv2.resize(coarse, (roi_w, roi_h), interpolation=cv2.INTER_LINEAR)


def _skin_colour(roi_rgb: np.ndarray, xy: np.ndarray) -> np.ndarray:
    cheeks = xy[[50, 280, 101, 330, 205, 425]].astype(int)
    h, w = roi_rgb.shape[:2]
    cheeks[:, 0] = np.clip(cheeks[:, 0], 0, w - 1)
    cheeks[:, 1] = np.clip(cheeks[:, 1], 0, h - 1)
    return np.median(roi_rgb[cheeks[:, 1], cheeks[:, 0]].astype(np.float32), axis=0)


def _eye_white(roi_rgb: np.ndarray, xy: np.ndarray) -> np.ndarray | None:
    """The colour of the whites of the eyes (the sclera, irises left out): what white
    looks like in this photo's light. None when too little of it shows."""
    h, w = roi_rgb.shape[:2]
    found = []
    for upper, lower, iris in ((lm.LEFT_EYE_UPPER, lm.LEFT_EYE_LOWER, lm.LEFT_IRIS),
                               (lm.RIGHT_EYE_UPPER, lm.RIGHT_EYE_LOWER, lm.RIGHT_IRIS)):
        mask = np.zeros((h, w), np.uint8)
        outline = np.concatenate([xy[upper], xy[lower][::-1]])
        # Pulled in from the lids a little: the mesh's eye outline includes lid skin.
        middle = outline.mean(axis=0)
        outline = (middle + 0.75 * (outline - middle)).round().astype(np.int32)
        cv2.fillPoly(mask, [outline], (1,))
        centre = xy[iris[0]]
        radius = float(np.linalg.norm(xy[iris[1:]] - centre, axis=1).mean())
        cv2.circle(mask, (int(centre[0]), int(centre[1])), int(radius * 1.3) + 1, (0,), -1)
        found.append(roi_rgb[mask.astype(bool)].astype(np.float32))
    pixels = np.concatenate(found)
    if len(pixels) < 12:
        return None
    luma = pixels @ np.array([0.299, 0.587, 0.114], np.float32)
    whites = pixels[luma >= np.percentile(luma, 80)]  # the lit sclera, not lashes or shadow
    return np.median(whites, axis=0)


def _seal_source_mouth(rgb: np.ndarray, xy: np.ndarray, frame: FaceFrame) -> np.ndarray:
    """``rgb`` with the photo's own mouth opening (teeth, say) painted as lips that
    meet: the upper lip's colour shading into the lower's, darker where they touch.

    Closing a parted mouth squeezes that opening to nothing, but the warp is
    smooth over a few pixels, so a band of it stays: a light seam of teeth along
    closed lips, wider on a turned head. Opened, the mouth is painted over anyway
    (``render.mouth``; the photo's teeth are kept in ``SourceMouth``).
    """
    if _lip_gap(xy, frame).max() < 1.0:
        return rgb
    height, width = rgb.shape[:2]

    def filled(points: np.ndarray) -> np.ndarray:
        canvas = np.zeros((height, width), np.uint8)
        cv2.fillPoly(canvas, [np.round(points).astype(np.int32)], (1,))
        return canvas > 0

    def distance_to(line: np.ndarray) -> np.ndarray:
        canvas = np.full((height, width), 255, np.uint8)
        cv2.polylines(canvas, [np.round(line).astype(np.int32)], False, (0,), 1)
        return cv2.distanceTransform(canvas, cv2.DIST_L2, 3)

    upper, lower = xy[lm.INNER_UPPER_LIP], xy[lm.INNER_LOWER_LIP]
    opening = filled(np.vstack([upper, lower[::-1]]))
    upper_lip = filled(np.vstack([xy[lm.OUTER_UPPER_LIP], upper[::-1]])) & ~opening
    lower_lip = filled(np.vstack([xy[lm.OUTER_LOWER_LIP], lower[::-1]])) & ~opening
    if not (opening.any() and upper_lip.any() and lower_lip.any()):
        return rgb
    top, bottom = (np.median(rgb[part], axis=0) for part in (upper_lip, lower_lip))
    from_top, from_bottom = distance_to(upper)[opening], distance_to(lower)[opening]
    share = (from_top / np.maximum(from_top + from_bottom, 1e-6))[:, None]
    shade = 1.0 - (1.0 - LIP_JUNCTION_SHADE) * (1.0 - np.abs(2.0 * share - 1.0))
    out = rgb.copy()
    out[opening] = np.clip(((1.0 - share) * top + share * bottom) * shade, 0, 255).astype(np.uint8)
    return out


def _lip_gap(xy: np.ndarray, frame: FaceFrame) -> np.ndarray:
    _, upper_v = frame.to_local(xy[lm.INNER_UPPER_LIP])
    _, lower_v = frame.to_local(xy[lm.INNER_LOWER_LIP])
    return np.maximum(lower_v - upper_v, 0.0)


#: The mesh's inner-lip points sit a little inside the visible lip edge of an
#: open mouth, so closing moves by more than the measured gap.
CLOSING_OVERSHOOT = 1.4
#: Where closed lips meet they are darker than the lips: this share of their colour.
LIP_JUNCTION_SHADE = 0.6


def _mouth_zones(xy: np.ndarray, frame: FaceFrame) -> MouthZones:
    """Classify the face points ``xy`` around the mouth (done once; every frame uses it)."""
    u, v = frame.to_local(xy)
    half_w, height = frame.mouth_half_width_px, frame.height_px
    upper_u, upper_v = u[lm.INNER_UPPER_LIP], v[lm.INNER_UPPER_LIP]
    lower_v = v[lm.INNER_LOWER_LIP]
    order = np.argsort(upper_u)
    midline = np.interp(u, upper_u[order], ((upper_v + lower_v) / 2)[order])
    gap = np.interp(u, upper_u[order], _lip_gap(xy, frame)[order], left=0.0, right=0.0)
    closing = np.where(gap > 0.5, gap * CLOSING_OVERSHOOT + 1.0, 0.0)
    overlap = np.where(gap > 0.5, closing - gap, 0.0)

    points = np.arange(len(u))
    lip = np.isin(points, lm.LIP_POINTS)
    # A closed mouth's inner contours touch, so classify them by name, the rest by side.
    upper_lip = lip & (v < midline)
    upper_lip[lm.INNER_UPPER_LIP] = True
    upper_lip[lm.INNER_LOWER_LIP] = False
    lower_lip = lip & ~upper_lip
    corners = np.isin(points, lm.MOUTH_CORNERS)
    upper_lip &= ~corners
    lower_lip &= ~corners
    near_mouth = (np.abs(v - midline) < 0.12 * height) & (np.abs(u) < 1.6 * half_w)
    cheeks = (np.abs(u) > 0.8 * half_w) & (np.abs(u) < 2.4 * half_w) & (v < midline) & (
        v > midline - 0.3 * height) & ~lip
    return MouthZones(u=u, v=v, midline=midline, source_gap=closing, overlap=overlap, lip=lip,
                      upper_lip=upper_lip, lower_lip=lower_lip, corners=corners,
                      inner_upper=np.isin(points, lm.INNER_UPPER_LIP),
                      inner_lower=np.isin(points, lm.INNER_LOWER_LIP),
                      near_mouth=near_mouth, cheeks=cheeks)


def _source_mouth(roi_rgb: np.ndarray, xy: np.ndarray, frame: FaceFrame) -> SourceMouth | None:
    if _lip_gap(xy, frame).max() < OPEN_SOURCE_MOUTH_SHARE * frame.height_px:
        return None
    lips = np.round(xy[np.concatenate([lm.OUTER_UPPER_LIP[3:8], lm.OUTER_LOWER_LIP[3:8]])])
    lips = lips.astype(int).clip(0, [roi_rgb.shape[1] - 1, roi_rgb.shape[0] - 1])
    # Sample between outer and inner contours: the lip's body, not its edge.
    inner = xy[np.concatenate([lm.INNER_UPPER_LIP[3:8], lm.INNER_LOWER_LIP[3:8]])]
    body = np.round((lips + inner) / 2).astype(int)
    lip_rgb = np.median(roi_rgb[body[:, 1], body[:, 0]].astype(np.float32), axis=0)
    return SourceMouth(image=roi_rgb, upper=xy[lm.INNER_UPPER_LIP].astype(np.float64),
                       lower=xy[lm.INNER_LOWER_LIP].astype(np.float64), lip_rgb=lip_rgb)
