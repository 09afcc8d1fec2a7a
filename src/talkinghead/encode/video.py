"""H.264 + AAC MP4 writer: the only module that writes with PyAV.

Frames arrive one at a time from an iterator and are encoded immediately;
audio is interleaved as the video advances, so memory stays flat.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from fractions import Fraction
from pathlib import Path

import av
import numpy as np

from talkinghead.errors import RenderError
from talkinghead.inputs.audio import AudioClip

AUDIO_CHUNK = 1024  # AAC frame size
AUDIO_BITRATE = 128_000
#: The stream's colour tags (FFmpeg's codes): SMPTE 170M (BT.601) matrix,
#: limited ("tv") range, BT.709 primaries and transfer.
COLOUR_MATRIX, COLOUR_RANGE, COLOUR_PRIMARIES_AND_TRANSFER = 6, 1, 1


def write_mp4(path: Path, frames: Iterable[np.ndarray], audio: AudioClip, *, fps: int,
              width: int, height: int, n_frames: int,
              on_frame: Callable[[int], None] | None = None) -> None:
    """Encode ``frames`` (RGB uint8, height x width) and ``audio`` into ``path``.

    H.264 yuv420p (CRF 18) and AAC, moov atom first (faststart) so players
    start before the download ends. RGB becomes YUV with the BT.601 matrix in
    limited range, and the stream says so (with BT.709 primaries and transfer,
    those of the sRGB pictures it came from): untagged, players guess BT.709
    for HD and shift the colours.
    """
    if width % 2 or height % 2:
        raise RenderError(f"frame size {width}x{height} must be even for yuv420p")
    try:
        with av.open(str(path), mode="w", format="mp4",
                     options={"movflags": "+faststart"}) as container:
            video = container.add_stream("libx264", rate=fps)
            video.width, video.height, video.pix_fmt = width, height, "yuv420p"
            video.options = {"crf": "18", "preset": "veryfast", "tune": "stillimage"}
            context = video.codec_context
            context.colorspace, context.color_range = COLOUR_MATRIX, COLOUR_RANGE
            context.color_primaries = context.color_trc = COLOUR_PRIMARIES_AND_TRANSFER
            video.codec_context.time_base = Fraction(1, fps)
            layout = "mono" if audio.channels == 1 else "stereo"
            sound = container.add_stream("aac", rate=audio.sample_rate_hz, layout=layout)
            sound.bit_rate = AUDIO_BITRATE
            samples = audio.samples  # (n, channels); fltp chunks are made per AAC frame
            audio_pos = 0
            frame_idx = -1
            for frame_idx, rgb in enumerate(frames):
                picture = av.VideoFrame.from_ndarray(rgb, format="rgb24").reformat(
                    format="yuv420p", dst_colorspace="ITU601", dst_color_range="MPEG")
                picture.pts = frame_idx
                container.mux(video.encode(picture))
                until = min(int((frame_idx + 1) / fps * audio.sample_rate_hz), len(samples))
                audio_pos = _mux_audio(container, sound, samples, audio_pos, until, layout)
                if on_frame is not None:
                    on_frame(frame_idx + 1)
            if frame_idx + 1 != n_frames:
                raise RenderError(f"renderer gave {frame_idx + 1} frames, expected {n_frames}")
            _mux_audio(container, sound, samples, audio_pos, len(samples), layout)
            container.mux(video.encode(None))
            container.mux(sound.encode(None))
    except av.error.FFmpegError as exc:
        raise RenderError(f"video encoding failed: {exc}") from exc


def _mux_audio(container: av.container.OutputContainer, stream: av.audio.stream.AudioStream,
               samples: np.ndarray, start: int, stop: int, layout: str) -> int:
    """Encode whole AAC-sized chunks of ``samples[start:stop]``; return the new start."""
    pos = start
    while pos < stop and (stop - pos >= AUDIO_CHUNK or stop == len(samples)):
        end = min(pos + AUDIO_CHUNK, stop)
        chunk = av.AudioFrame.from_ndarray(np.ascontiguousarray(samples[pos:end].T),
                                           format="fltp", layout=layout)
        chunk.sample_rate = stream.rate
        chunk.pts = pos
        container.mux(stream.encode(chunk))
        pos = end
    return pos
