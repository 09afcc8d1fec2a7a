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

    ``aligned`` is True when it comes from aligning a transcript (trustworthy),
    False when it was recognised from the sound alone (a guess).
    """

    label: str
    start_s: float
    end_s: float
    aligned: bool = False

    @property
    def duration_s(self) -> float:
        return self.end_s - self.start_s


def recognise_phones(mono: np.ndarray, *, transcript: str | None = None) -> list[Phone]:
    """Phones in ``mono`` (float32, 16 kHz). Aligns ``transcript`` when given."""
    if len(mono) < SAMPLE_RATE_HZ // 10:
        return []
    pcm = (np.clip(mono, -1.0, 1.0) * 32767).astype("<i2").tobytes()
    if transcript:
        words = _known_words(transcript)
        if words:
            try:
                return _align(pcm, words)
            except Exception as exc:  # alignment can fail on mismatched text
                log.warning("transcript alignment failed (%s); recognising phones instead", exc)
    try:
        return _phone_loop(pcm)
    except Exception as exc:  # never let recognition sink a render
        log.warning("phone recognition failed: %s", exc)
        return []


def _model_dir() -> str:
    from pocketsphinx import get_model_path

    return os.path.join(get_model_path(), "en-us")


def _decoder(**config: object):  # type: ignore[no-untyped-def]
    from pocketsphinx import Decoder

    return Decoder(hmm=os.path.join(_model_dir(), "en-us"), loglevel="FATAL",
                   samprate=SAMPLE_RATE_HZ, **config)


def _phone_loop(pcm: bytes) -> list[Phone]:
    decoder = _decoder(allphone=os.path.join(_model_dir(), "en-us-phone.lm.bin"),
                       lw=2.0, beam=1e-20, pbeam=1e-20)
    decoder.start_utt()
    decoder.process_raw(pcm, full_utt=True)
    decoder.end_utt()
    return _merge_silences([
        Phone(_clean(seg.word), seg.start_frame * FRAME_S, (seg.end_frame + 1) * FRAME_S)
        for seg in decoder.seg()
    ])


def _align(pcm: bytes, words: list[str]) -> list[Phone]:
    decoder = _decoder(lm=None, dict=os.path.join(_model_dir(), "cmudict-en-us.dict"))
    decoder.set_align_text(" ".join(words))
    decoder.start_utt()
    decoder.process_raw(pcm, full_utt=True)
    decoder.end_utt()
    decoder.set_alignment()  # second pass: phone- and state-level alignment
    decoder.start_utt()
    decoder.process_raw(pcm, full_utt=True)
    decoder.end_utt()
    alignment = decoder.get_alignment()
    if alignment is None:
        raise RuntimeError("no alignment found")
    phones = [Phone(_clean(p.name), p.start * FRAME_S, (p.start + p.duration) * FRAME_S, True)
              for p in alignment.phones()]
    if not phones:
        raise RuntimeError("empty alignment")
    return _merge_silences(phones)


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


def _known_words(transcript: str) -> list[str]:
    """Lower-case words of ``transcript`` that the pronouncing dictionary knows."""
    words = re.findall(r"[a-z']+", transcript.lower())
    known = _dictionary()
    kept = [w for w in words if w in known]
    if len(kept) < len(words):
        log.info("transcript: %d unknown word(s) skipped", len(words) - len(kept))
    return kept
