"""``eval --motion``: how much the person in any video moves, with no portrait or audio.

Made for comparing our videos with real footage: the same head, blink and
wrist figures as the full evaluation, with the video's first frame where a
face is found as the reference (its head pose is 0 degrees, its arms are the
ones whose wrists are measured). The face is followed from frame to frame (each
frame's face is searched near the last one found, the whole frame when lost),
so a person who walks across the picture is not lost.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from talkinghead.errors import InputError, NoFaceError
from talkinghead.quality import motion, pose
from talkinghead.quality.evaluate import rounded
from talkinghead.quality.scan import frame_landmarks, search_box
from talkinghead.quality.video import iter_frames, probe_video

#: Whole-frame finds remembered while following a face (one becomes the reference).
MAX_ACQUIRED_KEPT = 16


@dataclass(frozen=True)
class ClipMotion:
    """The motion figures of one video. ``reference_frame``: the frame whose head pose
    is 0 and whose visible arms are measured (the first with a face)."""

    video: str
    width: int
    height: int
    fps: float
    n_frames: int
    reference_frame: int
    face_found_share: float
    motion: motion.Motion
    arms: pose.Arms
    notes: list[str] = field(default_factory=list)

    def figures(self) -> dict[str, object]:
        """The figures as plain JSON-ready data."""
        return rounded({  # type: ignore[return-value]
            "inputs": {"video": self.video},
            "format": {"width": self.width, "height": self.height, "fps": self.fps,
                       "n_frames": self.n_frames},
            "reference_frame": self.reference_frame, "face_found_share": self.face_found_share,
            "motion": asdict(self.motion), "arms": asdict(self.arms), "notes": list(self.notes),
        })


def measure_clip(video: Path) -> ClipMotion:
    """Head, blink and wrist figures of ``video``; NoFaceError when no frame shows a face."""
    video = Path(video)
    info = probe_video(video)
    poses: list[tuple[int, np.ndarray]] = []
    held: dict[int, np.ndarray] = {}
    points, first = follow_face(pose.tee_pose(iter_frames(video), pose.pose_step(info.fps), poses),
                                keep=held)
    if len(points) == 0:
        raise InputError(f"{video}: the video has no frames")
    if first is None:
        raise NoFaceError(f"{video}: no face found in any of its {len(points)} frames")
    found = np.isfinite(points[:, 0, 0])
    notes = []
    if first > 0:
        notes.append(f"first face in frame {first}: head pose is relative to that frame")
    if not found.all():
        notes.append(f"no face found in {int((~found).sum())} of {len(points)} frames")
    arms = pose.measure_arms(pose.detect_pose(held[first]),
                             pose.as_track(poses, (info.width, info.height)))
    if arms.note:
        notes.append(f"wrists: {arms.note}")
    return ClipMotion(
        video=str(video), width=info.width, height=info.height, fps=info.fps,
        n_frames=len(points), reference_frame=first, face_found_share=float(found.mean()),
        motion=motion.measure_motion(points, points[first], info.fps), arms=arms, notes=notes,
    )


def follow_face(frames: Iterable[np.ndarray], *,
                keep: dict[int, np.ndarray] | None = None) -> tuple[np.ndarray, int | None]:
    """Face-mesh points of every frame, each searched near the last face found (the whole
    frame until one is found, and again when it is lost); faces found far from where
    the clip's face usually is are dropped (``drop_strays``).

    Returns (n, 478, 3) float32 points, NaN where no face, and the index of the first
    frame with a face (None without any); that frame is put in ``keep`` when given.
    """
    missing = np.full((478, 3), np.nan, np.float32)
    found: list[np.ndarray] = []
    # Frames where a whole-frame search found a face: the first face kept is one of
    # them (after a stray, the search starts over in the whole frame).
    acquired: dict[int, np.ndarray] = {}
    box: tuple[int, int, int, int] | None = None
    for idx, frame in enumerate(frames):
        height, width = frame.shape[:2]
        points = frame_landmarks(frame, box) if box is not None else None
        if points is None:
            points = frame_landmarks(frame, (0, 0, width, height))
            if points is not None and len(acquired) < MAX_ACQUIRED_KEPT:
                acquired[idx] = frame
        if points is None:
            found.append(missing)
            box = None
            continue
        box = search_box(points, width, height)
        found.append(points)
    points = drop_strays(np.array(found, np.float32).reshape(-1, 478, 3))
    seen = np.flatnonzero(np.isfinite(points[:, 0, 0]))
    first = int(seen[0]) if len(seen) else None
    if first is not None and keep is not None:
        # Past MAX_ACQUIRED_KEPT finds, an earlier frame stands in: it shows the same scene.
        keep[first] = acquired.get(first, next(iter(acquired.values())))
    return points, first


def drop_strays(points: np.ndarray) -> np.ndarray:
    """``points`` with the faces found away from where the clip's face usually is set
    to NaN: the whole-frame search can take a patch of background for a small face
    (a gazebo's shadows, once), and a pose measured against that reads as a turn
    on every other frame."""
    found = np.isfinite(points[:, 0, 0])
    if found.sum() < 3:
        return points
    centres = points[found, :, :2].mean(axis=1)
    sizes = np.ptp(points[found, :, :2], axis=1).max(axis=1)
    usual = np.median(centres, axis=0)
    stray = np.linalg.norm(centres - usual, axis=1) > np.median(sizes)
    out = points.copy()
    out[np.flatnonzero(found)[stray]] = np.nan
    return out
