"""Speech features on signals whose answers are known."""

from __future__ import annotations

import numpy as np
import pytest

from talkinghead.speech import analyse_speech
from talkinghead.speech.phonemes import recognise_phones
from tests.conftest import EXAMPLE_SPEECH, voice_like

RATE = 16_000


def _tone(freq_hz: float, duration_s: float, amplitude: float = 0.3) -> np.ndarray:
    t = np.arange(int(duration_s * RATE)) / RATE
    wave = sum(amplitude / k * np.sin(2 * np.pi * k * freq_hz * t) for k in (1, 2, 3))
    return wave.astype(np.float32)


@pytest.mark.parametrize("freq_hz", [90.0, 150.0, 220.0, 330.0, 440.0])
def test_pitch_of_harmonic_tones(freq_hz: float) -> None:
    speech = analyse_speech(_tone(freq_hz, 1.0), RATE, 25)
    assert speech.voice_activity.all()
    assert np.median(speech.pitch_hz) == pytest.approx(freq_hz, rel=0.02)


def test_loudness_tracks_level_and_silence_is_inactive() -> None:
    quiet_loud = np.concatenate([np.zeros(RATE, np.float32), _tone(200, 1.0, 0.05),
                                 _tone(200, 1.0, 0.5)])
    speech = analyse_speech(quiet_loud, RATE, 25)
    silent, quiet, loud = speech.loudness_db[5:20], speech.loudness_db[30:45], \
        speech.loudness_db[55:70]
    assert silent.max() < -90
    assert loud.mean() - quiet.mean() == pytest.approx(20.0, abs=0.5)  # 10x amplitude
    assert not speech.voice_activity[5:20].any()
    assert speech.voice_activity[30:70].all()
    assert speech.loudness[55:70].mean() > speech.loudness[30:45].mean()


def test_noise_has_no_pitch() -> None:
    noise = np.random.default_rng(0).standard_normal(RATE).astype(np.float32) * 0.2
    assert (analyse_speech(noise, RATE, 25).pitch_hz > 0).mean() < 0.1


def test_onsets_mark_syllable_starts() -> None:
    speech = analyse_speech(voice_like(2.0, syllable_hz=2.0), RATE, 25)
    peaks = np.flatnonzero(speech.onset > 0.3)
    assert len(peaks) >= 3
    # Onsets fall where loudness rises, not where it falls.
    rising = np.diff(speech.loudness, prepend=0)[peaks]
    assert (rising > 0).all()


def test_transcript_alignment_finds_the_bilabials() -> None:
    from talkinghead.inputs import load_audio

    mono = load_audio(EXAMPLE_SPEECH).mono()
    text = EXAMPLE_SPEECH.with_suffix(".txt").read_text()
    phones = recognise_phones(mono, transcript=text)
    labels = [p.label for p in phones]
    # "map, bubble and people": m ae p / b ah b ah l / p iy p ah l
    assert labels.count("P") >= 4 and labels.count("B") >= 2 and labels.count("M") >= 3
    assert all(b.start_s >= a.start_s for a, b in zip(phones, phones[1:], strict=False))
    assert phones[0].label == "SIL" and phones[0].end_s > 0.2  # the leading pause


def test_phone_loop_without_transcript_and_on_odd_audio() -> None:
    from talkinghead.inputs import load_audio

    phones = recognise_phones(load_audio(EXAMPLE_SPEECH).mono())
    assert len([p for p in phones if p.label != "SIL"]) > 40
    assert recognise_phones(np.zeros(RATE, np.float32)) is not None
    assert recognise_phones(np.zeros(100, np.float32)) == []
    # A transcript that matches nothing still gives a timeline (recognised instead).
    assert recognise_phones(load_audio(EXAMPLE_SPEECH).mono(), transcript="zzqx") != []


def test_word_mode_aligns_recognised_words() -> None:
    from talkinghead.inputs import load_audio

    phones = recognise_phones(load_audio(EXAMPLE_SPEECH).mono(), mode="words")
    spoken = [p for p in phones if p.label != "SIL"]
    assert len(spoken) > 30 and all(p.aligned for p in phones)


def test_alignment_names_unknown_words() -> None:
    from talkinghead.speech.phonemes import AlignmentError, align_transcript

    with pytest.raises(AlignmentError, match="qzxqzx"):
        align_transcript(np.zeros(RATE, np.float32), "hello qzxqzx")
