"""Lip sync: known lags are found, a still mouth reads as still, silences as closed."""

from __future__ import annotations

import numpy as np

from talkinghead.quality import lipsync
from talkinghead.quality.evaluate import evaluate


def test_lagged_correlation_finds_an_injected_lag() -> None:
    rng = np.random.default_rng(1)
    envelope = np.convolve(rng.random(200), np.ones(4) / 4, mode="same")
    for lag in (-4, 0, 3):
        opening = np.roll(envelope, lag)  # opening[t] = envelope[t - lag]
        lags, r = lipsync.lagged_correlation(opening, envelope)
        assert lags[np.argmax(r)] == lag


def test_pearson_of_a_flat_series_is_zero_not_nan() -> None:
    assert lipsync.pearson(np.ones(50), np.arange(50.0)) == 0.0
    assert lipsync.pearson(np.array([1.0, np.nan, 3.0, 4.0]), np.array([2.0, 5.0, 6.0, 8.0])) > 0.9


def test_silent_frames_skip_short_gaps_and_trim_edges() -> None:
    fps = 25
    voice = np.ones(100, bool)
    voice[20:23] = False  # 120 ms: too short to count
    voice[40:60] = False  # 800 ms: counted less 2 frames (80 ms) at each end
    voice[90:] = False  # the clip's end: nothing to trim after it
    silent = lipsync.silent_frames(voice, fps)
    assert not silent[20:23].any()
    assert silent[42:58].all() and not silent[40:42].any() and not silent[58:60].any()
    assert silent[92:].all()


def test_loudness_envelope_is_zero_in_silence_and_one_when_loud() -> None:
    rate = 16_000
    t = np.arange(2 * rate) / rate
    mono = np.where(t < 1.0, 0.0, 0.5 * np.sin(2 * np.pi * 220 * t)).astype(np.float32)
    env = lipsync.loudness_envelope(mono, rate, 25, 50)
    assert env[:20].max() == 0.0
    assert env[30:].min() > 0.95


def test_a_mouth_driven_three_frames_late_reports_lag_plus_three(
        workdir, portrait, clip, envelope, render_mouth, n_frames, encode_video) -> None:
    jaw = np.concatenate([np.zeros(3), envelope[:-3]])  # the mouth follows 3 frames late
    video = encode_video(workdir / "lag3.mp4", render_mouth(jaw), clip[1], n_frames)
    ev = evaluate(portrait[0], clip[0], video)
    assert ev.lipsync.best_lag_frames == 3
    assert ev.lipsync.best_lag_ms == 120.0
    assert ev.lipsync.r_best > 0.6
    assert ev.lipsync.r_best > ev.lipsync.r_lag0 + 0.1
    assert ev.lipsync.opening_std > 0.02
    assert ev.lipsync.closed_in_silence is not None and ev.lipsync.closed_in_silence > 0.8


def test_a_static_video_has_a_still_mouth_and_low_r(static_eval) -> None:
    assert static_eval.lipsync.opening_std < 0.005
    assert abs(static_eval.lipsync.r_lag0) < 0.2
    assert static_eval.face_found_share == 1.0


def test_lips_that_shut_for_single_frames_read_as_snaps(
        workdir, portrait, clip, envelope, render_mouth, n_frames, encode_video) -> None:
    """The same closures, snapped shut for one frame or eased in and out over the
    frames beside them, read off the encoded video."""
    speech = lipsync.speech_from_envelope(envelope)
    jaw = np.where(speech, 0.8, 0.0)
    middles = [k for k in range(6, n_frames - 6, 8) if speech[k - 2:k + 3].all()]
    assert len(middles) >= 3
    snapped, eased = jaw.copy(), jaw.copy()
    for k in middles:
        snapped[k] = 0.0
        eased[k - 2:k + 3] = [0.4, 0.1, 0.0, 0.1, 0.4]  # lips just apart beside the closure
    seconds = speech.sum() / 25
    for curve, name, expected in ((snapped, "snapped", len(middles) / seconds),
                                  (eased, "eased", 0.0)):
        video = encode_video(workdir / f"{name}.mp4", render_mouth(curve), clip[1], n_frames)
        ev = evaluate(portrait[0], clip[0], video)
        assert abs(ev.lipsync.snaps_per_s - expected) < 0.3, (name, ev.lipsync.snaps_per_s)
