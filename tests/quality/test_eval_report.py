"""The report, the JSON, the command line and the suite's tables."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from talkinghead.cli import main
from talkinghead.quality import suite
from talkinghead.quality.report import write_json, write_report
from talkinghead.quality.video import audio_lag_ms, probe_video


def test_probe_reads_codecs_fps_and_offset(static_video, n_frames) -> None:
    info = probe_video(static_video)
    assert (info.video_codec, info.audio_codec, info.fps) == ("h264", "aac", 25.0)
    assert (info.width, info.height) == (256, 320)
    assert info.av_start_offset_ms == 0.0


def test_format_figures_of_the_static_video(static_eval, n_frames, clip) -> None:
    fmt = static_eval.format
    assert fmt.n_frames == n_frames
    assert abs(fmt.video_duration_s - clip[1].duration_s) <= 1 / 25
    assert abs(fmt.audio_duration_s - clip[1].duration_s) < 0.05
    assert fmt.audio_lag_ms is not None and abs(fmt.audio_lag_ms) < 5


def test_audio_lag_is_found_and_unrelated_sound_is_not_matched() -> None:
    rng = np.random.default_rng(0)
    reference = rng.normal(size=16_000).astype(np.float32)
    late = np.concatenate([np.zeros(800, np.float32), reference])  # 50 ms late
    assert audio_lag_ms(reference, late, 16_000) == 50.0
    assert audio_lag_ms(reference, rng.normal(size=16_000), 16_000) is None


def test_report_has_figures_and_pictures(static_eval, tmp_path: Path) -> None:
    files = write_report(static_eval, tmp_path / "out" / "report.html")
    names = sorted(f.name for f in files)
    assert names == ["report.html", "report_contact_sheet.png", "report_lipsync.png",
                     "report_motion.png", "report_mouth_strip.png"]
    page = (tmp_path / "out" / "report.html").read_text()
    assert page.count("data:image/png;base64,") == 4
    assert "identity distance" in page and "lips closed in silences" in page
    for png in files[1:]:
        assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and png.stat().st_size > 5_000
    write_json(static_eval, tmp_path / "figures.json")
    figures = json.loads((tmp_path / "figures.json").read_text())
    assert figures["identity"]["same_person_share"] == 1.0
    assert figures["phones"] is None and figures["format"]["fps"] == 25.0


def test_cli_eval_writes_json_and_maps_bad_input_to_exit_2(portrait, clip, static_video,
                                                          tmp_path: Path, capsys) -> None:
    assert main(["eval", str(portrait[0]), str(clip[0])]) == 2
    assert "PORTRAIT AUDIO VIDEO" in capsys.readouterr().err
    assert main(["eval", str(portrait[0]), str(clip[0]), str(tmp_path / "missing.mp4")]) == 2
    out = tmp_path / "f.json"
    assert main(["eval", str(portrait[0]), str(clip[0]), str(static_video),
                 "--json", str(out)]) == 0
    assert "background |diff|" in capsys.readouterr().out
    assert json.loads(out.read_text())["lipsync"]["opening_std"] < 0.005


def _result(name: str, r: float | None, error: str | None = None) -> suite.PairResult:
    figures = None if r is None else {
        "lipsync": {"r_lag0": r, "best_lag_ms": 0.0}, "face_found_share": 1.0,
        "format": {"video_duration_s": 3.2, "source_audio_duration_s": 3.19},
        "render": {"real_time_factor": 0.5}}
    return suite.PairResult(Path(f"{name}.png"), Path("a.wav"), figures, 1.0, error)


def test_suite_tables_have_a_row_per_pair_and_medians(tmp_path: Path) -> None:
    results = [_result("a", 0.2), _result("b", 0.6), _result("c", 0.5),
               _result("d", None, "d.png: no face found")]
    rows = suite.table_rows(results)
    assert [row["pair"] for row in rows] == ["a__a", "b__a", "c__a", "d__a", "**median**"]
    assert rows[-1]["r_lag0"] == 0.5 and rows[-1]["render_rtf"] == 0.5
    md, csv_path = suite.write_tables(results, tmp_path, command="talkinghead eval --suite x y",
                                      commit="abc1234")
    text = md.read_text()
    assert "| pair | render_rtf | r_lag0 | lag_ms |" in text and "no face found" in text
    assert "talkinghead eval --suite x y" in text and "date:" in text and "abc1234" in text
    assert len(csv_path.read_text().strip().splitlines()) == 6


def test_suite_renders_and_evaluates_each_pair(portrait, clip, tmp_path: Path) -> None:
    images, audio = tmp_path / "images", tmp_path / "audio"
    images.mkdir()
    audio.mkdir()
    (images / "face.png").write_bytes(portrait[0].read_bytes())
    (images / "notes.txt").write_text("not an image")
    (audio / "speech.wav").write_bytes(clip[0].read_bytes())
    out = tmp_path / "out"
    assert main(["eval", "--suite", str(images), str(audio), "--out", str(out), "-q"]) == 0
    assert (out / "videos" / "face__speech.mp4").is_file()
    assert (out / "reports" / "face__speech.html").is_file()
    table = (out / "results.md").read_text()
    assert "| face__speech |" in table and "| **median** |" in table


def test_cli_eval_motion_prints_and_writes_only_motion_figures(rolling_video, tmp_path: Path,
                                                               capsys) -> None:
    out = tmp_path / "motion.json"
    assert main(["eval", "--motion", str(rolling_video[0]), "--json", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "reference frame 3" in printed and "head roll, 5-95 percentile range" in printed
    assert "note: wrists: no arms visible" in printed
    assert "lips" not in printed and "identity" not in printed
    figures = json.loads(out.read_text())
    assert sorted(figures) == ["arms", "face_found_share", "format", "inputs", "motion", "notes",
                               "reference_frame"]
    assert figures["motion"]["roll_p5_p95_deg"] > 10 and figures["motion"]["roll_range_deg"] > 10
    assert figures["arms"]["note"] == "no arms visible"
    assert figures["arms"]["wrist_range_sw_max"] is None and figures["format"]["fps"] == 25.0


def test_cli_eval_motion_errors_are_one_line_and_exit_2(portrait, clip, workdir: Path,
                                                      rolling_video, capsys) -> None:
    from tests.quality.conftest import encode, silence

    blank = encode(workdir / "blank.mp4", [np.full((64, 64, 3), 128, np.uint8)] * 5,
                   silence(5), 5)
    cases = [
        ([str(portrait[0])], "a still image (png), not a video"),
        ([str(clip[0])], "has no video stream"),
        ([str(blank)], "no face found in any of its 5 frames"),
        ([str(rolling_video[0]), "--report", "r.html"], "takes only --json and -q, not --report"),
        ([str(rolling_video[0]), str(portrait[0])], "not PORTRAIT AUDIO VIDEO"),
    ]
    for args, message in cases:
        assert main(["eval", "--motion", *args]) == 2, args
        err = capsys.readouterr().err
        assert message in err and err.count("\n") == 1, err


def test_suite_tables_have_the_robust_pose_and_wrist_columns(tmp_path: Path) -> None:
    figures = {"motion": {"yaw_p5_p95_deg": 3.0, "pitch_p5_p95_deg": 2.0, "roll_p5_p95_deg": 1.0},
               "arms": {"wrist_range_sw_max": 0.25, "arms_found_share": 0.9}}
    results = [suite.PairResult(Path("a.png"), Path("s.wav"), figures, 1.0),
               suite.PairResult(Path("b.png"), Path("s.wav"), {"arms": {}}, 1.0)]
    rows = suite.table_rows(results)
    assert (rows[0]["yaw_p5_p95"], rows[0]["pitch_p5_p95"], rows[0]["roll_p5_p95"]) == (3, 2, 1)
    assert rows[0]["wrist_range_sw_max"] == 0.25 and rows[0]["arms_found"] == 0.9
    assert rows[1]["wrist_range_sw_max"] is None and rows[-1]["wrist_range_sw_max"] == 0.25
    md, csv_path = suite.write_tables(results, tmp_path, command="x")
    header = csv_path.read_text().splitlines()[0]
    for column in ("yaw_p5_p95", "pitch_p5_p95", "roll_p5_p95", "wrist_range_sw_max",
                   "arms_found"):
        assert column in header and f" {column} |" in md.read_text()
