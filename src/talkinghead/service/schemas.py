"""Request and response JSON, compatible with the hosted avatar API.

Hosted fields: ``image``, ``audio``, ``enable_base64_output`` (both models), plus
``prompt``, ``resolution``, ``seed``, ``fast_mode``/``turbo_mode`` and ``mask_url``
on the 1.5 model. talkinghead extras (both models): ``seed``, ``fps``, ``size``,
``expression``, ``motion_intensity`` (head), ``body_motion``, ``gestures``, ``mouth_motion``,
``blinks_per_min``, ``transcript``,
``lipsync`` (each passed to ``talkinghead.config.Options``, which validates it).
"""

from __future__ import annotations

import secrets
from typing import Any, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from talkinghead.config import Options
from talkinghead.errors import OptionsError
from talkinghead.service.errors import RequestError

MODEL_V1 = "bytedance/avatar-omni-human"
MODEL_V15 = "bytedance/avatar-omni-human-1.5"

M = TypeVar("M", bound=BaseModel)

#: The 1.5 model's ``resolution`` -> our ``size`` (our sizes count the long side).
RESOLUTIONS = {"720p": "720", "1080p": "1080"}


class MotionChoices(BaseModel):
    """How the portrait moves: the talkinghead extras shared by every route."""

    model_config = ConfigDict(extra="forbid", strict=True)

    seed: int | None = Field(None, ge=-1, lt=2**32,
                             description="Motion seed; -1 or absent picks one at random.")
    fps: int | None = Field(None, description="Frames per second, 10 to 60 (default 25).")
    size: Literal["512", "720", "1080", "original"] | None = Field(
        None, description="Long side of the video in pixels, or the source size (default 512).")
    expression: str | None = Field(
        None, description="Expression preset (neutral, happy, serious, excited).")
    motion_intensity: float | None = Field(None, description="Head motion scale, 0 to 2.")
    body_motion: float | None = Field(None, description="Breathing, sway, shrugs and lean, "
                                      "0 to 2 (default 1).")
    gestures: float | None = Field(None, description="Arm and hand gestures where arms are "
                                   "visible, 0 to 2 (default 1).")
    mouth_motion: float | None = Field(None, description="Mouth opening scale, 0 to 2.")
    blinks_per_min: float | None = Field(None, description="Mean blink rate, 0 to 40.")
    mouth: list[int] | None = Field(
        None, description="A character's mouth box [x, y, width, height] in the image's "
                          "pixels: animated as a character (a jaw, blinks), not through the "
                          "face mesh. For mascots, animals and drawings.")
    eyes: list[list[int]] | None = Field(
        None, description="With mouth: the character's eye boxes (one or two), to blink.")


class AvatarRequest(MotionChoices):
    """Body of ``POST /api/v3/bytedance/avatar-omni-human``."""

    image: str = Field(description="Portrait: http(s) URL, base64, or data URI (PNG/JPEG/WebP).")
    audio: str = Field(description="Speech or song: http(s) URL, base64, or data URI.")
    enable_base64_output: bool = Field(False, description="Return the MP4 as base64, not a URL.")
    transcript: str | None = Field(None, description="Text of the speech (English): more "
                                   "accurate lip shapes.")
    lipsync: Literal["phones", "words"] | None = Field(
        None, description="Without a transcript: 'phones' (fast, any language, default) or "
                          "'words' (English word recognition: better m/b/p, slower).")


class Avatar15Request(AvatarRequest):
    """Body of ``POST /api/v3/bytedance/avatar-omni-human-1.5``."""

    prompt: str | None = Field(None, description="Not supported: motion follows the audio. "
                               "A non-empty prompt is refused (or ignored, by operator choice).")
    resolution: Literal["720p", "1080p"] | None = Field(
        None, description="720p -> size 720, 1080p -> size 1080 (long side).")
    fast_mode: bool | None = Field(None, description="Accepted; no effect (always fast).")
    turbo_mode: bool | None = Field(None, description="Accepted; no effect (always fast).")
    mask_url: str | list[str] | None = Field(None, description="Not supported; must be empty.")


def parse_request(model: type[M], body: Any) -> M:
    """Validate a decoded JSON body; raise RequestError naming the offending field."""
    if not isinstance(body, dict):
        raise RequestError("the request body must be a JSON object")
    try:
        return model.model_validate(body)
    except ValidationError as exc:
        raise RequestError(_describe(exc, model)) from None


def to_options(request: AvatarRequest, *, prompt_policy: str = "reject") -> dict[str, Any]:
    """Our render options for ``request`` (validated; a random seed is fixed here)."""
    values: dict[str, Any] = {}
    if isinstance(request, Avatar15Request):
        if request.prompt and request.prompt.strip() and prompt_policy == "reject":
            raise RequestError("prompt: text prompts are not supported by this server (motion "
                               "follows the audio); remove it, or use expression and "
                               "motion_intensity")
        if request.mask_url:
            raise RequestError("mask_url: masks are not supported; the most prominent face "
                               "in the image is animated")
        if request.resolution and request.size:
            raise RequestError("resolution and size both given; use one of them")
        if request.resolution:
            values["size"] = RESOLUTIONS[request.resolution]
    return motion_options(request, values)


class LiveStart(MotionChoices):
    """The first message of a live session (``/api/v1/live``, docs/LIVE.md)."""

    type: Literal["start"] = Field(description="Always \"start\".")
    image: str = Field(description="Portrait: http(s) URL, base64, or data URI (PNG/JPEG/WebP).")
    sample_rate: int = Field(16_000, description="Sample rate of the PCM s16le mono audio "
                             "messages that follow, in Hz (default 16000).")


class CuesRequest(BaseModel):
    """Body of ``POST /api/v1/cues``: mouth cues for a clip, answered at once."""

    model_config = ConfigDict(extra="forbid", strict=True)

    audio: str = Field(description="Speech or song: http(s) URL, base64, or data URI.")
    format: Literal["tsv", "json", "xml", "arkit", "visemes", "srt", "vtt"] = Field(
        "json", description="tsv, json or xml (Rhubarb Lip Sync), arkit (blendshapes), "
                            "visemes (Oculus), srt or vtt (captions: need words).")
    transcript: str | None = Field(None, description="Text of the speech (English).")
    lipsync: Literal["phones", "words"] | None = Field(
        None, description="Without a transcript: 'phones' (any language) or 'words' "
                          "(English words: better m/b/p, and captions).")
    fps: int | None = Field(None, description="Frames per second of per-frame formats, 10-60.")
    seed: int | None = Field(None, ge=0, lt=2**32, description="Seed for blinks and gaze.")


def cues_options(request: CuesRequest, *, max_audio_s: float) -> Options:
    """Options for a cues request (RequestError naming a bad field)."""
    values = {"fps": request.fps, "seed": request.seed, "transcript": request.transcript,
              "lipsync": request.lipsync}
    try:
        return Options.from_dict({**{k: v for k, v in values.items() if v is not None},
                                  "max_audio_s": max_audio_s})
    except OptionsError as exc:
        raise RequestError(exc.message) from None


def motion_options(request: MotionChoices, values: dict[str, Any] | None = None
                   ) -> dict[str, Any]:
    """Our render options for ``request``'s fields (validated; a random seed is fixed here),
    on top of ``values``."""
    values = dict(values or {})
    seed = request.seed
    if seed is None or seed == -1:
        seed = secrets.randbelow(2**31)
    values["seed"] = seed
    explicit = {"fps": request.fps, "size": request.size, "head_motion": request.motion_intensity,
                "body_motion": request.body_motion, "gestures": request.gestures,
                "mouth_motion": request.mouth_motion, "blinks_per_min": request.blinks_per_min,
                "expression": request.expression,
                "mouth": tuple(request.mouth) if request.mouth is not None else None,
                "eyes": tuple(tuple(eye) for eye in request.eyes) if request.eyes else None,
                "transcript": getattr(request, "transcript", None),
                "lipsync": getattr(request, "lipsync", None)}
    values.update({k: v for k, v in explicit.items() if v is not None})
    try:
        Options.from_dict(values)
    except OptionsError as exc:
        message = exc.message.replace("head_motion", "motion_intensity")
        if message.startswith("unknown option"):  # an extra this build's renderer lacks
            message = f"not supported by this server: {message.split(': ', 1)[1]}"
        raise RequestError(message) from None
    return values


def _describe(exc: ValidationError, model: type[BaseModel]) -> str:
    problems = []
    for error in exc.errors():
        name = ".".join(str(part) for part in error["loc"]) or "body"
        if error["type"] == "extra_forbidden":
            problems.append(f"unknown field '{name}' (accepted: "
                            f"{', '.join(model.model_fields)})")
        elif error["type"] == "missing":
            problems.append(f"field '{name}' is required")
        else:
            problems.append(f"field '{name}': {error['msg']}")
    return "; ".join(problems)


class Urls(BaseModel):
    """Related endpoints."""

    get: str


class Timings(BaseModel):
    """Render time in milliseconds (0 until completed)."""

    inference: int


class Progress(BaseModel):
    """talkinghead extra: frames written so far."""

    done: int
    total: int


class Prediction(BaseModel):
    """The hosted API's ``data`` object, plus ``progress``."""

    id: str
    model: str
    outputs: list[str]
    urls: Urls
    has_nsfw_contents: list[bool]
    status: Literal["created", "processing", "completed", "failed"]
    created_at: str
    error: str
    timings: Timings
    progress: Progress


class Envelope(BaseModel):
    """Every successful answer."""

    code: int = 200
    message: str = "success"
    data: Prediction


class ErrorEnvelope(BaseModel):
    """Every error answer; ``error_code`` is a talkinghead extra for programs."""

    code: int
    message: str
    data: None = None
    error_code: str
