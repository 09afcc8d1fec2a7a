"""Head pose with the statistics of real speakers.

Real talkers do not wobble about the camera axis; they hold a posture and
change it at phrase boundaries: a look away to one side while a thought
starts, a return to the listener, now and then a larger turn. On top of that
come nods and tilts on stressed syllables, a slow drift, and, in song, a bob
on the beat. Energy follows loudness and speaking rate; pauses hold the
posture and drift it home. Every random choice comes from the seeded ``rng``.

At intensity 1 an 8-10 s clip of speech is commanded over about 25-35
degrees of yaw, 15-17 of pitch and 9-10 of roll (5-95 % range); the face mesh
reads about 0.6 of that back from the video (15-25 / 9-14 / 7-11), the range
of real speakers. Intensity 2 doubles it, turns softly capped at
``MAX_YAW_DEG``, the largest turn the warp renders cleanly (dlib identity
distance under 0.5 on every evaluation portrait).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from talkinghead.motion.expression import pitch_accents
from talkinghead.motion.smooth import seeded_drift, smooth
from talkinghead.speech import SpeechTrack

LOOK_AWAY_YAW_DEG = (13.0, 21.0)  # a look away at a phrase start turns this far
LOOK_AWAY_PITCH_DEG = (4.0, 11.0)  # and lifts or drops the chin this far
RETURN_SHARE = 0.2  # share of posture changes that come back to the listener
ROLL_PER_YAW = 0.35  # the head tilts a little into a turn
DRIFT_DEG = (3.0, 2.8, 2.5)  # yaw, pitch, roll of the slow wander
NOD_DEG = 8.0  # a nod on a stressed syllable
TILT_DEG = 5.0
BEAT_NOD_DEG = 2.0  # in song, a bob on each beat
SHIFT_SHARE = 0.012  # head translation, as a share of face height
MAX_YAW_DEG, MAX_PITCH_DEG, MAX_ROLL_DEG = 30.0, 20.0, 16.0
MIN_PAUSE_S = 0.25  # a quieter stretch shorter than this does not end a phrase
MAX_HOLD_S = 2.2  # inside a long phrase the posture changes at least this often
HOME_AFTER_S = 0.9  # this far into a pause the head starts back to the listener
MIN_CHANGE_DEG = 8.0  # a look-away this close to where the head is goes the other way


@dataclass(frozen=True)
class HeadPose:
    """Per-frame head pose: degrees, and shifts as a share of face height."""

    yaw_deg: np.ndarray
    pitch_deg: np.ndarray
    roll_deg: np.ndarray
    shift_x: np.ndarray
    shift_y: np.ndarray


def head_pose(speech: SpeechTrack, rng: np.random.Generator, *, intensity: float) -> HeadPose:
    """Head motion for the clip; ``intensity`` scales everything (0 = still)."""
    n, fps = speech.n_frames, speech.fps
    # One generator per kind of choice, each drawn in time order: a longer clip
    # only adds choices at its end, so live mode can re-plan as audio arrives.
    posture_rng, nod_rng, tilt_rng, drift_rng = rng.spawn(4)
    energy = speaking_energy(speech)
    yaw, pitch = posture(speech, posture_rng, energy)
    accents = pitch_accents(speech)
    stress = np.clip(0.6 * speech.onset + 0.6 * np.diff(accents, prepend=0.0) * 4, 0.0, 1.0)
    nods = _impulses(stress, nod_rng, fps, threshold=0.35, min_gap_s=0.7) * energy
    tilts = _impulses(stress, tilt_rng, fps, threshold=0.5, min_gap_s=1.4,
                      either_sign=True) * energy
    tilt_side = drift_rng.choice([-1.0, 1.0])
    yaw = yaw + seeded_drift(drift_rng, n, fps, amplitude=DRIFT_DEG[0]) * energy
    pitch = (pitch + seeded_drift(drift_rng, n, fps, amplitude=DRIFT_DEG[1]) * energy
             + _shape(nods, fps, 0.55) * NOD_DEG + beat_bob(speech) * BEAT_NOD_DEG)
    roll = (tilt_side * ROLL_PER_YAW * yaw + _shape(tilts, fps, 1.1) * TILT_DEG
            + seeded_drift(drift_rng, n, fps, amplitude=DRIFT_DEG[2]) * energy)
    shift_x = seeded_drift(drift_rng, n, fps, amplitude=SHIFT_SHARE, highest_hz=0.2) * energy
    shift_y = seeded_drift(drift_rng, n, fps, amplitude=SHIFT_SHARE * 0.5,
                           highest_hz=0.2) * energy
    yaw, pitch, roll, shift_x, shift_y = (smooth(c, 1.5) * intensity
                                          for c in (yaw, pitch, roll, shift_x, shift_y))
    return HeadPose(_soft_limit(yaw, MAX_YAW_DEG), _soft_limit(pitch, MAX_PITCH_DEG),
                    _soft_limit(roll, MAX_ROLL_DEG), shift_x, shift_y)


def speaking_energy(speech: SpeechTrack) -> np.ndarray:
    """0.5 (silent) .. about 1.3 (loud, fast speech) per frame, changing over ~0.5 s.

    Louder speech and more syllables a second move the head more.
    """
    fps = speech.fps
    active = smooth(speech.voice_activity.astype(np.float64), 0.5 * fps)
    loud = smooth(speech.loudness * speech.voice_activity, 0.7 * fps)
    rate = smooth(speech.onset, 1.0 * fps) * fps  # onsets per second, roughly
    return 0.5 + 0.4 * active + 0.3 * loud + 0.1 * np.clip(rate / 4.0, 0.0, 1.0)


def phrases(voice_activity: np.ndarray, fps: int) -> list[tuple[int, int, int]]:
    """(start, end, next) of every phrase: its first and last voiced frames, and where
    the next one starts (or the clip ends). A quieter stretch shorter than
    ``MIN_PAUSE_S`` does not end a phrase."""
    active = voice_activity.astype(bool)
    starts = np.flatnonzero(active & ~np.concatenate([[False], active[:-1]]))
    ends = np.flatnonzero(active & ~np.concatenate([active[1:], [False]]))
    keep = [int(s) for k, s in enumerate(starts) if k == 0 or s - ends[k - 1] > MIN_PAUSE_S * fps]
    bounds = [*keep, len(active)]
    return [(start, start + int(np.flatnonzero(active[start:bounds[k + 1]])[-1]), bounds[k + 1])
            for k, start in enumerate(keep)]


def posture(speech: SpeechTrack, rng: np.random.Generator,
            energy: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Yaw and pitch held between posture changes, eased from one to the next.

    A change comes just before each phrase starts, inside long phrases every
    ``MAX_HOLD_S`` or so, and a second into long pauses (a return home).
    """
    n, fps = speech.n_frames, speech.fps
    yaw, pitch = np.zeros(n), np.zeros(n)
    event_rng, rng = rng.spawn(2)
    events = _posture_events(speech, event_rng)
    side, tip = rng.choice([-1.0, 1.0], size=2)
    for k, (frame, kind) in enumerate(events):  # a few per phrase
        start = max(frame - int(0.15 * fps), 0)  # the head leads the voice a little
        current = (yaw[start], pitch[start])  # where the last change got to
        if kind == "home" or (rng.random() < RETURN_SHARE and abs(current[0]) > 4):
            target = np.array([rng.normal(0, 1.5), rng.normal(0, 1.0)])
        else:
            # Mostly the other side, and the chin the other way, from last time.
            side = -side if rng.random() < 0.85 else side
            tip = -tip if rng.random() < 0.7 else tip
            gain = float(energy[min(frame + fps // 2, n - 1)])
            target = np.array([side * rng.uniform(*LOOK_AWAY_YAW_DEG) * gain,
                               tip * rng.uniform(*LOOK_AWAY_PITCH_DEG) * gain])
            if abs(target[0] - current[0]) < MIN_CHANGE_DEG:  # a change nobody would see
                side, target[0] = -side, -target[0]
        # Bigger turns take longer, as they do in people (about 0.5 s for 10 degrees).
        delta = float(np.hypot(target[0] - current[0], target[1] - current[1]))
        duration = int((0.3 + 0.02 * delta) * rng.uniform(0.85, 1.2) * fps)
        end = events[k + 1][0] if k + 1 < len(events) else n
        _ease(yaw, start, end, duration, current[0], target[0])
        _ease(pitch, start, end, duration, current[1], target[1])
    return yaw, pitch


def beat_bob(speech: SpeechTrack) -> np.ndarray:
    """In song (long voiced stretches with a steady pulse of onsets): a nod per beat,
    0..1; zero for speech."""
    n, fps = speech.n_frames, speech.fps
    voiced = (speech.pitch_hz > 0) & speech.voice_activity
    if n < 4 * fps or voiced.mean() < 0.45:
        return np.zeros(n)
    pulse = speech.onset - speech.onset.mean()
    lags = np.arange(int(0.33 * fps), int(1.0 * fps) + 1)  # 60 to 180 beats a minute
    energy = float(pulse @ pulse)
    if energy <= 0 or lags[-1] >= n // 2:
        return np.zeros(n)
    strength = np.array([pulse[:-lag] @ pulse[lag:] for lag in lags]) / energy
    best = int(np.argmax(strength))
    if strength[best] < 0.15:
        return np.zeros(n)
    period = lags[best]
    phase = int(np.argmax([speech.onset[k::period].sum() for k in range(period)]))
    beats = np.zeros(n)
    beats[phase::period] = 1.0
    bob = _shape(beats, fps, 0.6 * period / fps)
    return bob * smooth(speech.voice_activity.astype(np.float64), 0.3 * fps)


def _posture_events(speech: SpeechTrack, rng: np.random.Generator) -> list[tuple[int, str]]:
    """(frame, "turn" or "home") for every posture change, in time order."""
    n, fps = speech.n_frames, speech.fps
    events: list[tuple[int, str]] = []
    for start, end, following in phrases(speech.voice_activity, fps):
        events.append((start, "turn"))
        frame = start + int(rng.uniform(0.8, 1.2) * MAX_HOLD_S * fps)
        while frame <= end:  # long phrase: change again on its way
            events.append((frame, "turn"))
            frame += int(rng.uniform(0.8, 1.2) * MAX_HOLD_S * fps)
        if following - end > HOME_AFTER_S * fps + 2:  # long pause: come home
            events.append((end + int(HOME_AFTER_S * fps), "home"))
    if not events:  # silence or constant sound: a slow look around
        events = [(int(f), "turn") for f in range(0, n, int(MAX_HOLD_S * 1.5 * fps))]
    return events


def _ease(curve: np.ndarray, start: int, end: int, duration: int, before: float,
          after: float) -> None:
    """Fill curve[start:end] moving from ``before`` to ``after`` over ``duration`` frames
    (minimum jerk), then holding."""
    t = np.clip((np.arange(start, end) - start) / max(duration, 1), 0.0, 1.0)
    curve[start:end] = before + (after - before) * (10 * t**3 - 15 * t**4 + 6 * t**5)


def _soft_limit(curve: np.ndarray, limit: float) -> np.ndarray:
    """Pass values up to 0.7 of ``limit`` unchanged, approach ``limit`` smoothly beyond."""
    knee = 0.7 * limit
    over = np.maximum(np.abs(curve) - knee, 0.0)
    return np.sign(curve) * (np.minimum(np.abs(curve), knee)
                             + (limit - knee) * np.tanh(over / (limit - knee)))


def _impulses(strength: np.ndarray, rng: np.random.Generator, fps: int, *, threshold: float,
              min_gap_s: float, either_sign: bool = False) -> np.ndarray:
    """Sparse impulses where ``strength`` first crosses ``threshold``, spaced apart;
    ``either_sign`` makes each one positive or negative at random."""
    crossings = np.flatnonzero((strength > threshold) & (np.roll(strength, 1) <= threshold))
    impulses = np.zeros(len(strength))
    last = -10 * fps
    for frame in crossings:  # a few per second at most
        if frame - last >= min_gap_s * fps:
            impulses[frame] = rng.uniform(0.5, 1.0) * (rng.choice([-1.0, 1.0])
                                                       if either_sign else 1.0)
            last = frame
    return impulses


def _shape(impulses: np.ndarray, fps: int, duration_s: float) -> np.ndarray:
    """Each impulse becomes a smooth there-and-back movement lasting ``duration_s``."""
    t = np.arange(max(int(duration_s * fps), 2)) / fps
    kernel = np.sin(np.pi * t / duration_s) ** 2
    return np.convolve(impulses, kernel)[: len(impulses)]
