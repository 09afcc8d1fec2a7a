"""Audio decoding: any container/codec FFmpeg knows -> float32 at 48 kHz."""

from __future__ import annotations

import io
from dataclasses import dataclass

import av
import numpy as np
from scipy.signal import resample_poly

from talkinghead.errors import AudioError, AudioTooLongError, EmptyAudioError
from talkinghead.inputs.source import Source, read_source

SAMPLE_RATE_HZ = 48_000
ANALYSIS_RATE_HZ = 16_000
MAX_AUDIO_BYTES = 200 * 1024 * 1024


@dataclass(frozen=True)
class AudioClip:
    """Decoded audio: ``samples`` is (n_samples, n_channels) float32 in [-1, 1] at 48 kHz."""

    samples: np.ndarray
    sample_rate_hz: int
    name: str

    @property
    def duration_s(self) -> float:
        return self.samples.shape[0] / self.sample_rate_hz

    @property
    def channels(self) -> int:
        return self.samples.shape[1]

    def mono(self, rate_hz: int = ANALYSIS_RATE_HZ) -> np.ndarray:
        """Mono float32 samples at ``rate_hz`` (for analysis)."""
        mono = self.samples.mean(axis=1)
        if rate_hz != self.sample_rate_hz:
            g = np.gcd(rate_hz, self.sample_rate_hz)
            mono = resample_poly(mono, rate_hz // g, self.sample_rate_hz // g)
        return mono.astype(np.float32)


def load_audio(source: Source, *, max_duration_s: float = 600.0,
               max_bytes: int = MAX_AUDIO_BYTES) -> AudioClip:
    """Decode the first audio stream of ``source`` to 48 kHz float32, mono or stereo.

    Stops decoding, and refuses the clip, as soon as it passes ``max_duration_s``.
    """
    data, name = read_source(source, what="audio", max_bytes=max_bytes)
    try:
        container = av.open(io.BytesIO(data), mode="r")
    except (av.error.FFmpegError, ValueError) as exc:
        raise AudioError(f"{name}: not a readable audio file ({_reason(exc)})") from exc
    with container:
        if not container.streams.audio:
            raise AudioError(f"{name}: the file has no audio stream")
        stream = container.streams.audio[0]
        channels = 1 if stream.codec_context.layout.nb_channels <= 1 else 2
        layout = "mono" if channels == 1 else "stereo"
        resampler = av.AudioResampler(format="fltp", layout=layout, rate=SAMPLE_RATE_HZ)
        max_samples = int(max_duration_s * SAMPLE_RATE_HZ) + 1
        chunks: list[np.ndarray] = []
        n_samples = 0
        try:
            for frame in container.decode(stream):
                for out in resampler.resample(frame):
                    chunks.append(out.to_ndarray())
                    n_samples += out.samples
                if n_samples > max_samples:
                    raise AudioTooLongError(
                        f"{name}: audio is longer than the {max_duration_s:g} s limit"
                    )
            for out in resampler.resample(None):
                chunks.append(out.to_ndarray())
                n_samples += out.samples
        except av.error.FFmpegError as exc:
            raise AudioError(f"{name}: the audio is corrupt ({_reason(exc)})") from exc
    if n_samples == 0:
        raise EmptyAudioError(f"{name}: the audio has zero length")
    if n_samples > max_samples:
        raise AudioTooLongError(f"{name}: audio is longer than the {max_duration_s:g} s limit")
    samples = np.ascontiguousarray(np.concatenate(chunks, axis=1).T, dtype=np.float32)
    del chunks
    if not np.all(np.isfinite(samples)):
        raise AudioError(f"{name}: the audio holds invalid (non-finite) samples")
    np.clip(samples, -1.0, 1.0, out=samples)
    return AudioClip(samples=samples, sample_rate_hz=SAMPLE_RATE_HZ, name=name)


def _reason(exc: Exception) -> str:
    return getattr(exc, "strerror", None) or str(exc)
