"""Motion: speech features + phones + seed -> per-frame animation parameters."""

from talkinghead.motion.track import PARAMETERS, MotionTrack, build_motion

__all__ = ["PARAMETERS", "MotionTrack", "build_motion"]
