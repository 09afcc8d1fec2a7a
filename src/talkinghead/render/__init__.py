"""Rendering: Rig + MotionTrack -> RGB frames."""

from talkinghead.render.frames import render_frames

__all__ = ["render_frames"]
