"""Motion: speech features + seed -> per-frame animation parameters."""

from talkinghead.motion.track import MotionTrack, build_motion

__all__ = ["MotionTrack", "build_motion"]
