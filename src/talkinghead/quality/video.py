"""Reading the video under test with PyAV: stream facts, frames, and its sound track."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import av
import numpy as np

from talkinghead.errors import InputError


@dataclass(frozen=True)
class VideoInfo:
    """What the container says about the video, before any frame is decoded.

    av_start_offset_ms: audio stream start minus video stream start (positive:
    the sound starts later than the picture); None without an audio stream.
    n_frames_hint: frame count from the container (0 when it does not say).
    """

    path: Path
    width: int
    height: int
    fps: float
    n_frames_hint: int
    duration_s: float
    video_codec: str
    audio_codec: str | None
    audio_sample_rate_hz: int | None
    av_start_offset_ms: float | None


def probe_video(path: Path) -> VideoInfo:
    """Read stream facts from ``path``; raise InputError when it holds no video."""
    container = _open(path)
    with container:
        if not container.streams.video:
            raise InputError(f"{path}: the file has no video stream")
        if container.format.name.endswith("_pipe") or container.format.name == "image2":
            raise InputError(f"{path}: a still image ({container.format.name.removesuffix('_pipe')}"
                             "), not a video")
        video = container.streams.video[0]
        audio = container.streams.audio[0] if container.streams.audio else None
        fps = float(video.average_rate or video.guessed_rate or 0)
        if fps <= 0:
            raise InputError(f"{path}: the video stream has no frame rate")
        duration_s = _seconds(video.duration, video.time_base)
        if duration_s is None:
            duration_s = (container.duration or 0) / 1e6
        offset = None
        if audio is not None:
            audio_start = _seconds(audio.start_time, audio.time_base) or 0.0
            video_start = _seconds(video.start_time, video.time_base) or 0.0
            offset = (audio_start - video_start) * 1000.0
        return VideoInfo(
            path=path, width=video.codec_context.width, height=video.codec_context.height,
            fps=fps, n_frames_hint=int(video.frames or 0), duration_s=float(duration_s),
            video_codec=video.codec_context.name,
            audio_codec=audio.codec_context.name if audio is not None else None,
            audio_sample_rate_hz=audio.codec_context.sample_rate if audio is not None else None,
            av_start_offset_ms=offset,
        )


def iter_frames(path: Path) -> Iterator[np.ndarray]:
    """Yield every frame of the first video stream as (H, W, 3) uint8 RGB."""
    container = _open(path)
    with container:
        try:
            for frame in container.decode(video=0):
                yield frame.to_ndarray(format="rgb24")
        except av.error.FFmpegError as exc:
            raise InputError(f"{path}: the video is corrupt ({exc})") from exc


def audio_lag_ms(reference: np.ndarray, heard: np.ndarray, rate_hz: int, *,
                 max_lag_s: float = 0.5, window_s: float = 10.0) -> float | None:
    """How late ``heard`` plays ``reference`` (mono, same rate), in ms.

    Cross-correlates the first ``window_s`` seconds; None when the two do not
    match well enough to say (normalised peak under 0.5), e.g. another clip.
    """
    n = int(min(len(reference), len(heard), window_s * rate_hz))
    max_lag = int(max_lag_s * rate_hz)
    if n < rate_hz // 10:
        return None
    a = reference[:n].astype(np.float64) - reference[:n].mean()
    b = heard[:n].astype(np.float64) - heard[:n].mean()
    size = 1 << int(np.ceil(np.log2(2 * n)))
    corr = np.fft.irfft(np.fft.rfft(b, size) * np.conj(np.fft.rfft(a, size)), size)
    lags = np.concatenate([np.arange(0, max_lag + 1), np.arange(-max_lag, 0)])
    values = corr[lags % size]
    best = int(np.argmax(values))
    norm = np.sqrt(np.sum(a * a) * np.sum(b * b))
    if norm <= 0 or values[best] / norm < 0.5:
        return None
    return float(lags[best]) / rate_hz * 1000.0


def _open(path: Path) -> av.container.InputContainer:
    if not Path(path).is_file():
        raise InputError(f"video file not found: {path}")
    try:
        return av.open(str(path), mode="r")
    except (av.error.FFmpegError, ValueError) as exc:
        raise InputError(f"{path}: not a readable video ({exc})") from exc


def _seconds(value: int | None, time_base: Fraction | None) -> float | None:
    if value is None or time_base is None:
        return None
    return float(value * time_base)
