"""Phoneme timeline from the packaged pocketsphinx en-us model.

Without a transcript, a phone loop recognises CMU phones directly: it works on
any audio (other languages and song get approximate English phones, which is
what a mouth needs). With a transcript, the words are force-aligned, which is
far more accurate. Nothing here ever fails on odd audio: at worst it returns
an empty timeline and motion falls back on loudness.
"""

from __future__ import annotations

import logging
import os
import re
from dataclasses import dataclass
from functools import cache

import numpy as np

log = logging.getLogger(__name__)

SAMPLE_RATE_HZ = 16_000
FRAME_S = 0.01  # pocketsphinx reports times in 10 ms frames


@dataclass(frozen=True)
class Phone:
    """One CMU phone (``"AA"``, ``"M"``, ``"SIL"``...) and its span in seconds.

    ``aligned`` is True when it comes from aligning words (a transcript, or
    words recognised first), False when the phone loop guessed it from sound.
    """

    label: str
    start_s: float
    end_s: float
    aligned: bool = False

    @property
    def duration_s(self) -> float:
        return self.end_s - self.start_s

    def shifted(self, by_s: float) -> Phone:
        """The same phone ``by_s`` seconds later (earlier if negative)."""
        return Phone(self.label, self.start_s + by_s, self.end_s + by_s, self.aligned)


#: Pruning beams tried in turn when aligning. Alignment with unequal or narrow
#: beams can stop short of the transcript; wide equal beams are slower but robust.
ALIGNMENT_BEAMS = (1e-64, 1e-100, 1e-150)


class AlignmentError(Exception):
    """A transcript could not be aligned to the audio (the message says why)."""


@dataclass(frozen=True)
class Word:
    """One word of an aligned transcript (or of English word recognition)."""

    text: str
    start_s: float
    end_s: float


def recognise_phones(mono: np.ndarray, *, transcript: str | None = None,
                     mode: str = "phones") -> list[Phone]:
    """Phones in ``mono`` (float32, 16 kHz); never raises.

    With ``transcript``, its words are aligned to the sound. Otherwise
    ``mode="phones"`` runs the fast phone loop (any language), and
    ``mode="words"`` first recognises English words with the packaged language
    model, then aligns them: better m/b/p on English speech, slower.
    """
    return recognise_speech(mono, transcript=transcript, mode=mode)[0]


def recognise_speech(mono: np.ndarray, *, transcript: str | None = None,
                     mode: str = "phones") -> tuple[list[Phone], list[Word]]:
    """Like ``recognise_phones``, plus the words with their times where words are
    known (a transcript that aligned, or ``mode="words"``); never raises."""
    if len(mono) < SAMPLE_RATE_HZ // 10:
        return [], []
    if transcript:
        try:
            return _align(_pcm(mono), _known_words(transcript))
        except AlignmentError as exc:  # mismatched text, unknown words...
            log.warning("transcript not used: %s; recognising phones instead", exc)
    pcm = _pcm(mono)
    if mode == "words":
        try:
            words = _recognise_words(pcm)
            if words:
                return _align(pcm, words)
        except (AlignmentError, RuntimeError) as exc:
            log.warning("word recognition failed (%s); recognising phones instead", exc)
    try:
        return _phone_loop(pcm), []
    except Exception as exc:  # never let recognition sink a render
        log.warning("phone recognition failed: %s", exc)
        return [], []


def align_transcript(mono: np.ndarray, transcript: str) -> list[Phone]:
    """Force-align ``transcript`` (English) to ``mono`` (float32, 16 kHz).

    Raises AlignmentError naming unknown words, or when the words cannot be
    fitted to the sound.
    """
    return _align(_pcm(mono), _known_words(transcript))[0]


def _known_words(transcript: str) -> list[str]:
    """The transcript's words; AlignmentError if none, or some are not in the dictionary."""
    words = transcript_words(transcript)
    if not words:
        raise AlignmentError("the transcript has no words")
    unknown = sorted({w for w in words if w not in _dictionary()})
    if unknown:
        raise AlignmentError("not in the pronunciation dictionary: " + ", ".join(unknown))
    return words


def transcript_words(text: str) -> list[str]:
    """Lower-case words, punctuation dropped, apostrophes kept (``don't``)."""
    return re.findall(r"[a-z]+(?:'[a-z]+)*", text.lower())


def _pcm(mono: np.ndarray) -> bytes:
    return (np.clip(mono, -1.0, 1.0) * 32767).astype("<i2").tobytes()


def _model_dir() -> str:
    from pocketsphinx import get_model_path

    return os.path.join(get_model_path(), "en-us")


def _decoder(**config: object):  # type: ignore[no-untyped-def]
    from pocketsphinx import Decoder

    return Decoder(hmm=os.path.join(_model_dir(), "en-us"), loglevel="FATAL",
                   samprate=SAMPLE_RATE_HZ, **config)


def _decode(decoder, pcm: bytes) -> None:  # type: ignore[no-untyped-def]
    decoder.start_utt()
    decoder.process_raw(pcm, full_utt=True)
    decoder.end_utt()


def _phone_loop(pcm: bytes) -> list[Phone]:
    decoder = _decoder(allphone=os.path.join(_model_dir(), "en-us-phone.lm.bin"),
                       lw=2.0, beam=1e-20, pbeam=1e-20)
    _decode(decoder, pcm)
    return _merge_silences([
        Phone(_clean(seg.word), seg.start_frame * FRAME_S, (seg.end_frame + 1) * FRAME_S)
        for seg in decoder.seg()
    ])


def _recognise_words(pcm: bytes) -> list[str]:
    decoder = _decoder(lm=os.path.join(_model_dir(), "en-us.lm.bin"),
                       dict=os.path.join(_model_dir(), "cmudict-en-us.dict"))
    _decode(decoder, pcm)
    hypothesis = decoder.hyp()
    if hypothesis is None:
        return []
    return [w for w in transcript_words(re.sub(r"\(\d+\)", "", hypothesis.hypstr))
            if w in _dictionary()]


def _align(pcm: bytes, words: list[str]) -> tuple[list[Phone], list[Word]]:
    """Two passes: words first, then phones within them; wider beams on failure."""
    for beam in ALIGNMENT_BEAMS:
        decoder = _decoder(lm=None, dict=os.path.join(_model_dir(), "cmudict-en-us.dict"),
                           bestpath=False, beam=beam, wbeam=beam, pbeam=beam)
        decoder.set_align_text(" ".join(words))
        try:
            _decode(decoder, pcm)
        except RuntimeError:
            continue
        hypothesis = decoder.hyp()
        if hypothesis is None or [w.split("(")[0] for w in hypothesis.hypstr.split()] != words:
            continue  # stopped short of the transcript
        try:
            decoder.set_alignment()
            _decode(decoder, pcm)
        except RuntimeError:
            continue
        alignment = decoder.get_alignment()
        phones = [Phone(_clean(p.name), p.start * FRAME_S, (p.start + p.duration) * FRAME_S,
                        True) for p in alignment.phones()]
        timed = [Word(name, w.start * FRAME_S, (w.start + w.duration) * FRAME_S)
                 for w in alignment.words()
                 if _clean(name := w.name.split("(")[0]) != "SIL"]  # "and(2)": a variant
        if phones:
            return _merge_silences(phones), timed
    raise AlignmentError("the transcript could not be aligned to the audio")


def _clean(label: str) -> str:
    label = label.upper().strip("+")
    return "SIL" if label in {"SIL", "<SIL>", "<S>", "</S>", "NSN", "SPN", "++NOISE++"} or (
        not label.isalpha()) else label


def _merge_silences(phones: list[Phone]) -> list[Phone]:
    merged: list[Phone] = []
    for phone in phones:
        if merged and phone.label == "SIL" and merged[-1].label == "SIL":
            merged[-1] = Phone("SIL", merged[-1].start_s, phone.end_s, phone.aligned)
        else:
            merged.append(phone)
    return merged


@cache
def _dictionary() -> frozenset[str]:
    path = os.path.join(_model_dir(), "cmudict-en-us.dict")
    with open(path, encoding="utf-8") as lines:
        return frozenset(line.split(" ", 1)[0] for line in lines)


class PhoneStream:
    """The phone loop, fed as sound arrives (live mode).

    ``phones()`` returns what has been recognised so far, in seconds from the
    stream's start; the last phone or two may still change as more sound comes.
    ``restart(at_s)`` forgets everything from ``at_s`` on (an interruption, or
    a fresh utterance to keep the decoder's memory bounded).
    """

    def __init__(self) -> None:
        self._decoder = _decoder(allphone=os.path.join(_model_dir(), "en-us-phone.lm.bin"),
                                 lw=2.0, beam=1e-20, pbeam=1e-20)
        self._settled: list[Phone] = []  # from utterances already ended
        self._utterance_start_s = 0.0
        self._decoder.start_utt()

    def push(self, mono: np.ndarray) -> None:
        """Feed float32 samples at 16 kHz."""
        if len(mono):
            self._decoder.process_raw(_pcm(mono), full_utt=False)

    def phones(self) -> list[Phone]:
        """Every phone so far, silences merged."""
        offset = self._utterance_start_s
        current = self._decoder.seg()
        partial = [] if current is None else [
            Phone(_clean(seg.word), offset + seg.start_frame * FRAME_S,
                  offset + (seg.end_frame + 1) * FRAME_S) for seg in current]
        return _merge_silences([*self._settled, *partial])

    def restart(self, at_s: float, *, keep_from_s: float = 0.0) -> None:
        """End the utterance, keep the phones that ended between ``keep_from_s`` and
        ``at_s``, and listen on from ``at_s``."""
        self._decoder.end_utt()
        self._settled = [p for p in self.phones() if keep_from_s < p.end_s <= at_s]
        self._utterance_start_s = at_s
        self._decoder.start_utt()
