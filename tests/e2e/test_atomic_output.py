"""The CLI and ``animate()`` never leave a truncated MP4 at the output path."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

import talkinghead
from talkinghead import Options
from talkinghead.errors import TalkingHeadError
from tests.conftest import EXAMPLE_PORTRAIT, decode_video, voice_like, wav_bytes

OLD = b"the previous video, kept whole"


def test_a_failed_animate_keeps_the_old_file_and_leaves_no_partial(tmp_path: Path) -> None:
    out = tmp_path / "talking.mp4"
    out.write_bytes(OLD)
    with pytest.raises(TalkingHeadError):
        talkinghead.animate(EXAMPLE_PORTRAIT, b"this is not audio" * 50, out, Options())
    assert out.read_bytes() == OLD
    assert sorted(p.name for p in tmp_path.iterdir()) == ["talking.mp4"]


def test_animate_replaces_the_file_whole(tmp_path: Path) -> None:
    out = tmp_path / "talking.mp4"
    out.write_bytes(OLD)
    assert talkinghead.animate(EXAMPLE_PORTRAIT, wav_bytes(voice_like(0.6)), out,
                               Options(seed=1)) == out
    assert len(decode_video(out).frames) == 15  # 0.6 s at 25 fps
    assert sorted(p.name for p in tmp_path.iterdir()) == ["talking.mp4"]


def test_an_interrupted_cli_render_leaves_no_truncated_mp4(tmp_path: Path) -> None:
    audio = tmp_path / "long.wav"
    audio.write_bytes(wav_bytes(voice_like(20.0)))
    out = tmp_path / "talking.mp4"
    out.write_bytes(OLD)
    # A shell without job control starts background jobs with SIGINT ignored, and
    # Python then never turns SIGINT into KeyboardInterrupt: give the child the default.
    proc = subprocess.Popen([sys.executable, "-m", "talkinghead.cli", "animate",
                             str(EXAMPLE_PORTRAIT), str(audio), "-o", str(out), "-q"],
                            stderr=subprocess.PIPE, text=True,
                            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    try:
        deadline = time.monotonic() + 60
        partials: list[Path] = []
        while time.monotonic() < deadline and proc.poll() is None:
            partials = [p for p in tmp_path.glob(".talking.mp4.*.part") if p.stat().st_size]
            if partials:
                break
            time.sleep(0.05)
        assert partials, "the render never started writing its temporary file"
        os.kill(proc.pid, signal.SIGINT)
        _, err = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == 130, err
    assert out.read_bytes() == OLD
    assert sorted(p.name for p in tmp_path.iterdir()) == ["long.wav", "talking.mp4"]
