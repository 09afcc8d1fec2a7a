"""Lip closure at the phones of a known English transcript.

The transcript is force-aligned by the generator's own aligner
(``talkinghead.speech.phonemes``, pocketsphinx's packaged en-us model).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from talkinghead.quality.lipsync import CLOSED_OPENING
from talkinghead.speech.phonemes import (
    AlignmentError,
    Phone,
    align_transcript,
    transcript_words,
)

BILABIALS = frozenset({"M", "B", "P"})
#: Vowels with the jaw well open (the en-us model has no stress marks, so AH
#: covers both "cup" and unstressed schwa).
OPEN_VOWELS = frozenset({"AA", "AE", "AH", "AO", "AW", "AY"})


@dataclass(frozen=True)
class Alignment:
    """The phones of a transcript, or why there are none (``problem``)."""

    phones: list[Phone]
    words: list[str]
    problem: str | None = None


@dataclass(frozen=True)
class PhoneFigures:
    """How the lips behave at the phones that matter most to the eye.

    bilabial_closed_share: share of m/b/p at which the lips close (min opening
        within the phone under CLOSED_OPENING).
    open_vowel_opening / bilabial_opening: mean opening over their frames.
    open_to_bilabial_ratio: the two divided (denominator at least
        CLOSED_OPENING / 2, so closed bilabials give a large finite ratio).
    """

    n_bilabials: int
    n_open_vowels: int
    bilabial_closed_share: float | None
    open_vowel_opening: float | None
    bilabial_opening: float | None
    open_to_bilabial_ratio: float | None


def normalise_transcript(text: str) -> list[str]:
    """Lower-case words, punctuation dropped, apostrophes kept (``don't``)."""
    return transcript_words(text)


def align(mono_16k: np.ndarray, text: str) -> Alignment:
    """Align ``text`` to 16 kHz mono float samples; phones in seconds.

    Unknown words or a failed alignment give an Alignment with ``problem`` set
    rather than an error: the rest of the report does not depend on it.
    """
    words = transcript_words(text)
    try:
        return Alignment(align_transcript(mono_16k, text), words)
    except AlignmentError as exc:
        return Alignment([], words, str(exc))


def truth_phones(spans: list[tuple[str, float, float]]) -> list[Phone]:
    """A truth file's phonemes as Phones: labels starting with m, b or p (IPA or
    CMU, any case) become M, B, P; open vowels a/ɑ/æ/ʌ become AA; the rest keep
    their label (and so count as neither)."""
    out = []
    for label, start, end in spans:
        first = label[:1].lower()
        name = first.upper() if first in "mbp" else "AA" if first in "aɑæʌ" else label
        out.append(Phone(name, start, end, aligned=True))
    return out


def phone_figures(opening: np.ndarray, fps: float, phones: list[Phone]) -> PhoneFigures:
    """Opening at bilabials and open vowels, from per-frame opening (NaN: no face)."""
    closed, bilabial_frames, vowel_frames = [], [], []
    for phone in phones:
        if phone.label not in BILABIALS and phone.label not in OPEN_VOWELS:
            continue
        values = opening[_frames_of(phone, fps, len(opening))]
        values = values[np.isfinite(values)]
        if not len(values):
            continue
        if phone.label in BILABIALS:
            closed.append(float(values.min()) < CLOSED_OPENING)
            bilabial_frames.append(values)
        else:
            vowel_frames.append(values)
    bilabial = float(np.concatenate(bilabial_frames).mean()) if bilabial_frames else None
    vowel = float(np.concatenate(vowel_frames).mean()) if vowel_frames else None
    ratio = (vowel / max(bilabial, CLOSED_OPENING / 2)
             if vowel is not None and bilabial is not None else None)
    return PhoneFigures(
        n_bilabials=len(closed), n_open_vowels=len(vowel_frames),
        bilabial_closed_share=float(np.mean(closed)) if closed else None,
        open_vowel_opening=vowel, bilabial_opening=bilabial, open_to_bilabial_ratio=ratio,
    )


def _frames_of(phone: Phone, fps: float, n_frames: int) -> np.ndarray:
    """Video frames shown during the phone; at least the one nearest its middle."""
    first = int(np.ceil(phone.start_s * fps))
    last = int(np.ceil(phone.end_s * fps)) - 1  # a frame at the very end is the next phone's
    if last < first:
        first = last = int(round((phone.start_s + phone.end_s) / 2 * fps))
    return np.arange(max(first, 0), min(last + 1, n_frames))
