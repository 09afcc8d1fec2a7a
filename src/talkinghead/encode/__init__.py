"""Encoding: frames + audio -> MP4."""

from talkinghead.encode.video import write_mp4

__all__ = ["write_mp4"]
