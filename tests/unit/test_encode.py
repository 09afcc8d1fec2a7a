"""The encoder keeps audio and video in step, even over ten minutes, and says how
its colours are coded."""

from __future__ import annotations

from pathlib import Path

import av
import numpy as np

from talkinghead.encode import write_mp4
from talkinghead.inputs.audio import AudioClip


def test_ten_minutes_without_drift(tmp_path: Path) -> None:
    fps, rate, duration_s = 25, 48_000, 600.0
    n_frames = int(duration_s * fps)
    samples = np.zeros((int(duration_s * rate), 1), np.float32)
    clip = AudioClip(samples=samples, sample_rate_hz=rate, name="silence")
    grey = np.full((64, 64, 3), 128, np.uint8)
    out = tmp_path / "long.mp4"
    write_mp4(out, (grey for _ in range(n_frames)), clip, fps=fps, width=64, height=64,
              n_frames=n_frames)
    with av.open(str(out)) as container:
        video, audio = container.streams.video[0], container.streams.audio[0]
        video_s = float(video.duration * video.time_base)
        audio_s = float(audio.duration * audio.time_base)
        assert video.frames == n_frames
    assert abs(video_s - duration_s) <= 1 / fps
    assert abs(audio_s - duration_s) <= 1 / fps
    assert abs(video_s - audio_s) <= 1 / fps


def test_colours_are_tagged_and_come_back(tmp_path: Path) -> None:
    rate, n_frames = 48_000, 5
    clip = AudioClip(samples=np.zeros((rate // 5, 1), np.float32), sample_rate_hz=rate,
                     name="silence")
    orange = np.zeros((64, 64, 3), np.uint8)
    orange[:] = (200, 60, 30)
    out = tmp_path / "tagged.mp4"
    write_mp4(out, (orange for _ in range(n_frames)), clip, fps=25, width=64, height=64,
              n_frames=n_frames)
    with av.open(str(out)) as container:
        context = container.streams.video[0].codec_context
        tags = (context.colorspace, context.color_range, context.color_primaries,
                context.color_trc)
        decoded = next(container.decode(video=0)).to_ndarray(format="rgb24")
    assert tags == (6, 1, 1, 1)  # BT.601 (SMPTE 170M) matrix, tv range, BT.709 primaries
    assert np.abs(decoded[16:48, 16:48].astype(int) - orange[16:48, 16:48]).max() <= 3
