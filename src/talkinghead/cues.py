"""Mouth cues without a render: audio in, cue files out.

``talkinghead cues`` and ``POST /api/v1/cues`` run the analysis and motion
stages of the pipeline (no portrait, no render) and write the mouth as data:

- Rhubarb Lip Sync's formats (shapes A-H and X): TSV, JSON and XML, so tools
  built for Rhubarb read them unchanged;
- ``arkit``: per-frame ARKit blendshape weights, as JSON;
- ``visemes``: per-frame weights of the 15 Oculus visemes, as JSON;
- ``srt`` and ``vtt``: captions, where the words are known (a transcript, or
  ``lipsync="words"``).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from talkinghead.config import Options
from talkinghead.errors import InputError
from talkinghead.inputs import Source, load_audio
from talkinghead.motion import build_motion
from talkinghead.motion.export import (
    arkit_json,
    rhubarb_json,
    rhubarb_tsv,
    rhubarb_xml,
    viseme_json,
)
from talkinghead.pipeline import listen
from talkinghead.speech.captions import srt, vtt, with_transcript_spelling

#: Format name -> media type of its file.
CUE_FORMATS = {
    "tsv": "text/tab-separated-values", "json": "application/json", "xml": "application/xml",
    "arkit": "application/json", "visemes": "application/json",
    "srt": "application/x-subrip", "vtt": "text/vtt",
}


@dataclass(frozen=True)
class Cues:
    """One cue file: its text, format and media type."""

    text: str
    format: str
    audio_duration_s: float

    @property
    def media_type(self) -> str:
        return CUE_FORMATS[self.format]


def cue_format(path: Path | None, format: str | None) -> str:
    """The format asked for: ``format`` if given, else from the output's suffix."""
    if format is None:
        suffix = path.suffix.lower().lstrip(".") if path is not None else ""
        format = suffix if suffix in ("tsv", "json", "xml", "srt", "vtt") else "tsv"
    if format not in CUE_FORMATS:
        raise InputError(f"format must be one of {', '.join(CUE_FORMATS)}, got {format!r}")
    return format


def make_cues(audio: Source, options: Options, format: str, *,
              sound_file: str = "") -> Cues:
    """Analyse ``audio`` and write its mouth cues in ``format`` (see ``CUE_FORMATS``).

    Captions need words: InputError when there is no transcript that aligns and
    ``options.lipsync`` is not ``"words"`` (or nothing was recognised).
    """
    format = cue_format(None, format)
    clip = load_audio(audio, max_duration_s=options.max_audio_s)
    speech, phones, words = listen(clip, options)
    if format in ("srt", "vtt"):
        if not words:
            raise InputError("captions need the words: give the transcript (--text), or "
                             "recognise English words (--lipsync words)")
        words = with_transcript_spelling(words, options.transcript)
        return Cues(srt(words) if format == "srt" else vtt(words), format, clip.duration_s)
    motion = build_motion(speech, phones, options)
    writers = {"tsv": lambda: rhubarb_tsv(motion),
               "json": lambda: rhubarb_json(motion, sound_file=sound_file),
               "xml": lambda: rhubarb_xml(motion, sound_file=sound_file),
               "arkit": lambda: arkit_json(motion), "visemes": lambda: viseme_json(motion)}
    return Cues(writers[format](), format, clip.duration_s)
