"""Characters the face mesh does not fit: drawn faces, mascots, animals.

A photo (or a human-like painting or anime face) goes through the face mesh
and the photo-real rig. Two kinds of picture must not:

- flat drawings on which the mesh "finds" a face that is not there: its
  eyes land on plain fill, not on the drawn eyes. There the photo-real path
  would paint a clean plate, synthetic teeth and skin over flat colour;
- pictures where the mesh finds nothing (a smiley, a cat).

They get a ``CharacterRig`` instead: a mouth box that opens like a jaw, eye
boxes that blink with a sliding lid, and nothing else touched. The boxes come
from the user (``Options.mouth`` / ``Options.eyes``), or are found: drawn
faces give their features as dark blobs and strokes inside a brighter shape.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from talkinghead.analysis import landmarks as lm
from talkinghead.analysis.face import FaceLandmarks, face_boxes

Box = tuple[int, int, int, int]  # x, y, width, height in pixels

FLAT_SHARE = 0.6  # a face region this much flat (no texture at all) is drawn art ...
ALL_FLAT_SHARE = 0.85  # ... and this flat, the mesh never fits it (mouth and eyes only)
EYE_CONTRAST = 30.0  # a drawn eye is at least this much darker or lighter than the face
CHEEKS = [50, 280]  # face-mesh points on the middle of each cheek


@dataclass(frozen=True)
class CharacterRig:
    """What the character renderer needs: the picture, its mouth and eyes."""

    image: np.ndarray  # (H, W, 3) uint8 RGB at output size
    mouth: Box
    eyes: tuple[Box, ...]
    mouth_line: np.ndarray  # per column of the mouth box: the row its stroke runs along
    chin_rows: np.ndarray  # per column: the first row below the mouth where the fill ends
    interior_rgb: tuple[int, int, int]  # an open mouth is filled with this
    lid_rgb: tuple[tuple[int, int, int], ...]  # per eye: the colour that closes it
    lids: tuple[np.ndarray, ...]  # per eye: the lid, (h, w, 3): what lies above it, drawn down
    flat: bool  # drawn art: warps keep hard edges (nearest colour)
    figure: np.ndarray | None = None  # (H, W) bool: the character, on a plain background
    background_rgb: tuple[int, int, int] = (0, 0, 0)  # the plain background's colour

    @property
    def max_open_px(self) -> float:
        """How far the jaw drops at jaw_open 1."""
        _, _, w, h = self.mouth
        return max(min(0.35 * w, 2.0 * h), 0.22 * w, 4.0)  # a line mouth opens by its width


def flat_share(rgb: np.ndarray, box: Box) -> float:
    """The share of ``box`` with no texture at all: about 0.95 on a flat drawing,
    under 0.1 on photos, paintings and the evaluation set's anime faces."""
    x, y, w, h = box
    region = cv2.cvtColor(rgb[y:y + h, x:x + w], cv2.COLOR_RGB2GRAY).astype(np.float32)
    if region.size < 64:
        return 0.0
    gx = cv2.Sobel(region, cv2.CV_32F, 1, 0, ksize=3)
    gy = cv2.Sobel(region, cv2.CV_32F, 0, 1, ksize=3)
    return float(np.mean(np.hypot(gx, gy) < 2.0))


def is_flat(rgb: np.ndarray, box: Box) -> bool:
    """True when most of ``box`` has no texture at all (flat fills, as in drawings)."""
    return flat_share(rgb, box) >= FLAT_SHARE


def mesh_misfits(rgb: np.ndarray, face: FaceLandmarks) -> bool:
    """True when the mesh does not fit what it found:

    - on a photo or painting, when a face detector sees no face there (a cat);
    - on a face of flat fills only (a smiley: the mesh takes its dots for
      eyes, but there is no face to turn);
    - on other flat art, when the mesh's irises land on plain fill.

    Photos, paintings and human-like anime keep the mesh.
    """
    xy = face.xy
    x0, y0 = np.maximum(xy.min(axis=0).astype(int), 0)
    x1, y1 = xy.max(axis=0).astype(int)
    box = (int(x0), int(y0), int(max(x1 - x0, 1)), int(max(y1 - y0, 1)))
    flat = flat_share(rgb, box)
    if flat < FLAT_SHARE:  # a photo or a painting: does a face detector see a face there?
        return not _detector_sees(rgb, box)
    if flat >= ALL_FLAT_SHARE:  # a face of flat fills: a smiley, a mascot, a logo
        return True
    gray = cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY).astype(np.float32)
    height, width = gray.shape
    cheeks = xy[CHEEKS]
    skin = float(np.median([_sample(gray, p, 3) for p in cheeks]))
    irises = [xy[lm.LEFT_IRIS[0]], xy[lm.RIGHT_IRIS[0]]]
    contrast = [abs(_sample(gray, p, 2) - skin) for p in irises]
    inside = all(0 <= p[0] < width and 0 <= p[1] < height for p in irises)
    return not inside or min(contrast) < EYE_CONTRAST


def _detector_sees(rgb: np.ndarray, box: Box) -> bool:
    """True when mediapipe's face detector finds a face holding the mesh's centre,
    in the whole picture or around the mesh (small faces in big pictures).

    The mesh alone "finds" faces in a cat's eye; the detector does not, while it
    finds every photo, painting and anime face of the evaluation set.
    """
    x, y, w, h = box
    centre_x, centre_y = x + w / 2, y + h / 2
    height, width = rgb.shape[:2]
    x0, y0 = max(int(x - w), 0), max(int(y - h), 0)
    x1, y1 = min(int(x + 2 * w), width), min(int(y + 2 * h), height)
    for offset_x, offset_y, picture in ((0, 0, rgb), (x0, y0, rgb[y0:y1, x0:x1])):
        for bx0, by0, bx1, by1 in face_boxes(picture):
            if (bx0 + offset_x <= centre_x <= bx1 + offset_x
                    and by0 + offset_y <= centre_y <= by1 + offset_y):
                return True
    return False


def find_drawn_features(rgb: np.ndarray) -> tuple[Box, tuple[Box, ...]] | None:
    """(mouth, eyes) of a drawn face: two similar dark blobs side by side, and the
    widest dark stroke below them, on flat art; None when there is no such pattern."""
    height, width = rgb.shape[:2]
    gray = cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY)
    # Features are darker than what surrounds them (a black-hat transform), whatever
    # the face's own shade: pupils in white eyes on a grey robot, dots on yellow.
    size = max(15, min(height, width) // 5) | 1
    kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (size, size))
    darker = cv2.morphologyEx(gray, cv2.MORPH_BLACKHAT, kernel)
    level, _ = cv2.threshold(darker, 0, 255, cv2.THRESH_BINARY + cv2.THRESH_OTSU)
    dark = (darker > max(level, 40)).astype(np.uint8) * 255
    count, _, stats, centres = cv2.connectedComponentsWithStats(dark, connectivity=8)
    blobs = []
    for k in range(1, count):  # a few dozen components
        x, y, w, h, area = (int(v) for v in stats[k])
        touches_border = x == 0 or y == 0 or x + w >= width or y + h >= height
        if touches_border or area < 20 or w > 0.4 * width or h > 0.4 * height:
            continue  # background, outlines of the whole figure, specks
        blobs.append((x, y, w, h, area, *centres[k]))
    best: tuple[float, Box, tuple[Box, ...]] | None = None
    for i, a in enumerate(blobs):
        for b in blobs[i + 1:]:
            left, right = (a, b) if a[5] < b[5] else (b, a)
            gap = right[5] - left[5]
            size = max(left[2], left[3], right[2], right[3])
            similar = 0.4 < left[4] / right[4] < 2.5
            level = abs(right[6] - left[6]) < 0.5 * max(left[3], right[3]) + 2
            if not (similar and level and gap > 1.5 * size):
                continue
            mid_x, eye_y = (left[5] + right[5]) / 2, max(left[6], right[6])
            below = [m for m in blobs if m is not left and m is not right
                     and m[6] > eye_y + 0.6 * size and m[6] < eye_y + 2.5 * gap
                     and abs(m[5] - mid_x) < 0.6 * gap]
            if not below:
                continue
            mouth = max(below, key=lambda m: m[2])  # the widest stroke under the eyes
            score = mouth[2] + left[4] ** 0.5 + right[4] ** 0.5
            if best is None or score > best[0]:
                best = (score, _box(mouth), (_box(left), _box(right)))
    if best is None:
        return None
    # Photos are full of dark blobs; only a flat drawing's are taken for a face.
    face = _union([best[1], *best[2]], width, height)
    return (best[1], best[2]) if is_flat(rgb, face) else None


def features_from_mesh(rgb: np.ndarray,
                       face: FaceLandmarks) -> tuple[Box, tuple[Box, ...]] | None:
    """Mouth and eye boxes from a face mesh that roughly fits a drawn character (flat
    art); None on anything else (a mesh in a cat's eye is no guide)."""
    xy = face.xy
    x0, y0 = np.maximum(xy.min(axis=0).astype(int), 0)
    x1, y1 = xy.max(axis=0).astype(int)
    if not is_flat(rgb, (int(x0), int(y0), int(max(x1 - x0, 1)), int(max(y1 - y0, 1)))):
        return None

    def around(indices: list[int], pad: float) -> Box:
        points = xy[indices]
        (x0, y0), (x1, y1) = points.min(axis=0), points.max(axis=0)
        px, py = pad * (x1 - x0), pad * max(y1 - y0, 4.0)
        return (int(x0 - px), int(y0 - py), int(x1 - x0 + 2 * px), int(y1 - y0 + 2 * py))

    mouth = around([*lm.OUTER_UPPER_LIP, *lm.OUTER_LOWER_LIP], 0.1)
    eyes = (around([*lm.LEFT_EYE_UPPER, *lm.LEFT_EYE_LOWER], 0.15),
            around([*lm.RIGHT_EYE_UPPER, *lm.RIGHT_EYE_LOWER], 0.15))
    return mouth, eyes


def build_character_rig(rgb: np.ndarray, mouth: Box, eyes: tuple[Box, ...]) -> CharacterRig:
    """The character rig for ``rgb`` with the given (or found) mouth and eye boxes."""
    height, width = rgb.shape[:2]
    mouth = _clip_box(mouth, width, height)
    eyes = tuple(_clip_box(eye, width, height) for eye in eyes)
    x, y, w, h = mouth
    region = rgb[y:y + h, x:x + w].astype(np.float32)
    lum = region @ np.array([0.299, 0.587, 0.114], np.float32)
    # The mouth's stroke: per column, the row of its darkest pixels (a smiley's
    # curve, a cat's mouth line); columns without a clear stroke follow their
    # neighbours.
    darkest = lum.min(axis=0)
    rows = np.argmin(lum, axis=0).astype(np.float32)
    clear = darkest < np.median(lum) - 25
    columns = np.arange(w)
    line = (np.interp(columns, columns[clear], rows[clear]) if clear.any()
            else np.full(w, h / 2.0, np.float32))
    line = cv2.GaussianBlur(line.reshape(1, -1).astype(np.float32), (0, 0), max(w / 40, 1.0))
    interior = region.reshape(-1, 3)[np.argsort(lum.reshape(-1))[: max(len(lum.flat) // 20, 1)]]
    lid_colours = tuple(_colour_above(rgb, eye) for eye in eyes)
    lids = tuple(_lid(rgb, eye) for eye in eyes)
    face_box = _union([mouth, *eyes], width, height)
    flat = is_flat(rgb, face_box)
    background = _plain_background(rgb) if flat else None
    figure = None if background is None else _figure(rgb, background, mouth)
    return CharacterRig(image=rgb, mouth=mouth, eyes=eyes, mouth_line=y + line.reshape(-1),
                        chin_rows=_fill_ends_below(rgb, mouth),
                        interior_rgb=_rgb(interior.mean(axis=0)), lid_rgb=lid_colours,
                        lids=lids, flat=flat,
                        figure=figure, background_rgb=background or (0, 0, 0))


def _plain_background(rgb: np.ndarray) -> tuple[int, int, int] | None:
    """The colour of a plain background (nearly all the border one colour), else None."""
    border = np.concatenate([rgb[0], rgb[-1], rgb[:, 0], rgb[:, -1]]).astype(np.int16)
    colour = np.median(border, axis=0)
    same = np.abs(border - colour).max(axis=1) <= 12
    return _rgb(colour) if same.mean() >= 0.9 else None


def _figure(rgb: np.ndarray, background: tuple[int, int, int],
            mouth: Box) -> np.ndarray | None:
    """The character standing on the plain background: the region off the background
    colour that holds the mouth, holes filled. None when it fills the picture."""
    off = (np.abs(rgb.astype(np.int16) - np.array(background, np.int16)).max(axis=2) > 20)
    off = cv2.morphologyEx(off.astype(np.uint8), cv2.MORPH_CLOSE, np.ones((5, 5), np.uint8))
    count, labels = cv2.connectedComponents(off)
    x, y, w, h = mouth
    inside = labels[y:y + h, x:x + w]
    ids = inside[inside > 0]
    if count < 2 or len(ids) == 0:
        return None
    figure = (labels == np.bincount(ids).argmax()).astype(np.uint8)
    contours, _ = cv2.findContours(figure, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)
    filled = np.zeros_like(figure)
    cv2.drawContours(filled, contours, -1, (1,), thickness=-1)
    return filled.astype(bool) if filled.mean() < 0.9 else None


def _fill_ends_below(rgb: np.ndarray, mouth: Box) -> np.ndarray:
    """Per column of the mouth box: the first row below it whose colour departs from
    the fill just under the mouth (the chin's outline), or the image's bottom."""
    x, y, w, h = mouth
    height = rgb.shape[0]
    start = min(y + h + 2, height - 1)
    below = rgb[start:, x:x + w].astype(np.float32)
    fill = below[: max(min(4, len(below)), 1)].mean(axis=0)  # the chin's own colour
    departs = np.abs(below - fill[None]).max(axis=2) > 40
    first = np.where(departs.any(axis=0), departs.argmax(axis=0), len(below))
    return (start + first).astype(np.float32)


def scale_box(box: Box, scale: float) -> Box:
    """A box given on the source image, at output size."""
    return tuple(int(round(v * scale)) for v in box)  # type: ignore[return-value]


def _sample(gray: np.ndarray, point: np.ndarray, radius: int) -> float:
    x, y = int(point[0]), int(point[1])
    patch = gray[max(y - radius, 0): y + radius + 1, max(x - radius, 0): x + radius + 1]
    return float(np.median(patch)) if patch.size else 0.0


def _box(blob: tuple) -> Box:
    x, y, w, h = blob[:4]
    return (int(x), int(y), int(w), int(h))


def _clip_box(box: Box, width: int, height: int) -> Box:
    x, y, w, h = box
    x0, y0 = min(max(x, 0), width - 1), min(max(y, 0), height - 1)
    x1, y1 = min(max(x + w, x0 + 1), width), min(max(y + h, y0 + 1), height)
    return (x0, y0, x1 - x0, y1 - y0)


def _union(boxes: list[Box], width: int, height: int) -> Box:
    x0 = min(b[0] for b in boxes)
    y0 = min(b[1] for b in boxes)
    x1 = max(b[0] + b[2] for b in boxes)
    y1 = max(b[1] + b[3] for b in boxes)
    return _clip_box((x0, y0, x1 - x0, y1 - y0), width, height)


def _colour_above(rgb: np.ndarray, eye: Box) -> tuple[int, int, int]:
    """The face's colour just above an eye: what a closing lid looks like."""
    x, y, w, h = eye
    strip = rgb[max(y - max(h // 3, 2), 0): max(y - 1, 1), x: x + w].reshape(-1, 3)
    if len(strip) == 0:
        strip = rgb[y: y + 1, x: x + w].reshape(-1, 3)
    return _rgb(np.median(strip, axis=0))


def _lid(rgb: np.ndarray, eye: Box) -> np.ndarray:
    """A lid for an eye: the band just above it (brow, fur, skin, flat fill) stretched
    over the eye's height, so a closing eye shows the face's own texture."""
    x, y, w, h = eye
    band = max(h // 3, 2)
    strip = rgb[max(y - band, 0): max(y, 1), x: x + w]
    if strip.size == 0:
        strip = rgb[y: y + 1, x: x + w]
    return cv2.resize(strip, (w, h), interpolation=cv2.INTER_NEAREST)


def _rgb(values: np.ndarray) -> tuple[int, int, int]:
    r, g, b = (int(round(float(v))) for v in values[:3])
    return (r, g, b)
