"""Forced alignment of a known English transcript with pocketsphinx's packaged model.

The only module of the quality report that imports pocketsphinx.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np

from talkinghead.quality.lipsync import CLOSED_OPENING

#: Phones per second in pocketsphinx's alignment (10 ms frames).
PHONE_RATE_HZ = 100
BILABIALS = frozenset({"M", "B", "P"})
#: Vowels with the jaw well open (the en-us model has no stress marks, so AH
#: covers both "cup" and unstressed schwa).
OPEN_VOWELS = frozenset({"AA", "AE", "AH", "AO", "AW", "AY"})
#: Pruning beams tried in turn. Alignment with unequal or narrow beams can fail
#: to reach the end of the transcript; wide equal beams are slower but robust.
_BEAMS = (1e-64, 1e-100, 1e-150)


@dataclass(frozen=True)
class Phone:
    """One aligned phone: CMU label (``M``, ``AA``, ``SIL``...) and its span in seconds."""

    label: str
    start_s: float
    end_s: float


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
    return re.findall(r"[a-z]+(?:'[a-z]+)*", text.lower())


def align(mono_16k: np.ndarray, text: str) -> Alignment:
    """Align ``text`` to 16 kHz mono float samples; phones in seconds.

    Unknown words or a failed alignment give an Alignment with ``problem`` set
    rather than an error: the rest of the report does not depend on it.
    """
    from pocketsphinx import Decoder  # heavy: only when a transcript is given

    words = normalise_transcript(text)
    if not words:
        return Alignment([], [], "the transcript has no words")
    pcm = (np.clip(mono_16k, -1.0, 1.0) * 32767).astype(np.int16).tobytes()
    for beam in _BEAMS:
        decoder = Decoder(samprate=16000, lm=None, loglevel="FATAL", bestpath=False,
                          beam=beam, wbeam=beam, pbeam=beam)
        unknown = [w for w in words if decoder.lookup_word(w) is None]
        if unknown:
            return Alignment([], words, "not in the pronunciation dictionary: "
                             + ", ".join(sorted(set(unknown))))
        decoder.set_align_text(" ".join(words))
        _decode(decoder, pcm)
        hyp = decoder.hyp()
        if hyp is None or [w.split("(")[0] for w in hyp.hypstr.split()] != words:
            continue
        try:
            decoder.set_alignment()
        except RuntimeError:
            continue
        _decode(decoder, pcm)
        phones = [
            Phone(p.name, p.start / PHONE_RATE_HZ, (p.start + p.duration) / PHONE_RATE_HZ)
            for word in decoder.get_alignment() for p in word
        ]
        return Alignment(phones, words)
    return Alignment([], words, "the transcript could not be aligned to the audio")


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


def _decode(decoder: object, pcm: bytes) -> None:
    decoder.start_utt()  # type: ignore[attr-defined]
    decoder.process_raw(pcm, full_utt=True)  # type: ignore[attr-defined]
    decoder.end_utt()  # type: ignore[attr-defined]
