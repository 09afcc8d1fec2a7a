"""talkinghead: one portrait + one audio clip -> a talking video, on a CPU."""

from talkinghead.api import animate
from talkinghead.config import Options
from talkinghead.errors import (
    AudioError,
    AudioTooLongError,
    EmptyAudioError,
    FileTooLargeError,
    ImageError,
    InputError,
    NoFaceError,
    OptionsError,
    RenderError,
    TalkingHeadError,
    UnsupportedImageFormatError,
)
from talkinghead.live import LiveFrame, LiveSession

__version__ = "0.1.0"

__all__ = [
    "AudioError",
    "AudioTooLongError",
    "EmptyAudioError",
    "FileTooLargeError",
    "ImageError",
    "InputError",
    "LiveFrame",
    "LiveSession",
    "NoFaceError",
    "Options",
    "OptionsError",
    "RenderError",
    "TalkingHeadError",
    "UnsupportedImageFormatError",
    "__version__",
    "animate",
]
