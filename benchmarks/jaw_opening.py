"""How wide the mouth opens: real talking footage against our renders of it.

For each clip NAME.mp4 in the footage folder (with NAME_first.png, its first
frame, and NAME.wav, its sound), the inner-lip gap of every frame is measured
on the real video and on our render of NAME_first.png + NAME.wav (default
Options) the same way: the face followed frame to frame
(``quality.clip.follow_face``), the gap of the middle inner-lip columns in
eye-corner distances (``quality.lipsync.mouth_opening``), over the frames the
report's own loudness measure calls speech (``quality.lipsync.loudness_envelope``).
It prints the median, p90, p95, p99 and max of that gap, real against ours.

    python benchmarks/jaw_opening.py FOOTAGE_DIR [--work DIR] [--sheet PNG]
        [--also PORTRAIT AUDIO]...

Clips missing from the folder are skipped. ``--also`` adds pairs without a
real reference (our range only). ``--sheet`` saves the widest-open frames' mouths,
real above ours, one column per clip. ``--work`` keeps the renders (and reuses
them when present, so delete them after changing the renderer).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from talkinghead import Options  # noqa: E402
from talkinghead.analysis.rig import Rig  # noqa: E402
from talkinghead.inputs import load_audio  # noqa: E402
from talkinghead.pipeline import render_video  # noqa: E402
from talkinghead.quality import lipsync  # noqa: E402
from talkinghead.quality.clip import follow_face  # noqa: E402
from talkinghead.quality.scan import mouth_crop  # noqa: E402
from talkinghead.quality.video import iter_frames, probe_video  # noqa: E402

CLIPS = ("latentsync_demo1", "latentsync_demo2", "latentsync_demo3",
         "grid_bbaf2n", "grid_lbbc2a")
RATE_HZ = 16_000
PERCENTILES = (50, 90, 95, 99)


@dataclass(frozen=True)
class Opening:
    """Inner-lip gap (eye-corner distances) of one video, over its speech frames."""

    video: Path
    opening: np.ndarray  # per frame, NaN where no face
    speech: np.ndarray  # per frame, bool
    points: np.ndarray

    @property
    def face_height_eyes(self) -> float:
        """Forehead (10) to chin (152) in eye-corner distances, at the frame whose mouth
        is most closed (an open jaw lowers the chin)."""
        found = np.flatnonzero(np.isfinite(self.opening))
        rest = self.points[found[np.argmin(self.opening[found])]]
        return float(np.linalg.norm(rest[152, :2] - rest[10, :2])
                     / lipsync.eye_distance(rest[None])[0])

    @property
    def voiced(self) -> np.ndarray:
        return self.opening[self.speech & np.isfinite(self.opening)]

    def stats(self) -> dict[str, float]:
        values = self.voiced
        if len(values) == 0:
            return {**{f"p{p}": float("nan") for p in PERCENTILES}, "max": float("nan"), "n": 0,
                    "p99_fh": float("nan"), "max_fh": float("nan")}
        out: dict[str, float] = {f"p{p}": float(np.percentile(values, p)) for p in PERCENTILES}
        out["max"] = float(values.max())
        out["n"] = len(values)
        out["p99_fh"] = out["p99"] / self.face_height_eyes
        out["max_fh"] = out["max"] / self.face_height_eyes
        return out

    def widest(self) -> int:
        """The speech frame where the mouth is open widest (its p99, not a one-frame glitch)."""
        values = np.where(self.speech & np.isfinite(self.opening), self.opening, -np.inf)
        target = np.percentile(self.voiced, 99) if len(self.voiced) else 0.0
        return int(np.argmin(np.where(np.isfinite(values), np.abs(values - target), np.inf)))


def measure(video: Path, audio: Path) -> Opening:
    """The opening of every frame of ``video`` and which frames ``audio`` says are speech."""
    info = probe_video(video)
    points, _ = follow_face(iter_frames(video))
    mono = load_audio(audio, max_duration_s=3600.0).mono(RATE_HZ)
    envelope = lipsync.loudness_envelope(mono, RATE_HZ, info.fps, len(points))
    return Opening(video=video, opening=lipsync.mouth_opening(points),
                   speech=lipsync.speech_from_envelope(envelope), points=points)


def render(portrait: Path, audio: Path, out: Path, size: str) -> Path:
    if not out.exists():
        render_video(portrait, audio, out, Options(size=size))
    return out


def frame_at(video: Path, index: int) -> np.ndarray:
    for idx, frame in enumerate(iter_frames(video)):
        if idx == index:
            return frame
    raise IndexError(index)


def ceiling(portrait: Path, size: str) -> float:
    """The gap (eye-corner distances) of one frame rendered at jaw_open 1, nothing else
    moving: the widest our renderer opens this portrait's mouth."""
    from talkinghead.analysis.face import find_face
    from talkinghead.inputs import load_portrait
    from talkinghead.pipeline import fit_to_size, prepare_rig
    from talkinghead.quality.scan import frame_landmarks, search_box
    from talkinghead.render.frames import render_frame

    rgb = fit_to_size(load_portrait(portrait).rgb, Options(size=size).long_side_px)
    rig = prepare_rig(rgb)
    if not isinstance(rig, Rig):
        return float("nan")  # a character: no face mesh to measure it with
    frame = render_frame(rig, {"jaw_open": 1.0})
    box = search_box(find_face(rgb).points, rgb.shape[1], rgb.shape[0])
    points = frame_landmarks(frame, box)
    return float("nan") if points is None else float(lipsync.mouth_opening(points[None])[0])


def row(name: str, who: str, stats: dict[str, float], top: float | None = None) -> str:
    figures = " | ".join(f"{stats[f'p{p}']:.3f}" for p in PERCENTILES)
    return (f"| {name} | {who} | {int(stats['n'])} | {figures} | {stats['max']:.3f} | "
            f"{stats['p99_fh']:.3f} | {stats['max_fh']:.3f} | "
            f"{'' if top is None else f'{top:.3f}'} |")


def save_sheet(path: Path, pairs: list[tuple[str, Opening | None, Opening]]) -> None:
    import cv2

    cells = []
    for name, real, ours in pairs:
        column = []
        for who, seen in (("real", real), ("ours", ours)):
            if seen is None:
                crop = np.full((192, 288, 3), 40, np.uint8)
                label = f"{who}: none"
            else:
                idx = seen.widest()
                frame = frame_at(seen.video, idx)
                crop = cv2.resize(mouth_crop(frame, seen.points[idx]), (288, 192),
                                  interpolation=cv2.INTER_CUBIC)
                label = f"{who} f{idx} gap {seen.opening[idx]:.3f}"
            crop = np.ascontiguousarray(crop)
            cv2.putText(crop, label, (4, 16), cv2.FONT_HERSHEY_SIMPLEX, 0.45, (255, 255, 0), 1)
            column.append(crop)
        title = np.full((24, 288, 3), 255, np.uint8)
        cv2.putText(title, name[:36], (4, 17), cv2.FONT_HERSHEY_SIMPLEX, 0.45, (0, 0, 0), 1)
        cells.append(np.vstack([title, *column]))
    sheet = np.hstack([np.pad(c, ((0, 0), (2, 2), (0, 0)), constant_values=255) for c in cells])
    path.parent.mkdir(parents=True, exist_ok=True)
    cv2.imwrite(str(path), cv2.cvtColor(sheet, cv2.COLOR_RGB2BGR))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("footage", type=Path)
    parser.add_argument("--work", type=Path, default=None)
    parser.add_argument("--sheet", type=Path, default=None)
    parser.add_argument("--size", default=Options().size,
                        help="our render's size (default: the default Options')")
    parser.add_argument("--only", default=None, help="comma-separated clip names to run")
    parser.add_argument("--also", nargs=2, action="append", default=[], type=Path,
                        metavar=("PORTRAIT", "AUDIO"))
    args = parser.parse_args()
    work = args.work or Path(tempfile.mkdtemp(prefix="jaw_opening_"))
    work.mkdir(parents=True, exist_ok=True)

    jobs: list[tuple[str, Path | None, Path, Path]] = []
    for name in CLIPS if args.only is None else args.only.split(","):
        files = [args.footage / f"{name}{end}" for end in (".mp4", "_first.png", ".wav")]
        if all(f.is_file() for f in files):
            jobs.append((name, files[0], files[1], files[2]))
        else:
            print(f"skipped {name}: missing {', '.join(f.name for f in files if not f.is_file())}")
    for portrait, audio in args.also:
        jobs.append((f"{portrait.stem}+{audio.stem}", None, portrait, audio))

    print("Inner-lip gap over speech frames, in eye-corner distances (fh: in face heights);")
    print("jaw_open 1: one frame of ours at the jaw's full opening (the renderer's ceiling).")
    print("| clip | video | speech frames | median | p90 | p95 | p99 | max | p99 fh | max fh "
          "| jaw_open 1 |")
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    pairs = []
    for name, real_video, portrait, audio in jobs:
        real = measure(real_video, audio) if real_video is not None else None
        ours = measure(render(portrait, audio, work / f"{name}_{args.size}.mp4", args.size), audio)
        if real is not None:
            print(row(name, "real", real.stats()))
        print(row(name, "ours", ours.stats(), ceiling(portrait, args.size)), flush=True)
        pairs.append((name, real, ours))
    if args.sheet is not None and pairs:
        save_sheet(args.sheet, pairs)
        print(f"widest-open mouths: {args.sheet}")


if __name__ == "__main__":
    main()
