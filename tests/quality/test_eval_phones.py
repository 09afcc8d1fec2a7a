"""Forced alignment of a known transcript, and lip closure at m/b/p."""

from __future__ import annotations

import numpy as np
import pytest

from talkinghead.inputs import load_audio
from talkinghead.quality import phones
from talkinghead.quality.evaluate import evaluate

FPS = 25
TEXT = "My baby, Bob, makes maps."


@pytest.fixture(scope="module")
def spoken(espeak, workdir):  # type: ignore[no-untyped-def]
    path = espeak(TEXT, workdir / "bob.wav")
    clip = load_audio(path)
    return path, clip, phones.align(clip.mono(16_000), TEXT)


def test_normalise_transcript_keeps_words_and_apostrophes() -> None:
    assert phones.normalise_transcript("Hello! Don't stop -- 'now'.") == [
        "hello", "don't", "stop", "now"]


def test_alignment_finds_the_bilabials_in_order(spoken) -> None:
    _, clip, alignment = spoken
    assert alignment.problem is None
    labels = [p.label for p in alignment.phones if p.label in phones.BILABIALS]
    # my baby bob makes maps: M, B, B, B, B, M, M, P
    assert labels == ["M", "B", "B", "B", "B", "M", "M", "P"]
    starts = [p.start_s for p in alignment.phones]
    assert starts == sorted(starts) and alignment.phones[-1].end_s <= clip.duration_s + 0.05


def test_unknown_words_are_reported_not_raised() -> None:
    alignment = phones.align(np.zeros(16_000, np.float32), "hello qzxqzx")
    assert alignment.phones == [] and "qzxqzx" in (alignment.problem or "")


def test_phone_figures_on_known_curves() -> None:
    timeline = [phones.Phone("M", 0.0, 0.1), phones.Phone("AA", 0.1, 0.3),
                phones.Phone("P", 0.3, 0.4), phones.Phone("AE", 0.4, 0.6)]
    closing = np.array([0.0, 0.0, 0.0, 0.3, 0.3, 0.3, 0.3, 0.3, 0.0, 0.0, 0.3, 0.3, 0.3, 0.3, 0.3])
    figures = phones.phone_figures(closing, 25, timeline)
    assert figures.bilabial_closed_share == 1.0 and figures.open_to_bilabial_ratio > 10
    open_all = phones.phone_figures(np.full(15, 0.3), 25, timeline)
    assert open_all.bilabial_closed_share == 0.0
    assert open_all.open_to_bilabial_ratio == pytest.approx(1.0)


def _jaw_from(alignment: phones.Alignment, n_frames: int, *, close_bilabials: bool) -> np.ndarray:
    t = np.arange(n_frames) / FPS
    jaw = np.zeros(n_frames)
    for phone in alignment.phones:
        inside = (t >= phone.start_s - 0.5 / FPS) & (t < phone.end_s + 0.5 / FPS)
        if phone.label == "SIL":
            continue
        if phone.label in phones.BILABIALS:
            jaw[inside] = 0.0 if close_bilabials else 0.7
        elif phone.label in phones.OPEN_VOWELS:
            jaw[inside] = np.maximum(jaw[inside], 0.9)
        else:
            jaw[inside] = np.maximum(jaw[inside], 0.5)
    return jaw


@pytest.mark.parametrize("close_bilabials", [True, False])
def test_lip_closure_at_bilabials_is_measured(spoken, portrait, render_mouth, encode_video,
                                              workdir, close_bilabials) -> None:
    path, clip, alignment = spoken
    n_frames = int(round(clip.duration_s * FPS))
    jaw = _jaw_from(alignment, n_frames, close_bilabials=close_bilabials)
    video = encode_video(workdir / f"bob-{close_bilabials}.mp4", render_mouth(jaw), clip, n_frames)
    figures = evaluate(portrait[0], path, video, text=TEXT).phones
    assert figures is not None and figures.n_bilabials == 8
    if close_bilabials:
        assert figures.bilabial_closed_share >= 0.75
        assert figures.open_to_bilabial_ratio > 2.0
    else:
        assert figures.bilabial_closed_share <= 0.25
        assert figures.open_to_bilabial_ratio < 1.5
