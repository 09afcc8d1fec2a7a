"""Shared fixtures: small generated media, decoded back with PyAV."""

from __future__ import annotations

import io
import wave
from dataclasses import dataclass
from pathlib import Path

import av
import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE_PORTRAIT = ROOT / "examples" / "astronaut.png"
EXAMPLE_SPEECH = ROOT / "examples" / "speech.wav"


def wav_bytes(samples: np.ndarray, rate_hz: int = 16_000) -> bytes:
    """Mono float samples in [-1, 1] -> 16-bit PCM WAV bytes."""
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(rate_hz)
        out.writeframes((np.clip(samples, -1, 1) * 32767).astype("<i2").tobytes())
    return buffer.getvalue()


def voice_like(duration_s: float, rate_hz: int = 16_000, *, syllable_hz: float = 4.0,
               seed: int = 0) -> np.ndarray:
    """An "ah"-like vowel (glottal buzz through two formant resonators) whose
    loudness rises and falls like syllables."""
    from scipy.signal import lfilter

    rng = np.random.default_rng(seed)
    t = np.arange(int(duration_s * rate_hz)) / rate_hz
    f0 = 140 + 20 * np.sin(2 * np.pi * 0.7 * t)
    phase = 2 * np.pi * np.cumsum(f0) / rate_hz
    buzz = sum(np.sin(k * phase) / k for k in range(1, 30) if k * 180 < rate_hz / 2)
    for formant_hz, bandwidth_hz in ((750, 90), (1200, 110)):
        r = np.exp(-np.pi * bandwidth_hz / rate_hz)
        theta = 2 * np.pi * formant_hz / rate_hz
        buzz = lfilter([1 - r], [1, -2 * r * np.cos(theta), r * r], buzz)
    buzz = buzz / (np.abs(buzz).max() + 1e-9)
    envelope = 0.5 - 0.5 * np.cos(2 * np.pi * syllable_hz * t)
    return (0.5 * buzz * envelope + 0.002 * rng.standard_normal(len(t))).astype(np.float32)


def speech_with_pauses() -> tuple[np.ndarray, list[tuple[float, float]]]:
    """Silence / voice / silence / voice / silence at 16 kHz, and the voiced spans in s."""
    rate = 16_000
    silence = np.zeros(int(0.8 * rate), np.float32)
    parts = [silence, voice_like(1.2), silence, voice_like(1.0, seed=1), silence]
    voiced = [(0.8, 2.0), (2.8, 3.8)]
    return np.concatenate(parts), voiced


def far_from_person(rgb: np.ndarray, *, margin_px: int = 12) -> np.ndarray:
    """Boolean mask of pixels well away from the person (where nothing may move)."""
    import cv2

    from talkinghead.analysis.face import person_mask

    person = (person_mask(rgb) > 0.1).astype(np.uint8)
    size = 2 * margin_px + 1
    return ~cv2.dilate(person, np.ones((size, size), np.uint8)).astype(bool)


@dataclass
class DecodedVideo:
    frames: list[np.ndarray]
    fps: float
    width: int
    height: int
    video_codec: str
    pix_fmt: str
    audio_codec: str | None
    audio_rate_hz: int | None
    video_duration_s: float
    audio_duration_s: float | None


def decode_video(path: Path) -> DecodedVideo:
    """Decode every frame and measure both streams of an MP4."""
    with av.open(str(path)) as container:
        vstream = container.streams.video[0]
        astreams = container.streams.audio
        frames = [f.to_ndarray(format="rgb24") for f in container.decode(vstream)]
        fps = float(vstream.average_rate)
        video_duration = float(vstream.duration * vstream.time_base) if vstream.duration else len(
            frames) / fps
        audio_codec = audio_rate = audio_duration = None
        if astreams:
            a = astreams[0]
            audio_codec, audio_rate = a.codec_context.name, a.rate
            audio_duration = float(a.duration * a.time_base)
        return DecodedVideo(frames, fps, vstream.width, vstream.height, vstream.codec_context.name,
                            vstream.codec_context.pix_fmt, audio_codec, audio_rate,
                            video_duration, audio_duration)


@pytest.fixture(scope="session")
def portrait_path() -> Path:
    return EXAMPLE_PORTRAIT


@pytest.fixture(scope="session")
def short_voice_wav(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("audio") / "voice.wav"
    path.write_bytes(wav_bytes(voice_like(1.6)))
    return path
