"""Speech analysis: audio samples -> per-frame features that drive motion."""

from talkinghead.speech.prosody import SpeechTrack, analyse_speech

__all__ = ["SpeechTrack", "analyse_speech"]
