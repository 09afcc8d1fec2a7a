"""talkinghead[pipecat]: a real Pipecat pipeline run offline, TTS audio in, audio + face out.

Each test runs pipecat's own test pipeline (source -> TalkingHeadVideo -> sink)
in real time: the processor paces its frames to the wall clock.
"""

from __future__ import annotations

import asyncio
import subprocess
import sys
import time
import wave

import numpy as np
import pytest
from pipecat.frames.frames import (
    InterruptionFrame,
    OutputImageRawFrame,
    TTSAudioRawFrame,
    TTSStartedFrame,
    TTSStoppedFrame,
)
from pipecat.tests.utils import SleepFrame, run_test
from scipy.signal import resample_poly

from talkinghead import Options
from talkinghead.analysis.face import find_face
from talkinghead.analysis.landmarks import OUTER_LOWER_LIP, OUTER_UPPER_LIP
from talkinghead.pipecat import TalkingHeadVideo
from tests.conftest import EXAMPLE_PORTRAIT, EXAMPLE_SPEECH

TTS_RATE = 24_000  # not the session's 16 kHz: the processor resamples
FPS = 25
# Only the mouth moves, so the mouth region's change measures the mouth alone.
STILL = Options(fps=FPS, head_motion=0.0, body_motion=0.0, gestures=0.0, blinks_per_min=0.0)


def speech_at_24k(start_s: float, end_s: float) -> bytes:
    """A stretch of the example speech (16 kHz) as s16le mono at 24 kHz."""
    with wave.open(str(EXAMPLE_SPEECH), "rb") as src:
        rate = src.getframerate()
        samples = np.frombuffer(src.readframes(src.getnframes()), "<i2").astype(np.float32)
    part = samples[int(start_s * rate):int(end_s * rate)]
    resampled = resample_poly(part, TTS_RATE, rate)
    return np.clip(resampled, -32768, 32767).astype("<i2").tobytes()


def tts_chunks(pcm: bytes, chunk_s: float = 0.02) -> list[TTSAudioRawFrame]:
    """Audio cut the way a TTS service streams it."""
    step = int(chunk_s * TTS_RATE) * 2
    return [TTSAudioRawFrame(audio=pcm[i:i + step], sample_rate=TTS_RATE, num_channels=1)
            for i in range(0, len(pcm), step)]


def run_pipeline(processor: TalkingHeadVideo, frames: list) -> tuple[list, float]:
    """Send ``frames`` (then an EndFrame) through a source -> processor -> sink pipeline."""
    started = time.monotonic()
    down, _ = asyncio.run(run_test(processor, frames_to_send=frames, start_timeout=10.0))
    return list(down), time.monotonic() - started


def mouth_opening(images: list[OutputImageRawFrame]) -> np.ndarray:
    """Per frame: mean change of the mouth region from the first (idle, closed) frame."""
    first = np.frombuffer(images[0].image, np.uint8).reshape(images[0].size[1],
                                                             images[0].size[0], 3)
    lips = find_face(first).points[np.concatenate([OUTER_UPPER_LIP, OUTER_LOWER_LIP]), :2]
    (x0, y0), (x1, y1) = lips.min(axis=0), lips.max(axis=0)
    margin = 0.25 * (x1 - x0)
    y0, y1 = int(y0 - margin), int(y1 + 2 * margin)  # the jaw drops below the lips
    x0, x1 = int(x0 - margin), int(x1 + margin)
    reference = first[y0:y1, x0:x1].astype(np.float32)
    opening = []
    for image in images:
        rgb = np.frombuffer(image.image, np.uint8).reshape(image.size[1], image.size[0], 3)
        opening.append(float(np.abs(rgb[y0:y1, x0:x1] - reference).mean()))
    return np.array(opening)


@pytest.fixture(scope="module")
def processor_factory():
    """New processors on the example portrait (each analyses it once)."""
    return lambda: TalkingHeadVideo(EXAMPLE_PORTRAIT, options=STILL)


def check_images(images: list[OutputImageRawFrame], processor: TalkingHeadVideo) -> None:
    """In order, none missing, the session's size, RGB."""
    assert images, "no image frames came out"
    indices = [image.metadata["talkinghead_index"] for image in images]
    assert indices == list(range(len(images)))
    for image in images:
        assert image.format == "RGB"
        assert image.size == (processor.width, processor.height)
        assert len(image.image) == processor.width * processor.height * 3


def test_speech_in_frames_and_audio_out(processor_factory) -> None:
    processor = processor_factory()
    speech = tts_chunks(speech_at_24k(0.0, 3.0))
    speech_s, idle_s = 3.0, 1.0
    down, elapsed_s = run_pipeline(processor, [TTSStartedFrame(), *speech, TTSStoppedFrame(),
                                               SleepFrame(sleep=speech_s + idle_s)])

    audio = [frame for frame in down if isinstance(frame, TTSAudioRawFrame)]
    assert [frame.audio for frame in audio] == [frame.audio for frame in speech]
    assert all(frame.sample_rate == TTS_RATE for frame in audio)

    images = [frame for frame in down if isinstance(frame, OutputImageRawFrame)]
    check_images(images, processor)
    # Every 40 ms of speech has its frame, and idle frames keep coming after it
    # (about idle_s * FPS of them; half is enough on a busy machine).
    assert len(images) >= speech_s * FPS - 2
    assert len(images) >= (speech_s + 0.5 * idle_s) * FPS
    # Paced to the wall clock: not rendered all at once ahead of time.
    assert len(images) <= (elapsed_s + 0.5) * FPS

    opening = mouth_opening(images)
    times = np.array([image.metadata["talkinghead_time_s"] for image in images])
    speaking = opening[(times > 0.35) & (times < 2.9)]
    assert opening[times < 0.2].max() < 1.0, "the mouth moved before the speech"
    assert speaking.max() > 4.0, "the mouth never opened"
    assert speaking.std() > 1.0, "the mouth did not move with the speech"


def test_interruption_closes_the_mouth(processor_factory) -> None:
    processor = processor_factory()
    speech = tts_chunks(speech_at_24k(1.2, 5.0))  # 3.8 s of dense speech
    down, _ = run_pipeline(processor, [TTSStartedFrame(), *speech, SleepFrame(sleep=1.5),
                                       InterruptionFrame(), SleepFrame(sleep=1.0)])

    cut = next(i for i, frame in enumerate(down) if isinstance(frame, InterruptionFrame))
    images = [frame for frame in down if isinstance(frame, OutputImageRawFrame)]
    check_images(images, processor)
    opening = mouth_opening(images)
    n_before = sum(isinstance(frame, OutputImageRawFrame) for frame in down[:cut])
    before, after = opening[:n_before], opening[n_before:]
    assert before.max() > 4.0, "the mouth never opened before the interruption"
    # Idle frames go on after the cut (about FPS of them in the 1 s; fewer on a busy
    # machine), and within 80 ms (2 frames) the mouth is shut.
    assert len(after) >= 0.4 * FPS
    closed_from = int(np.ceil(0.08 * FPS))
    assert after[closed_from:].max() < 1.0, f"mouth still open after the cut: {after.round(1)}"
    # The speech after the cut was dropped: far fewer frames than the whole 3.8 s.
    assert len(images) < (1.5 + 1.0 + 1.0) * FPS


def test_talkinghead_imports_without_pipecat() -> None:
    """Only talkinghead.pipecat needs Pipecat, and says how to install it."""
    code = ("import sys; sys.modules['pipecat'] = None\n"
            "import talkinghead, talkinghead.live\n"
            "try:\n"
            "    import talkinghead.pipecat\n"
            "except ImportError as error:\n"
            "    print(error)\n")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          check=True, timeout=60)
    assert "pip install 'talkinghead[pipecat]'" in done.stdout
