"""Lips from sound alone, scored against espeak-ng's own phoneme times (no rendering)."""

from __future__ import annotations

import numpy as np
import pytest

from tests import espeak_truth

pytestmark = pytest.mark.skipif(not espeak_truth.available(),
                                reason="libespeak-ng not installed (requirements-apt.txt)")


def _closed(clip: espeak_truth.LabelledClip) -> np.ndarray:
    from talkinghead import Options
    from talkinghead.inputs.audio import AudioClip
    from talkinghead.pipeline import plan_motion

    audio = AudioClip(samples=clip.samples[:, None], sample_rate_hz=clip.rate_hz, name="espeak")
    _, motion = plan_motion(audio, Options())  # no transcript
    return motion.curve("jaw_open") < 0.15


def test_espeak_reports_phonemes_where_the_sound_is() -> None:
    clip = espeak_truth.synthesise("Bob bought a lamp.", voice="en-us", rate_wpm=150)
    names = [name for name, _, _ in clip.phonemes]
    assert [n for n in names if espeak_truth.is_bilabial(n)] == ["b", "b", "b", "m", "p"]
    assert clip.phonemes[-1][2] <= clip.duration_s + 1e-9
    vowel = next(p for p in clip.phonemes if espeak_truth.is_vowel(p[0]))
    middle = int((vowel[1] + vowel[2]) / 2 * clip.rate_hz)
    assert np.abs(clip.samples[middle - 200: middle + 200]).max() > 0.05  # a vowel is heard


@pytest.mark.parametrize(("language", "voice"), [("de", "de+f2"), ("cmn", "cmn-latn-pinyin")])
def test_mbp_pauses_and_vowels_without_a_transcript(language: str, voice: str) -> None:
    sentences = espeak_truth.SENTENCES[language]
    total = None
    for k, rate in enumerate((140, 190)):
        first = espeak_truth.synthesise(sentences[k], voice=voice, rate_wpm=rate)
        second = espeak_truth.synthesise(sentences[k + 2], voice=voice, rate_wpm=rate)
        clip = espeak_truth.pair_clip(first, second, gap_s=0.45)
        shares = espeak_truth.lip_shares(clip, _closed(clip), 25)
        total = shares if total is None else total + shares
    assert total is not None and total.bilabials >= 12 and total.pause_frames >= 20
    assert total.bilabial_share >= 0.85, total
    assert total.pause_share >= 0.95, total
    assert total.vowel_share >= 0.85, total


def test_real_closures_are_short_shut_runs_between_open_lips() -> None:
    from benchmarks.lips_from_sound import footage_shares, real_closures

    fps = 25
    opening = np.full(100, 0.1)
    opening[10:13] = 0.01  # an m between open lips: counted
    opening[40:60] = 0.01  # 0.8 s shut: a pause, not a closure inside speech
    opening[70:72] = np.nan  # no face found: neither shut nor open
    opening[90:] = 0.0  # shut at the end: nothing after it to open into
    assert real_closures(opening, fps) == [(10, 13)]

    ours = np.zeros(100, bool)
    ours[13] = True  # one frame late still counts
    ours[20:30] = True  # shut where the real lips are apart
    closures, shut, apart, ours_apart = footage_shares(opening, ours, fps)
    assert (closures, shut) == (1, 1)
    assert apart == 100 - 3 - 20 - 2 - 10 and ours_apart == apart - 10 - 1  # 20:30 and 13
    ours[13] = False
    assert footage_shares(opening, ours, fps)[1] == 0
    silent = np.ones(100, bool)
    silent[11] = False  # heard as silence: a pause, not an m
    assert footage_shares(opening, ours, fps, silent)[0] == 0


def test_a_snap_is_one_shut_frame_between_open_ones() -> None:
    from talkinghead.quality.lipsync import snaps_per_s

    fps = 25
    speaking = np.ones(100, bool)
    opening = np.full(100, 0.5)
    opening[20] = 0.0  # a snap
    opening[50:53] = [0.15, 0.0, 0.15]  # closing and opening around a shut frame: not a snap
    opening[80:82] = 0.0  # two shut frames: not a single-frame dip
    assert snaps_per_s(opening, speaking, fps) == 1 / 4  # one in 4 s of speech
    speaking[15:25] = False  # in a pause it does not count
    assert snaps_per_s(opening, speaking, fps) == 0.0
