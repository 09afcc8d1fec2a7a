"""Decoding and validating what the user gives us: a portrait and an audio clip."""

from talkinghead.inputs.audio import AudioClip, load_audio
from talkinghead.inputs.image import Portrait, load_portrait
from talkinghead.inputs.source import Source, read_source

__all__ = ["AudioClip", "Portrait", "Source", "load_audio", "load_portrait", "read_source"]
