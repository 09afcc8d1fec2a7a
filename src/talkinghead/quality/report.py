"""The report: one self-contained HTML page, its PNGs alongside, and the figures as JSON."""

from __future__ import annotations

import base64
import html
import json
from pathlib import Path

from talkinghead.quality import plots
from talkinghead.quality.clip import ClipMotion
from talkinghead.quality.evaluate import Evaluation

#: (section, key, label, what good looks like)
ROWS: list[tuple[str, str, str, str]] = [
    ("lipsync", "r_lag0", "opening vs loudness, r at lag 0",
     "higher is better; near 0: the mouth ignores the sound"),
    ("lipsync", "best_lag_ms", "best lag (ms, + = mouth late)",
     "within one frame of 0; late lips are noticed from ~45 ms"),
    ("lipsync", "r_best", "r at the best lag", "close to r at lag 0"),
    ("lipsync", "closed_in_silence", "lips closed in silences >= 200 ms", "near 1"),
    ("lipsync", "opening_std", "opening spread (std)", "clearly above 0: the mouth moves"),
    ("lipsync", "snaps_per_s", "lips shut for a single frame, per second of speech",
     "0, as real lips: they take a frame or two to meet and to part"),
    ("phones", "bilabial_closed_share", "lips close at m/b/p", "near 1"),
    ("phones", "open_to_bilabial_ratio", "open vowel / bilabial opening", "well above 2"),
    ("identity", "mean_distance", "identity distance, mean (dlib)",
     "under 0.6, the lower the better"),
    ("identity", "max_distance", "identity distance, worst frame", "under 0.6"),
    ("identity", "front_mean_distance",
     "identity distance, frames facing as the portrait (yaw, pitch within 5 deg)",
     "the lower the better: turns aside, this is what shows damage"),
    ("background", "mean_abs_diff", "background |diff| to source, mean (0-255)",
     "a few levels (compression); more: the background moves"),
    ("background", "max_abs_diff", "background |diff|, worst frame", "close to the mean"),
    ("motion", "yaw_range_deg", "head yaw range (deg)", "a few degrees; 0: frozen head"),
    ("motion", "pitch_range_deg", "head pitch range (deg)", "a few degrees"),
    ("motion", "roll_range_deg", "head roll range (deg)", "a few degrees"),
    ("motion", "yaw_p5_p95_deg", "head yaw, 5-95 percentile range (deg)",
     "as a real speaker's (eval --motion on real footage)"),
    ("motion", "pitch_p5_p95_deg", "head pitch, 5-95 percentile range (deg)", "as above"),
    ("motion", "roll_p5_p95_deg", "head roll, 5-95 percentile range (deg)", "as above"),
    ("motion", "jitter_pct", "landmark jitter (% eye distance)", "low: under ~0.5"),
    ("motion", "blinks_per_min", "blinks per minute", "people: about 10-20"),
    ("arms", "arms_visible", "arms seen in the source (person's side)", ""),
    ("arms", "shoulder_width_px", "shoulder width (px, median)", ""),
    ("arms", "left_wrist_range_sw", "left wrist range (shoulder widths)",
     "0: a still hand; compare with real footage"),
    ("arms", "right_wrist_range_sw", "right wrist range (shoulder widths)", "as above"),
    ("arms", "wrist_range_sw_max", "wrist range, larger of the two", "as above"),
    ("arms", "left_wrist_path_sw", "left wrist path (shoulder widths)", "as above"),
    ("arms", "right_wrist_path_sw", "right wrist path (shoulder widths)", "as above"),
    ("arms", "arms_found_share", "frames where those arms are still found", "near 1"),
    ("image_quality", "source_brisque", "BRISQUE, source", "lower is better"),
    ("image_quality", "frames_brisque", "BRISQUE, frames", "close to the source"),
    ("image_quality", "source_face_brisque", "BRISQUE, source face region", "lower is better"),
    ("image_quality", "frames_face_brisque", "BRISQUE, frames' face region", "close to the source"),
    ("format", "video_duration_s", "video duration (s)", "the audio's, within a frame"),
    ("format", "audio_duration_s", "audio track duration (s)", "the source audio's"),
    ("format", "source_audio_duration_s", "source audio duration (s)", ""),
    ("format", "fps", "frames per second", ""),
    ("format", "av_start_offset_ms", "A/V start offset (ms)", "0"),
    ("format", "audio_lag_ms", "audio track lag vs source (ms)", "0"),
]
PICTURES = (("contact_sheet", plots.contact_sheet), ("mouth_strip", plots.mouth_strip),
            ("lipsync", plots.lipsync_plot), ("motion", plots.motion_plot))

_STYLE = """body{font:15px/1.45 system-ui,sans-serif;margin:2em auto;max-width:1320px;color:#222}
table{border-collapse:collapse;margin:1em 0}td,th{padding:.25em .8em;border-bottom:1px solid #ddd;
text-align:left}td.v{text-align:right;font-variant-numeric:tabular-nums}th{background:#f3f3f3}
img{max-width:100%;border:1px solid #ccc;margin:.5em 0}.muted{color:#777}code{font-size:90%}"""


def write_json(ev: Evaluation, path: Path) -> None:
    """Write the figures as JSON."""
    write_figures(ev.figures(), path)


def write_report(ev: Evaluation, path: Path) -> list[Path]:
    """Write the HTML report to ``path`` and its PNGs beside it; return the files written."""
    path.parent.mkdir(parents=True, exist_ok=True)
    written, images = [], []
    for name, draw in PICTURES:
        png = draw(ev)
        file = path.with_name(f"{path.stem}_{name}.png")
        file.write_bytes(png)
        written.append(file)
        images.append((name.replace("_", " "), png))
    path.write_text(render_html(ev, images))
    return [path, *written]


def render_html(ev: Evaluation, images: list[tuple[str, bytes]]) -> str:
    """The page: inputs, the figures with what good looks like, notes, then the pictures."""
    figures = ev.figures()
    esc = html.escape
    rows = []
    for section, key, label, good in ROWS:
        values = figures.get(section)
        if not isinstance(values, dict):
            continue
        rows.append(f"<tr><td>{esc(label)}</td><td class=v>{_fmt(values.get(key))}</td>"
                    f"<td class=muted>{esc(good)}</td></tr>")
    fmt = ev.format
    inputs = (f"<p><b>portrait</b> <code>{esc(ev.portrait)}</code> &middot; <b>audio</b> "
              f"<code>{esc(ev.audio)}</code> &middot; <b>video</b> <code>{esc(ev.video)}</code>"
              f"<br>{fmt.width}x{fmt.height}, {fmt.n_frames} frames at {fmt.fps:g} fps, "
              f"{esc(fmt.video_codec)} + {esc(fmt.audio_codec or 'no audio')}; face found in "
              f"{ev.face_found_share:.0%} of frames</p>")
    notes = "".join(f"<li>{esc(n)}</li>" for n in ev.notes)
    pictures = "".join(
        f"<h2>{esc(title)}</h2><img alt='{esc(title)}' "
        f"src='data:image/png;base64,{base64.b64encode(png).decode()}'>" for title, png in images)
    return (f"<!doctype html><html><head><meta charset=utf-8><title>talkinghead eval: "
            f"{esc(Path(ev.video).name)}</title><style>{_STYLE}</style></head><body>"
            f"<h1>talkinghead eval: {esc(Path(ev.video).name)}</h1>{inputs}"
            f"{f'<ul>{notes}</ul>' if notes else ''}"
            f"<table><tr><th>figure</th><th>value</th><th>what good looks like</th></tr>"
            f"{''.join(rows)}</table>{pictures}</body></html>\n")


def summary_lines(ev: Evaluation) -> list[str]:
    """A plain-text summary for the terminal: one figure per line."""
    figures = ev.figures()
    lines = [f"{ev.video}: {ev.format.n_frames} frames at {ev.format.fps:g} fps, face found in "
             f"{ev.face_found_share:.0%}"]
    lines.extend(_figure_lines(figures))
    lines.extend(f"  note: {n}" for n in ev.notes)
    return lines


def motion_summary_lines(clip: ClipMotion) -> list[str]:
    """``eval --motion``'s plain-text summary: the head, blink and wrist figures."""
    figures = clip.figures()
    lines = [f"{clip.video}: {clip.n_frames} frames at {clip.fps:g} fps, face found in "
             f"{clip.face_found_share:.0%}, reference frame {clip.reference_frame}"]
    lines.extend(_figure_lines(figures, sections={"motion", "arms"}))
    lines.extend(f"  note: {n}" for n in clip.notes)
    return lines


def write_figures(figures: dict[str, object], path: Path) -> None:
    """Write already JSON-ready figures (``ClipMotion.figures()``, say) to ``path``."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(figures, indent=2) + "\n")


def _figure_lines(figures: dict[str, object], *, sections: set[str] | None = None) -> list[str]:
    """One line per figure of ROWS present in ``figures`` (in ``sections`` when given)."""
    lines = []
    for section, key, label, _ in ROWS:
        values = figures.get(section)
        if sections is not None and section not in sections:
            continue
        if isinstance(values, dict) and values.get(key) is not None:
            lines.append(f"  {label:<44} {_fmt(values.get(key))}")
    return lines


def _fmt(value: object) -> str:
    if value is None:
        return "-"
    if isinstance(value, list | tuple):
        return html.escape(", ".join(str(v) for v in value) or "none")
    if isinstance(value, float):
        return f"{value:.3g}" if abs(value) < 10 else f"{value:.1f}"
    return html.escape(str(value))
