"""Arms and wrists: how far and how much the hands move, from mediapipe's pose model.

The pose model (33 body points, ``pose_landmark_full``, the one mediapipe
0.10.21 ships) runs on every ``pose_step``-th frame: about 12.5 poses a second,
so every 2nd frame at 25 or 30 fps. Each frame is measured on its own (static
image mode): mediapipe's video mode starts each frame from the last one's
landmarks, and on a still picture that feedback alone wanders by a tenth of a
shoulder width or more, which would read as arm motion. Positions are image pixels
of the decoded video; distances are in shoulder widths (the median distance
between the two shoulders over the video), so they do not depend on the size
of the person in the picture. Left and right are the person's own.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from functools import cache

import numpy as np
from scipy.ndimage import gaussian_filter1d

# The same lock and log silencer as the face mesh: mediapipe graphs are not
# thread-safe, and the silencer swaps the process's stderr, which two threads
# must not do at once.
from talkinghead.analysis.face import _LOCK, _quiet_native_logs
from talkinghead.errors import RenderError

#: Poses per second of video the wrist track is sampled at (see pose_step).
POSE_RATE_HZ = 12.5
#: A body point counts as seen when its visibility is above this and it lies in the image.
MIN_VISIBILITY = 0.5
#: The wrist track is smoothed by a Gaussian of this many samples before its path is summed.
SMOOTH_SAMPLES = 1.0
#: The wrist's range is this percentile of its distance from its median position.
RANGE_PERCENTILE = 95
#: mediapipe's pose points of each arm: shoulder, elbow, wrist.
ARMS: dict[str, tuple[int, int, int]] = {"left": (11, 13, 15), "right": (12, 14, 16)}
N_POINTS = 33


@dataclass(frozen=True)
class PoseTrack:
    """Pose on the sampled frames of one video.

    frames: (m,) frame indices; points: (m, 33, 3) x, y in pixels and
    visibility (0..1), NaN where no person was found; size: (width, height).
    """

    frames: np.ndarray
    points: np.ndarray
    size: tuple[int, int]


@dataclass(frozen=True)
class Arms:
    """How much the hands move. Ranges and paths in shoulder widths.

    arms_visible: the arms (shoulder, elbow and wrist seen) in the reference
    picture; only their wrists are measured, the others' figures are None.
    *_wrist_range_sw: 95th percentile of the wrist's distance from its median
    position; *_wrist_path_sw: path length of the lightly smoothed wrist track.
    arms_found_share: share of sampled frames where every one of those arms is
    still seen. pose_step_frames: the pose ran on every this many frames.
    """

    arms_visible: tuple[str, ...]
    shoulder_width_px: float | None
    left_wrist_range_sw: float | None
    left_wrist_path_sw: float | None
    right_wrist_range_sw: float | None
    right_wrist_path_sw: float | None
    wrist_range_sw_max: float | None
    wrist_path_sw_max: float | None
    arms_found_share: float | None
    pose_step_frames: int
    note: str | None = None


def pose_step(fps: float) -> int:
    """Run the pose on every this many frames: about POSE_RATE_HZ poses a second."""
    return max(1, int(round(fps / POSE_RATE_HZ)))


def detect_pose(rgb: np.ndarray) -> np.ndarray:
    """(33, 3) pose points of one picture (x, y px, visibility); NaN without a person."""
    with _LOCK, _quiet_native_logs():
        return _points(_still_pose(), rgb)


def tee_pose(frames: Iterable[np.ndarray], step: int,
             sink: list[tuple[int, np.ndarray]]) -> Iterator[np.ndarray]:
    """Yield ``frames`` unchanged; append (index, pose points) of every ``step``-th to ``sink``.

    Lets the pose ride along another pass over the frames (the face scan), so
    the video is decoded once.
    """
    for idx, frame in enumerate(frames):
        if idx % step == 0:
            sink.append((idx, detect_pose(frame)))
        yield frame


def track_pose(frames: Iterable[np.ndarray], step: int) -> PoseTrack:
    """The pose on every ``step``-th of ``frames`` (all the same size)."""
    sink: list[tuple[int, np.ndarray]] = []
    size = (0, 0)
    for frame in tee_pose(frames, step, sink):
        size = (frame.shape[1], frame.shape[0])
    return as_track(sink, size)


def as_track(sink: list[tuple[int, np.ndarray]], size: tuple[int, int]) -> PoseTrack:
    """A PoseTrack from what ``tee_pose`` collected; ``size`` is the frames' (width, height)."""
    frames = np.array([idx for idx, _ in sink], dtype=int)
    points = np.array([p for _, p in sink], np.float64).reshape(-1, N_POINTS, 3)
    return PoseTrack(frames=frames, points=points, size=size)


def seen(points: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """Which pose points (any leading shape, last axis x, y, visibility) are seen:
    visibility above MIN_VISIBILITY and inside the ``size`` = (width, height) image."""
    x, y, vis = points[..., 0], points[..., 1], points[..., 2]
    with np.errstate(invalid="ignore"):
        return ((vis > MIN_VISIBILITY) & (x >= 0) & (x < size[0])
                & (y >= 0) & (y < size[1]))


def visible_arms(reference: np.ndarray, size: tuple[int, int]) -> tuple[str, ...]:
    """The arms whose shoulder, elbow and wrist are all seen in the (33, 3) ``reference``."""
    ok = seen(reference, size)
    return tuple(side for side, idx in ARMS.items() if ok[list(idx)].all())


def shoulder_width(track: PoseTrack) -> float | None:
    """Median distance in pixels between the shoulders, over frames where both are seen."""
    shoulders = track.points[:, [ARMS["left"][0], ARMS["right"][0]]]
    both = seen(shoulders, track.size).all(axis=1)
    if not both.any():
        return None
    return float(np.median(np.linalg.norm(shoulders[both, 0, :2] - shoulders[both, 1, :2],
                                          axis=1)))


def wrist_positions(track: PoseTrack, side: str) -> np.ndarray:
    """(m, 2) wrist track, gaps (wrist not seen) filled by straight lines and the ends
    held, lightly smoothed (SMOOTH_SAMPLES); all NaN when the wrist is never seen."""
    wrist = track.points[:, ARMS[side][2]]
    ok = seen(wrist, track.size)
    if not ok.any():
        return np.full((len(wrist), 2), np.nan)
    at = np.arange(len(wrist))
    filled = np.stack([np.interp(at, at[ok], wrist[ok, k]) for k in (0, 1)], axis=1)
    return gaussian_filter1d(filled, SMOOTH_SAMPLES, axis=0, mode="nearest")


def wrist_offsets(track: PoseTrack, side: str, width_px: float) -> np.ndarray:
    """(m,) distance of the smoothed wrist from its median position, in shoulder widths;
    NaN at samples where the wrist was not seen."""
    positions = wrist_positions(track, side)
    ok = seen(track.points[:, ARMS[side][2]], track.size)
    if not ok.any():
        return np.full(len(positions), np.nan)
    centre = np.median(positions[ok], axis=0)
    distance = np.linalg.norm(positions - centre, axis=1) / width_px
    return np.where(ok, distance, np.nan)


def measure_arms(reference: np.ndarray, track: PoseTrack) -> Arms:
    """Wrist figures of ``track`` for the arms seen in the (33, 3) ``reference`` pose."""
    step = int(np.diff(track.frames[:2])[0]) if len(track.frames) > 1 else 1
    arms = visible_arms(reference, track.size)
    empty = dict.fromkeys(("left_wrist_range_sw", "left_wrist_path_sw", "right_wrist_range_sw",
                           "right_wrist_path_sw", "wrist_range_sw_max", "wrist_path_sw_max",
                           "arms_found_share"))
    width = shoulder_width(track)
    if not arms or len(track.frames) == 0:
        return Arms(arms_visible=arms, shoulder_width_px=width, pose_step_frames=step,
                    note="no arms visible" if not arms else "no frames", **empty)
    if width is None or width <= 0:
        return Arms(arms_visible=arms, shoulder_width_px=None, pose_step_frames=step,
                    note="the two shoulders are never both visible", **empty)
    figures: dict[str, float | None] = dict(empty)
    ranges, paths = [], []
    for side in arms:
        offsets = wrist_offsets(track, side, width)
        path = np.linalg.norm(np.diff(wrist_positions(track, side), axis=0), axis=1).sum()
        ranges.append(float(np.nanpercentile(offsets, RANGE_PERCENTILE)))
        paths.append(float(path / width))
        figures[f"{side}_wrist_range_sw"], figures[f"{side}_wrist_path_sw"] = ranges[-1], paths[-1]
    figures["wrist_range_sw_max"] = max(ranges)
    figures["wrist_path_sw_max"] = max(paths)
    every_arm = seen(track.points[:, [i for s in arms for i in ARMS[s]]], track.size).all(axis=1)
    figures["arms_found_share"] = float(every_arm.mean())
    return Arms(arms_visible=arms, shoulder_width_px=width, pose_step_frames=step, note=None,
                **figures)


def wrist_series(track: PoseTrack, arms: Arms) -> np.ndarray:
    """(m, 2) distance of the left and the right wrist from its median position, in
    shoulder widths, per sampled frame; NaN for an arm not measured or a wrist not seen."""
    out = np.full((len(track.frames), 2), np.nan)
    if arms.shoulder_width_px is None or arms.wrist_range_sw_max is None:
        return out
    for k, side in enumerate(ARMS):
        if side in arms.arms_visible:
            out[:, k] = wrist_offsets(track, side, arms.shoulder_width_px)
    return out


@cache
def _still_pose():  # type: ignore[no-untyped-def]
    import mediapipe as mp

    return mp.solutions.pose.Pose(static_image_mode=True, model_complexity=1)


def _points(graph, rgb: np.ndarray) -> np.ndarray:  # type: ignore[no-untyped-def]
    """Run the pose ``graph`` on ``rgb`` (the caller holds the lock): (33, 3) x, y px,
    visibility; NaN without a person."""
    try:
        result = graph.process(np.ascontiguousarray(rgb))
    except Exception as exc:  # mediapipe raises plain RuntimeError on internal failure
        raise RenderError(f"pose model failed: {exc}") from exc
    if result.pose_landmarks is None:
        return np.full((N_POINTS, 3), np.nan)
    height, width = rgb.shape[:2]
    return np.array([(p.x * width, p.y * height, p.visibility)
                     for p in result.pose_landmarks.landmark], np.float64)
