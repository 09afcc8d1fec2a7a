"""Captions from timed words: SubRip (SRT) and WebVTT."""

from __future__ import annotations

import re

from talkinghead.speech.phonemes import Word, transcript_words

MAX_LINE_CHARS = 42  # a subtitle line longer than this is hard to read at a glance
MAX_CUE_S = 5.0
PAUSE_S = 0.5  # a pause this long starts a new caption


def caption_lines(words: list[Word]) -> list[tuple[float, float, str]]:
    """(start, end, text) of each caption: words grouped at pauses and sentence ends,
    at most ``MAX_LINE_CHARS`` characters and ``MAX_CUE_S`` seconds each."""
    captions: list[tuple[float, float, str]] = []
    group: list[Word] = []
    for word in words:  # one step per word
        sentence_ended = group and group[-1].text.endswith((".", "!", "?")) and len(group) >= 3
        if group and (word.start_s - group[-1].end_s >= PAUSE_S or sentence_ended
                      or len(" ".join(w.text for w in [*group, word])) > MAX_LINE_CHARS
                      or word.end_s - group[0].start_s > MAX_CUE_S):
            captions.append((group[0].start_s, group[-1].end_s, " ".join(w.text for w in group)))
            group = []
        group.append(word)
    if group:
        captions.append((group[0].start_s, group[-1].end_s, " ".join(w.text for w in group)))
    return captions


def with_transcript_spelling(words: list[Word], transcript: str | None) -> list[Word]:
    """The aligned words as the transcript wrote them (case, punctuation), where each
    of its whitespace-separated tokens is one aligned word; else as they are."""
    if not transcript:
        return words
    tokens = [t for t in re.findall(r"\S+", transcript) if transcript_words(t)]
    if len(tokens) != len(words) or any(
            transcript_words(t) != [w.text] for t, w in zip(tokens, words, strict=True)):
        return words
    return [Word(t, w.start_s, w.end_s) for t, w in zip(tokens, words, strict=True)]


def srt(words: list[Word]) -> str:
    """SubRip: numbered cues, ``HH:MM:SS,mmm --> HH:MM:SS,mmm``."""
    blocks = [f"{k}\n{_time(start, ',')} --> {_time(end, ',')}\n{text}\n"
              for k, (start, end, text) in enumerate(caption_lines(words), start=1)]
    return "\n".join(blocks)


def vtt(words: list[Word]) -> str:
    """WebVTT: a header, then ``HH:MM:SS.mmm --> HH:MM:SS.mmm`` cues."""
    blocks = [f"{_time(start, '.')} --> {_time(end, '.')}\n{text}\n"
              for start, end, text in caption_lines(words)]
    return "\n".join(["WEBVTT\n", *blocks])


def _time(seconds: float, separator: str) -> str:
    ms = int(round(seconds * 1000))
    hours, ms = divmod(ms, 3_600_000)
    minutes, ms = divmod(ms, 60_000)
    secs, ms = divmod(ms, 1000)
    return f"{hours:02d}:{minutes:02d}:{secs:02d}{separator}{ms:03d}"
