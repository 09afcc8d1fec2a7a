"""Live mode: frames while the sound streams in, alike to the offline render."""

from __future__ import annotations

import numpy as np
import pytest

from talkinghead import Options
from talkinghead.analysis import landmarks as lm
from talkinghead.analysis.face import find_face
from talkinghead.errors import InputError
from talkinghead.inputs import load_audio
from talkinghead.live import MAX_SEGMENT_S, RATE_HZ, LiveSession
from talkinghead.motion import PARAMETERS
from talkinghead.pipeline import plan_motion
from tests.conftest import EXAMPLE_PORTRAIT, EXAMPLE_SPEECH, voice_like

JAW = PARAMETERS.index("jaw_open")


def _pcm(samples: np.ndarray) -> bytes:
    return (np.clip(samples, -1, 1) * 32767).astype("<i2").tobytes()


@pytest.fixture(scope="module")
def speech() -> np.ndarray:
    return load_audio(EXAMPLE_SPEECH).mono(RATE_HZ)


@pytest.fixture(scope="module")
def session_16k() -> LiveSession:
    return LiveSession(EXAMPLE_PORTRAIT)


def _stream_motion(session: LiveSession, samples: np.ndarray, chunk: int) -> np.ndarray:
    rows = []
    pcm = _pcm(samples)
    for start in range(0, len(pcm), chunk):
        session.push_audio(pcm[start:start + chunk])
        rows.append(session.motion())
    session.keep_up(session.audio_end_s + 0.2)  # the lookahead, in silence
    rows.append(session.motion())
    return np.concatenate(rows)


def _mouth_opening(frame: np.ndarray) -> float:
    points = find_face(frame).xy
    gap = np.linalg.norm(points[lm.INNER_LOWER_LIP[2:-2]] - points[lm.INNER_UPPER_LIP[2:-2]],
                         axis=1).mean()
    return float(gap / np.linalg.norm(points[lm.FOREHEAD] - points[lm.CHIN]))


def test_live_mouth_moves_like_the_offline_render(session_16k: LiveSession,
                                                  speech: np.ndarray) -> None:
    live = _stream_motion(session_16k, speech, chunk=640)  # 20 ms chunks
    _, offline = plan_motion(load_audio(EXAMPLE_SPEECH), Options())
    n = offline.n_frames
    assert len(live) >= n
    r = np.corrcoef(live[:n, JAW], offline.values[:, JAW])[0, 1]
    assert r >= 0.8, f"live vs offline mouth opening r={r:.2f}"
    yaw = PARAMETERS.index("yaw_deg")
    assert np.ptp(np.percentile(live[:n, yaw], [5, 95])) >= 15  # it moves like a person
    assert np.abs(np.diff(live[:, yaw])).max() < 4.0  # and re-planning never jumps


def test_frames_come_in_order_from_any_chunk_size_and_the_mouth_moves() -> None:
    session = LiveSession(EXAMPLE_PORTRAIT, Options(seed=3))
    assert (session.width, session.height, session.fps) == (512, 512, 25)
    pcm = _pcm(np.concatenate([np.zeros(4000, np.float32), voice_like(2.0)]))
    rng = np.random.default_rng(0)
    frames, start = [], 0
    while start < len(pcm):
        size = int(rng.integers(1, 3000))  # odd sizes split samples
        session.push_audio(pcm[start:start + size])
        frames += session.frames()
        start += size
    frames += session.flush()
    assert [f.index for f in frames] == list(range(len(frames)))
    assert all(f.time_s == pytest.approx(f.index / 25) for f in frames)
    assert abs(len(frames) - 2.25 * 25) <= 4  # every 40 ms of sound, plus the lookahead
    assert all(f.rgb.shape == (512, 512, 3) and f.rgb.dtype == np.uint8 for f in frames)
    opening = np.array([_mouth_opening(f.rgb) for f in frames[::2]])
    assert opening[:3].max() < 0.03  # the quiet start
    assert opening.max() > 0.05  # the voice opens it
    # No sound: idle frames keep coming, the mouth shut.
    session.push_silence(1.0)
    idle = session.frames()
    assert len(idle) == 25 and idle[0].index == frames[-1].index + 1
    assert max(_mouth_opening(f.rgb) for f in idle[10::5]) < 0.03


def test_interruption_closes_the_mouth_within_80_ms() -> None:
    session = LiveSession(EXAMPLE_PORTRAIT)
    vowel = voice_like(3.0, syllable_hz=0.3)  # swells to its loudest at 1.7 s
    session.push_audio(_pcm(vowel))
    shown = session.motion(max_frames=40)  # 1.6 s shown; the rest is still queued
    assert shown[-1, JAW] > 0.3
    session.interrupt()
    session.keep_up(session.audio_end_s + 0.5)
    after = session.motion()
    assert len(after) >= 10
    assert after[1, JAW] < 0.05 and after[2:, JAW].max() < 0.02  # shut by the 2nd frame


def test_idle_frames_blink_breathe_and_keep_the_mouth_shut() -> None:
    session = LiveSession(EXAMPLE_PORTRAIT, Options(seed=5))
    for _ in range(40):  # 8 s of nothing, as a live stream pads it
        session.keep_up(session.audio_end_s + 0.2)
    rows = session.motion()
    assert len(rows) >= 195
    curve = dict(zip(PARAMETERS, rows.T, strict=True))
    assert curve["jaw_open"].max() == 0.0
    assert curve["blink"].max() > 0.9
    assert np.ptp(curve["breath"]) > 0.5
    assert np.ptp(curve["yaw_deg"]) > 1.0  # a slow look around


def test_any_sample_rate_is_resampled_alike(speech: np.ndarray) -> None:
    from scipy.signal import resample_poly

    at_48k = resample_poly(speech, 3, 1).astype(np.float32)
    session = LiveSession(EXAMPLE_PORTRAIT, sample_rate_hz=48_000)
    live_48k = _stream_motion(session, at_48k, chunk=1920 * 2)
    live_16k = _stream_motion(LiveSession(EXAMPLE_PORTRAIT), speech, chunk=640 * 2)
    n = min(len(live_48k), len(live_16k))
    assert abs(len(live_48k) - len(live_16k)) <= 1
    assert np.corrcoef(live_48k[:n, JAW], live_16k[:n, JAW])[0, 1] > 0.9
    with pytest.raises(InputError, match="sample_rate"):
        LiveSession(EXAMPLE_PORTRAIT, sample_rate_hz=12_345)


def test_a_long_session_keeps_time_and_bounded_memory(session_16k: LiveSession,
                                                      speech: np.ndarray) -> None:
    session = LiveSession(EXAMPLE_PORTRAIT, Options(seed=1))
    long_speech = np.concatenate([speech] * 4)  # about 51 s
    rows = _stream_motion(session, long_speech, chunk=RATE_HZ)  # half-second chunks
    audio_s = session.audio_end_s
    expected = int(np.floor((audio_s - 0.04) * 25)) + 1 - 2  # measured frames minus lookahead
    assert abs(len(rows) - expected) <= 1
    assert session.next_frame == len(rows)
    assert session._segment_frame > 0  # it rolled over to a new segment ...
    assert len(session._audio) <= MAX_SEGMENT_S * RATE_HZ + RATE_HZ  # ... so memory is bounded
    yaw = rows[:, PARAMETERS.index("yaw_deg")]
    assert np.abs(np.diff(yaw)).max() < 4.0  # no jump at the roll (turns peak near 3)
    assert np.ptp(np.percentile(yaw[-500:], [5, 95])) >= 15  # still lively at the end
