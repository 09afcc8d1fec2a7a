"""Head pose, jitter and blinks from landmarks."""

from __future__ import annotations

import numpy as np
import pytest

from talkinghead.quality import motion
from tests.quality.conftest import N_ROLL, NO_FACE


def _rotation(yaw: float, pitch: float, roll: float) -> np.ndarray:
    """The renderer's convention: roll @ pitch @ yaw, x right, y down, z away."""
    y, p, r = np.radians([yaw, pitch, roll])
    r_yaw = np.array([[np.cos(y), 0, np.sin(y)], [0, 1, 0], [-np.sin(y), 0, np.cos(y)]])
    r_pitch = np.array([[1, 0, 0], [0, np.cos(p), -np.sin(p)], [0, np.sin(p), np.cos(p)]])
    r_roll = np.array([[np.cos(r), -np.sin(r), 0], [np.sin(r), np.cos(r), 0], [0, 0, 1]])
    return r_roll @ r_pitch @ r_yaw


def test_euler_angles_invert_the_renderers_rotation() -> None:
    for angles in [(5.0, 0.0, 0.0), (0.0, -4.0, 0.0), (0.0, 0.0, 3.0), (6.0, -3.0, 2.5)]:
        assert np.allclose(motion.euler_angles(_rotation(*angles)), angles, atol=1e-6)


def test_rotation_to_recovers_a_rotation_with_scale_and_shift() -> None:
    rng = np.random.default_rng(0)
    reference = rng.normal(size=(60, 3)) * [50, 60, 30]
    moved = 1.3 * reference @ _rotation(4.0, 2.0, -3.0).T + [12.0, -5.0, 3.0]
    assert np.allclose(motion.euler_angles(motion.rotation_to(reference, moved)),
                       (4.0, 2.0, -3.0), atol=1e-6)


def test_head_angles_of_the_static_video_are_near_zero(static_eval) -> None:
    assert static_eval.motion.yaw_range_deg < 1.0
    assert static_eval.motion.pitch_range_deg < 1.0
    assert static_eval.motion.jitter_pct < 0.2
    assert static_eval.motion.blinks == 0


def test_blinks_are_counted_once_each_and_noise_is_not() -> None:
    fps = 25
    rng = np.random.default_rng(3)
    openness = 0.33 + rng.normal(0, 0.004, 30 * fps)
    for start in (50, 300, 610):
        openness[start : start + 5] = [0.3, 0.25, 0.23, 0.26, 0.31]
    assert list(motion.blink_frames(openness, fps)) == [52, 302, 612]
    assert len(motion.blink_frames(0.33 + rng.normal(0, 0.004, 30 * fps), fps)) == 0


def test_jitter_grows_with_frame_to_frame_noise(static_eval) -> None:
    reference = static_eval.reference.points
    smooth = np.repeat(reference[None], 50, axis=0).astype(np.float64)
    smooth[:, :, 0] += np.linspace(0, 5, 50)[:, None]  # a slow, steady drift
    noisy = smooth + np.random.default_rng(0).normal(0, 1.0, smooth.shape)
    assert motion.jitter_pct(smooth, reference) < 0.05
    assert motion.jitter_pct(noisy, reference) > 5 * motion.jitter_pct(smooth, reference) + 0.3


def test_percentile_range_leaves_out_lost_frames_and_a_stray_one() -> None:
    t = np.arange(200)
    angles = np.stack([5.0 * np.sin(2 * np.pi * t / 50), np.zeros(200), np.zeros(200)], axis=1)
    expected = np.ptp(np.percentile(angles[:, 0], [5, 95]))
    angles[::10] = np.nan  # the face lost in one frame of ten
    angles[7] = [40.0, -30.0, 25.0]  # one frame where the mesh went wrong
    robust = motion.percentile_range(angles)
    assert abs(robust[0] - expected) < 0.3
    assert np.allclose(robust[1:], 0.0)
    assert np.nanmax(angles[:, 0]) - np.nanmin(angles[:, 0]) > 40  # what max-min would say
    assert np.allclose(motion.percentile_range(np.full((5, 3), np.nan)), 0.0)


def test_a_rolling_head_gives_its_known_p5_p95_range_despite_lost_frames(rolling_video) -> None:
    from talkinghead.quality.clip import measure_clip

    path, roll = rolling_video
    clip = measure_clip(path)
    assert clip.reference_frame == 3
    assert clip.face_found_share == pytest.approx(1 - len(NO_FACE) / N_ROLL)
    m = clip.motion
    expected = float(np.ptp(np.percentile(roll, [5, 95])))  # about 11.6 degrees
    assert abs(m.roll_p5_p95_deg - expected) < 0.6
    assert abs(m.roll_range_deg - np.ptp(roll)) < 0.8
    assert m.roll_p5_p95_deg <= m.roll_range_deg
    assert m.yaw_p5_p95_deg < 1.0 and m.pitch_p5_p95_deg < 1.0
    assert any("first face in frame 3" in note for note in clip.notes)
    assert any("no face found in 5 of 50 frames" in note for note in clip.notes)


def test_the_static_video_has_near_zero_p5_p95_ranges(static_eval) -> None:
    m = static_eval.motion
    assert max(m.yaw_p5_p95_deg, m.pitch_p5_p95_deg, m.roll_p5_p95_deg) < 0.5


def test_a_face_found_away_from_the_clips_face_is_not_the_reference(
        workdir, portrait, encode_video) -> None:
    """A small second face in the first frame (a poster, or background taken for a
    face) must not become the pose reference: measured against it, every other frame
    read as a 100-degree roll."""
    from talkinghead.analysis.face import find_face
    from talkinghead.quality.clip import measure_clip
    from tests.quality.conftest import shifted, silence

    rgb = portrait[1]
    centre = tuple(float(v) for v in find_face(rgb).points[:, :2].mean(axis=0))
    yaw_free_roll = 4.0 * np.sin(2 * np.pi * np.arange(20) / 20)
    frames = [shifted(rgb, roll_deg=r, centre=centre) for r in yaw_free_roll]
    decoy = np.full_like(rgb, 128)
    small = rgb[::2, ::2]
    decoy[-small.shape[0]:, -small.shape[1]:] = small  # a half-size face, bottom right
    frames[0] = decoy
    n = len(frames)
    path = encode_video(workdir / "decoy.mp4", frames, silence(n), n)
    measured = measure_clip(path)
    assert measured.reference_frame == 1
    assert measured.face_found_share == pytest.approx((n - 1) / n)
    expected = float(np.ptp(np.percentile(yaw_free_roll[1:], [5, 95])))
    assert abs(measured.motion.roll_p5_p95_deg - expected) < 0.8
    assert measured.motion.yaw_p5_p95_deg < 2.0
