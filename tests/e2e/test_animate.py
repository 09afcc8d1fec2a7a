"""The generator end to end: real MP4s, decoded back and measured."""

from __future__ import annotations

import io
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import talkinghead
from talkinghead import NoFaceError, Options
from talkinghead.analysis import landmarks as lm
from talkinghead.analysis.face import find_face
from talkinghead.inputs import load_audio, load_portrait
from talkinghead.pipeline import fit_to_size, plan_motion, prepare_rig, render_video
from talkinghead.render import render_frames
from tests.conftest import decode_video, far_from_person, speech_with_pauses, wav_bytes


@pytest.fixture(scope="module")
def paused_speech(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list]:
    samples, voiced = speech_with_pauses()
    path = tmp_path_factory.mktemp("speech") / "paused.wav"
    path.write_bytes(wav_bytes(samples))
    return path, voiced


@pytest.fixture(scope="module")
def rendered(tmp_path_factory: pytest.TempPathFactory, portrait_path: Path,
             paused_speech: tuple[Path, list]) -> Path:
    out = tmp_path_factory.mktemp("video") / "out.mp4"
    # Calm head: a 10-degree chin-down turn reads the toothy source's closed-lip seam
    # as a 3% gap in the face mesh, which is not what this module tests.
    summary = render_video(portrait_path, paused_speech[0], out, Options(seed=7, head_motion=0.5))
    assert summary.n_frames == 115  # 4.6 s at 25 fps
    return out


def test_output_streams_codecs_and_durations(rendered: Path) -> None:
    video = decode_video(rendered)
    assert video.video_codec == "h264" and video.pix_fmt == "yuv420p"
    assert video.audio_codec == "aac" and video.audio_rate_hz == 48_000
    assert video.fps == 25
    assert (video.width, video.height) == (512, 512)
    assert len(video.frames) == 115
    assert abs(video.video_duration_s - 4.6) <= 1 / 25
    assert video.audio_duration_s is not None and abs(video.audio_duration_s - 4.6) <= 1 / 25


def test_faststart_puts_the_index_first(rendered: Path) -> None:
    head = rendered.read_bytes()[:4096]
    assert head.find(b"moov") != -1 and (head.find(b"mdat") == -1 or
                                         head.find(b"moov") < head.find(b"mdat"))


def _mouth_opening(frame: np.ndarray) -> float:
    points = find_face(frame).xy
    gap = np.linalg.norm(points[lm.INNER_LOWER_LIP[2:-2]] - points[lm.INNER_UPPER_LIP[2:-2]],
                         axis=1).mean()
    return float(gap / np.linalg.norm(points[lm.FOREHEAD] - points[lm.CHIN]))


def test_mouth_moves_with_the_voice_and_shuts_in_silence(
        rendered: Path, paused_speech: tuple[Path, list]) -> None:
    video = decode_video(rendered)
    opening = np.array([_mouth_opening(f) for f in video.frames])
    clip = load_audio(paused_speech[0])
    from talkinghead.speech import analyse_speech

    speech = analyse_speech(clip.mono(), 16_000, 25, len(opening))
    r = np.corrcoef(opening, speech.loudness)[0, 1]
    assert r > 0.6, f"mouth opening vs loudness r={r:.2f}"
    t = np.arange(len(opening)) / 25
    silent = np.ones(len(t), bool)
    for start, end in paused_speech[1]:
        silent &= ~((t > start - 0.15) & (t < end + 0.15))
    assert silent.sum() > 30
    closed = opening[silent] < 0.03  # 3% of face height: lips together (toothy source)
    assert closed.mean() >= 0.95, f"closed in {closed.mean():.0%} of silent frames"
    assert opening[~silent].max() > 0.05  # and it really opens when voiced (closed < 0.03)


def test_background_outside_the_person_does_not_move(rendered: Path, portrait_path: Path) -> None:
    video = decode_video(rendered)
    source = fit_to_size(load_portrait(portrait_path).rgb, 512).astype(np.float32)
    far = far_from_person(source.astype(np.uint8))
    assert far.sum() > 10_000
    first = video.frames[0].astype(np.float32)
    # yuv420p alone costs ~2.5 levels on this detailed photo; between frames, nothing moves.
    assert np.abs(first - source)[far].mean() < 3.5
    for frame in video.frames[::10]:
        assert np.abs(frame.astype(np.float32) - first)[far].mean() < 0.5


def test_same_seed_same_frames_other_seed_other_motion(portrait_path: Path,
                                                       paused_speech: tuple[Path, list]) -> None:
    rgb = fit_to_size(load_portrait(portrait_path).rgb, 512)
    clip = load_audio(paused_speech[0])

    def frames(seed: int) -> list[np.ndarray]:
        _, motion = plan_motion(clip, Options(seed=seed))
        return list(render_frames(prepare_rig(rgb), motion))[::10]

    first, again, other = frames(3), frames(3), frames(4)
    assert all(np.array_equal(a, b) for a, b in zip(first, again, strict=True))
    assert any(not np.array_equal(a, b) for a, b in zip(first, other, strict=True))


def test_animate_returns_bytes_and_accepts_file_objects(portrait_path: Path,
                                                        short_voice_wav: Path) -> None:
    with open(portrait_path, "rb") as image:
        data = talkinghead.animate(image, short_voice_wav.read_bytes())
    assert isinstance(data, bytes) and data[4:8] == b"ftyp"
    out = Path(str(short_voice_wav) + ".mp4")
    assert talkinghead.animate(portrait_path, io.BytesIO(short_voice_wav.read_bytes()), out) == out
    assert decode_video(out).frames


def test_no_face(short_voice_wav: Path) -> None:
    from PIL import Image

    gradient = np.tile(np.linspace(0, 255, 256, dtype=np.uint8), (256, 1))
    buffer = io.BytesIO()
    Image.fromarray(gradient).convert("RGB").save(buffer, format="PNG")
    with pytest.raises(NoFaceError, match="no face found"):
        talkinghead.animate(buffer.getvalue(), short_voice_wav)


def test_sizes_are_even_and_fit(portrait_path: Path, short_voice_wav: Path,
                                tmp_path: Path) -> None:
    from PIL import Image

    odd = tmp_path / "odd.png"
    Image.open(portrait_path).resize((401, 333)).save(odd)
    out = tmp_path / "original.mp4"
    render_video(odd, short_voice_wav, out, Options(size="original"))
    video = decode_video(out)
    assert video.width % 2 == 0 and video.height % 2 == 0
    assert abs(video.width - 401) <= 1 and abs(video.height - 333) <= 1
    out720 = tmp_path / "720.mp4"
    render_video(odd, short_voice_wav, out720, Options(size="720"))
    video720 = decode_video(out720)
    assert (video720.width, video720.height) == (720, 598)


def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "talkinghead.cli", *args], capture_output=True,
                          text=True, timeout=120)


def test_cli_renders_and_summarises(portrait_path: Path, short_voice_wav: Path,
                                    tmp_path: Path) -> None:
    out = tmp_path / "cli.mp4"
    done = _cli("animate", str(portrait_path), str(short_voice_wav), "-o", str(out), "--fps", "30")
    assert done.returncode == 0, done.stderr
    assert "real-time factor" in done.stdout and "48 frames at 30 fps" in done.stdout
    assert decode_video(out).fps == 30


def test_cli_bad_input_is_one_line_and_exit_2(tmp_path: Path, short_voice_wav: Path) -> None:
    bogus = tmp_path / "notes.png"
    bogus.write_text("not an image at all")
    done = _cli("animate", str(bogus), str(short_voice_wav), "-o", str(tmp_path / "x.mp4"))
    assert done.returncode == 2
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and "not an image" in lines[0]
    assert not (tmp_path / "x.mp4").exists()


def test_cli_bad_option_and_version_and_help() -> None:
    done = _cli("animate", "a.png", "b.wav", "--head-motion", "9")
    assert done.returncode == 2 and "head_motion must be from 0 to 2" in done.stderr
    assert _cli("--version").stdout.startswith("talkinghead ")
    assert "--seed" in _cli("animate", "--help").stdout


def test_lips_close_at_m_b_p_on_speech_with_its_text(tmp_path: Path, portrait_path: Path) -> None:
    from talkinghead.speech.phonemes import recognise_phones
    from tests.conftest import EXAMPLE_SPEECH

    text = EXAMPLE_SPEECH.with_suffix(".txt").read_text()
    out = tmp_path / "text.mp4"
    # Calm head, as in `rendered`: the face mesh reads a strongly nodding toothy
    # source's closed lips as slightly parted (docs/quality.md has the full figures).
    render_video(portrait_path, EXAMPLE_SPEECH, out, Options(transcript=text, head_motion=0.3))
    frames = decode_video(out).frames
    phones = recognise_phones(load_audio(EXAMPLE_SPEECH).mono(), transcript=text)
    bilabial = [round((p.start_s + p.end_s) / 2 * 25) for p in phones if p.label in "MBP"]
    vowels = [round((p.start_s + p.end_s) / 2 * 25) for p in phones if p.label in ("AA", "AE")]
    assert len(bilabial) >= 8
    closed = [_mouth_opening(frames[i]) < 0.03 for i in bilabial]
    assert np.mean(closed) >= 0.8, f"lips closed at {np.mean(closed):.0%} of m/b/p"
    open_vowel = np.mean([_mouth_opening(frames[i]) for i in vowels])
    at_bilabials = np.mean([_mouth_opening(frames[i]) for i in bilabial])
    assert open_vowel > 2.5 * at_bilabials


def test_cli_debug_plot_and_expression(portrait_path: Path, short_voice_wav: Path,
                                       tmp_path: Path) -> None:
    plot = tmp_path / "plot.png"
    done = _cli("animate", str(portrait_path), str(short_voice_wav), "-o", str(tmp_path / "e.mp4"),
                "--expression", "happy", "--text", "hello there", "--debug-plot", str(plot), "-q")
    assert done.returncode == 0, done.stderr
    assert done.stdout == ""  # quiet
    from PIL import Image

    with Image.open(plot) as image:
        assert image.width > 600 and image.height > 600
        assert np.asarray(image.convert("L")).std() > 10  # something was drawn
