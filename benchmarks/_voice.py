"""The synthetic voice the benchmarks speak: a buzzing vowel at syllable rate."""

from __future__ import annotations

import io
import wave

import numpy as np


def voice_wav(duration_s: float, *, rate_hz: int = 16_000, pauses: bool = False) -> bytes:
    """16-bit mono WAV bytes; with ``pauses``, a silence every few seconds."""
    t = np.arange(int(duration_s * rate_hz)) / rate_hz
    phase = 2 * np.pi * np.cumsum(140 + 20 * np.sin(2 * np.pi * 0.7 * t)) / rate_hz
    buzz = sum(np.sin(k * phase) / k for k in range(1, 12))
    samples = 0.25 * buzz * (0.5 - 0.5 * np.cos(2 * np.pi * 4.0 * t))
    if pauses:
        samples = samples * (np.sin(2 * np.pi * 0.25 * t) > -0.6)
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(rate_hz)
        out.writeframes((np.clip(samples, -1, 1) * 32767).astype("<i2").tobytes())
    return buffer.getvalue()
