"""``eval --suite``: render every image x audio pair, evaluate each, tabulate with medians.

Re-running it on the same folders is how quality is tracked over time: each
run rewrites the videos, the per-pair reports and the tables in its folder.
"""

from __future__ import annotations

import csv
import datetime as dt
import json
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path

from talkinghead import __version__
from talkinghead.config import Options
from talkinghead.errors import InputError, TalkingHeadError

IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".webp"}
AUDIO_SUFFIXES = {".wav", ".mp3", ".m4a", ".ogg", ".flac", ".webm"}

#: (column, section in the figures, key); "render_rtf" and "dur_diff_ms" are computed.
COLUMNS: list[tuple[str, str, str]] = [
    ("r_lag0", "lipsync", "r_lag0"),
    ("lag_ms", "lipsync", "best_lag_ms"),
    ("closed_silence", "lipsync", "closed_in_silence"),
    ("opening_std", "lipsync", "opening_std"),
    ("snaps_s", "lipsync", "snaps_per_s"),
    ("mbp_closed", "phones", "bilabial_closed_share"),
    ("id_dist", "identity", "mean_distance"),
    ("id_max", "identity", "max_distance"),
    ("id_front", "identity", "front_mean_distance"),
    ("bg_diff", "background", "mean_abs_diff"),
    ("yaw_range", "motion", "yaw_range_deg"),
    ("pitch_range", "motion", "pitch_range_deg"),
    ("yaw_p5_p95", "motion", "yaw_p5_p95_deg"),
    ("pitch_p5_p95", "motion", "pitch_p5_p95_deg"),
    ("roll_p5_p95", "motion", "roll_p5_p95_deg"),
    ("jitter_pct", "motion", "jitter_pct"),
    ("blinks_min", "motion", "blinks_per_min"),
    ("wrist_range_sw_max", "arms", "wrist_range_sw_max"),
    ("arms_found", "arms", "arms_found_share"),
    ("brisque_src", "image_quality", "source_face_brisque"),
    ("brisque_vid", "image_quality", "frames_face_brisque"),
    ("av_offset_ms", "format", "av_start_offset_ms"),
    ("face_found", "", "face_found_share"),
]
HEADERS = ["pair", "render_rtf", *(c[0] for c in COLUMNS), "dur_diff_ms", "error"]

Log = Callable[[str], None]


@dataclass(frozen=True)
class PairResult:
    """One rendered and evaluated pair; ``error`` set when either step failed."""

    image: Path
    audio: Path
    figures: dict[str, object] | None
    render_s: float | None
    error: str | None = None

    @property
    def name(self) -> str:
        return f"{self.image.stem}__{self.audio.stem}"


def find_inputs(images_dir: Path, audio_dir: Path) -> tuple[list[Path], list[Path]]:
    """The images and audio clips in the two folders, sorted by name."""
    for folder in (images_dir, audio_dir):
        if not folder.is_dir():
            raise InputError(f"not a folder: {folder}")
    images = sorted(p for p in images_dir.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)
    clips = sorted(p for p in audio_dir.iterdir() if p.suffix.lower() in AUDIO_SUFFIXES)
    if not images or not clips:
        raise InputError(f"found {len(images)} images in {images_dir} and {len(clips)} audio "
                         f"clips in {audio_dir}; need at least one of each")
    return images, clips


def run_suite(images_dir: Path, audio_dir: Path, out_dir: Path, *,
              options: Options | None = None, log: Log | None = None) -> list[PairResult]:
    """Render and evaluate every pair into ``out_dir``; a failing pair is recorded, not fatal.

    A transcript next to a clip (``speech.txt`` beside ``speech.wav``) is given
    to the generator and turns on the phone figures for that clip.
    """
    from talkinghead.pipeline import render_video  # heavy imports only when run
    from talkinghead.quality.evaluate import evaluate
    from talkinghead.quality.report import write_json, write_report

    options = options or Options()
    log = log or (lambda line: print(line, file=sys.stderr, flush=True))
    images, clips = find_inputs(images_dir, audio_dir)
    (out_dir / "videos").mkdir(parents=True, exist_ok=True)
    results = []
    for n, (image, clip) in enumerate(((i, c) for i in images for c in clips), start=1):
        transcript = clip.with_suffix(".txt")
        text = transcript.read_text() if transcript.is_file() else None
        name = f"{image.stem}__{clip.stem}"
        video = out_dir / "videos" / f"{name}.mp4"
        started = time.perf_counter()
        try:
            # The generator gets the transcript too, as a user would give it.
            clip_options = replace(options, transcript=text) if text else options
            summary = render_video(image, clip, video, clip_options)
            render_s = summary.elapsed_s
            ev = evaluate(image, clip, video, text=text)
            write_report(ev, out_dir / "reports" / f"{name}.html")
            write_json(ev, out_dir / "reports" / f"{name}.json")
            figures = ev.figures()
            figures["render"] = {"elapsed_s": render_s,
                                 "real_time_factor": summary.real_time_factor}
            results.append(PairResult(image, clip, figures, render_s))
            status = f"ok, r={ev.lipsync.r_lag0:.2f}"
        except TalkingHeadError as exc:
            results.append(PairResult(image, clip, None, None, exc.message))
            status = f"failed: {exc.message}"
        log(f"[{n}/{len(images) * len(clips)}] {name}: {status} "
            f"({time.perf_counter() - started:.1f} s)")
    return results


def table_rows(results: list[PairResult]) -> list[dict[str, object]]:
    """One row per pair (values or None), then the medians row."""
    rows = [_row(r) for r in results]
    median: dict[str, object] = {"pair": "**median**", "error": ""}
    for header in HEADERS[1:-1]:
        values = [value for row in rows if isinstance(value := row[header], int | float)]
        median[header] = statistics.median(values) if values else None
    return [*rows, median]


def write_tables(results: list[PairResult], out_dir: Path, *, command: str,
                 commit: str | None = None) -> tuple[Path, Path]:
    """Write results.md (with date, version, commit, command) and results.csv.

    ``commit`` is best read before rendering starts (see ``git_commit``).
    """
    rows = table_rows(results)
    out_dir.mkdir(parents=True, exist_ok=True)
    csv_path, md_path = out_dir / "results.csv", out_dir / "results.md"
    with csv_path.open("w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=HEADERS)
        writer.writeheader()
        for row in rows:
            writer.writerow({k: _cell(v, markdown=False) for k, v in row.items()})
    used = [h for h in HEADERS if h == "pair" or any(row.get(h) not in (None, "")
                                                     for row in rows)]
    lines = [
        "# talkinghead eval suite", "",
        f"- date: {dt.datetime.now(dt.UTC).strftime('%Y-%m-%d %H:%M UTC')}",
        f"- talkinghead {__version__}, commit {commit or 'unknown'}",
        f"- command: `{command}`",
        f"- pairs: {len(results)} ({sum(r.error is None for r in results)} evaluated)", "",
        "| " + " | ".join(used) + " |", "|" + "---|" * len(used),
        *("| " + " | ".join(_cell(row.get(h), markdown=True) for h in used) + " |"
          for row in rows), "",
    ]
    md_path.write_text("\n".join(lines))
    (out_dir / "results.json").write_text(json.dumps(
        [{"pair": r.name, "figures": r.figures, "error": r.error} for r in results], indent=1))
    return md_path, csv_path


def git_commit() -> str | None:
    """Short commit of the working directory's repository, if there is one."""
    try:
        out = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True,
                             text=True, timeout=10, check=True)
    except (OSError, subprocess.SubprocessError):
        return None
    return out.stdout.strip() or None


def _row(result: PairResult) -> dict[str, object]:
    row: dict[str, object] = {"pair": result.name, "error": result.error or ""}
    figures = result.figures or {}
    render = figures.get("render")
    row["render_rtf"] = render.get("real_time_factor") if isinstance(render, dict) else None
    for column, section, key in COLUMNS:
        values = figures.get(section) if section else figures
        row[column] = values.get(key) if isinstance(values, dict) else None
    fmt = figures.get("format")
    if isinstance(fmt, dict) and fmt.get("video_duration_s") is not None:
        row["dur_diff_ms"] = (fmt["video_duration_s"] - fmt["source_audio_duration_s"]) * 1000
    else:
        row["dur_diff_ms"] = None
    return row


def _cell(value: object, *, markdown: bool) -> str:
    if value is None:
        return "-" if markdown else ""
    if isinstance(value, float):
        return f"{value:.3g}" if abs(value) < 100 else f"{value:.0f}"
    text = str(value)
    return text.replace("|", "/") if markdown else text
