"""Options of one animation: one frozen dataclass, validated on creation."""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Any

from talkinghead.errors import OptionsError

#: Output sizes by name: the long side in pixels, or None to keep the source size.
SIZES: dict[str, int | None] = {"512": 512, "720": 720, "1080": 1080, "original": None}

MAX_IMAGE_BYTES = 50 * 1024 * 1024
MAX_IMAGE_PIXELS = 40_000_000  # about 6300x6300; more is treated as a decompression bomb
EXPRESSION_NAMES = ("neutral", "happy", "serious", "excited")
LIPSYNC_MODES = ("phones", "words")
MAX_TRANSCRIPT_CHARS = 20_000


@dataclass(frozen=True, kw_only=True)
class Options:
    """How to animate. Every field has a sensible default.

    fps: output frame rate, 10 to 60.
    size: "512", "720", "1080" (long side, even dimensions) or "original".
    seed: seeds head motion and blinks; same inputs + seed give the same video.
    max_audio_s: audio longer than this is refused.
    head_motion: scale of head turns, nods and tilts, 0 (still) to 2.
    body_motion: scale of breathing, sway, shrugs and lean, 0 (still) to 2.
    gestures: scale of arm and hand gestures where arms are visible, 0 (none) to 2.
    mouth_motion: scale of mouth opening, 0 to 2.
    The four motion scales are independent of one another and of the expression.
    blinks_per_min: mean blink rate, 0 to 40.
    expression: "neutral", "happy", "serious" or "excited": biases smile, brows
        and head energy.
    transcript: optional text of the speech (English); aligned to the audio it
        makes lip shapes far more accurate than recognition alone.
    lipsync: without a transcript, "phones" recognises phones directly (fast,
        any language) and "words" recognises English words first (much better
        m/b/p closures on English speech, about 0.25 x real time slower).
    mouth, eyes: boxes (x, y, width, height in the source image's pixels) of a
        character's mouth and eyes (none to two). Given a mouth, the picture is
        animated as a character (a jaw that drops, lids that blink) instead of
        through the face mesh: for mascots, animals and drawings it misses.
    """

    fps: int = 25
    size: str = "512"
    seed: int = 0
    max_audio_s: float = 600.0
    head_motion: float = 1.0
    body_motion: float = 1.0
    gestures: float = 1.0
    mouth_motion: float = 1.0
    blinks_per_min: float = 15.0
    expression: str = "neutral"
    transcript: str | None = None
    lipsync: str = "phones"
    mouth: tuple[int, int, int, int] | None = None
    eyes: tuple[tuple[int, int, int, int], ...] = ()

    def __post_init__(self) -> None:
        if not isinstance(self.fps, int) or not 10 <= self.fps <= 60:
            raise OptionsError(f"fps must be a whole number from 10 to 60, got {self.fps!r}")
        if self.size not in SIZES:
            raise OptionsError(f"size must be one of {', '.join(SIZES)}, got {self.size!r}")
        if not isinstance(self.seed, int) or not 0 <= self.seed < 2**32:
            raise OptionsError(f"seed must be a whole number from 0 to 2**32-1, got {self.seed!r}")
        _check_range("max_audio_s", self.max_audio_s, 0.1, 24 * 3600.0)
        _check_range("head_motion", self.head_motion, 0.0, 2.0)
        _check_range("body_motion", self.body_motion, 0.0, 2.0)
        _check_range("gestures", self.gestures, 0.0, 2.0)
        _check_range("mouth_motion", self.mouth_motion, 0.0, 2.0)
        _check_range("blinks_per_min", self.blinks_per_min, 0.0, 40.0)
        if self.expression not in EXPRESSION_NAMES:
            raise OptionsError(
                f"expression must be one of {', '.join(EXPRESSION_NAMES)}, got {self.expression!r}"
            )
        if self.lipsync not in LIPSYNC_MODES:
            raise OptionsError(f"lipsync must be one of {', '.join(LIPSYNC_MODES)}, "
                               f"got {self.lipsync!r}")
        for name, boxes in (("mouth", [self.mouth] if self.mouth is not None else []),
                            ("eyes", list(self.eyes))):
            if name == "eyes" and (not isinstance(self.eyes, tuple) or len(self.eyes) > 2):
                raise OptionsError("eyes must be at most two boxes")
            for box in boxes:
                if not _is_box(box):
                    raise OptionsError(f"{name}: a box is four whole numbers x, y, width, "
                                       f"height (x, y >= 0; width, height >= 2), got {box!r}")
        if self.eyes and self.mouth is None:
            raise OptionsError("eyes need a mouth box too (a character is animated by its "
                               "mouth)")
        if self.transcript is not None and (
            not isinstance(self.transcript, str) or len(self.transcript) > MAX_TRANSCRIPT_CHARS
        ):
            raise OptionsError(f"transcript must be text of at most {MAX_TRANSCRIPT_CHARS} "
                               "characters")

    @property
    def long_side_px(self) -> int | None:
        """The output's long side in pixels, or None for the source size."""
        return SIZES[self.size]

    @classmethod
    def from_dict(cls, values: dict[str, Any]) -> Options:
        """Build options from a plain dict, rejecting unknown names."""
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(values) - known)
        if unknown:
            raise OptionsError(f"unknown option(s): {', '.join(unknown)}")
        values = dict(values)  # boxes may come as JSON lists
        if isinstance(values.get("mouth"), list):
            values["mouth"] = tuple(values["mouth"])
        if isinstance(values.get("eyes"), list | tuple):
            values["eyes"] = tuple(tuple(eye) if isinstance(eye, list) else eye
                                   for eye in values["eyes"])
        return cls(**values)


def _check_range(name: str, value: object, low: float, high: float) -> None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise OptionsError(f"{name} must be a number, got {value!r}")
    if not low <= float(value) <= high:
        raise OptionsError(f"{name} must be from {low:g} to {high:g}, got {value!r}")


def _is_box(box: object) -> bool:
    return (isinstance(box, tuple) and len(box) == 4
            and all(isinstance(v, int) and not isinstance(v, bool) for v in box)
            and box[0] >= 0 and box[1] >= 0 and box[2] >= 2 and box[3] >= 2
            and max(box) < 100_000)


def parse_box(text: str) -> tuple[int, int, int, int]:
    """``"x,y,w,h"`` -> a box; OptionsError naming the problem."""
    parts = [p.strip() for p in text.split(",")]
    if len(parts) != 4 or not all(p.isdigit() for p in parts):
        raise OptionsError(f"a box is x,y,width,height in whole pixels, got {text!r}")
    x, y, w, h = (int(p) for p in parts)
    return (x, y, w, h)
