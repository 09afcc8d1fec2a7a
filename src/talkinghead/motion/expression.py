"""Expression presets and brows: how the face carries emotion and emphasis."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from talkinghead.motion.smooth import smooth
from talkinghead.speech import SpeechTrack


@dataclass(frozen=True)
class ExpressionPreset:
    """Biases for one mood.

    smile: 0..1 held smile (mouth corners up and out).
    brow_bias: resting brow height, -1 (lowered) .. 1 (raised).
    brow_gain: how strongly brows follow pitch accents.
    head_energy: scale of head motion.
    """

    smile: float
    brow_bias: float
    brow_gain: float
    head_energy: float


EXPRESSIONS = {
    "neutral": ExpressionPreset(smile=0.0, brow_bias=0.0, brow_gain=1.0, head_energy=1.0),
    "happy": ExpressionPreset(smile=0.6, brow_bias=0.15, brow_gain=1.0, head_energy=1.15),
    "serious": ExpressionPreset(smile=0.0, brow_bias=-0.35, brow_gain=0.5, head_energy=0.7),
    "excited": ExpressionPreset(smile=0.45, brow_bias=0.3, brow_gain=1.6, head_energy=1.5),
}


def pitch_accents(speech: SpeechTrack) -> np.ndarray:
    """0..1 per frame: how far pitch rises above the speaker's own typical pitch."""
    voiced = speech.pitch_hz > 0
    accents = np.zeros(speech.n_frames)
    if voiced.sum() < 5:
        return accents
    log_f0 = np.log(speech.pitch_hz[voiced])
    z = (log_f0 - np.median(log_f0)) / max(float(np.std(log_f0)), 0.03)
    accents[voiced] = np.clip((z - 0.7) / 1.5, 0.0, 1.0)
    return smooth(accents, 1.5)


def brow_curve(speech: SpeechTrack, preset: ExpressionPreset) -> np.ndarray:
    """Brow raise per frame, -1..1: the preset's rest height plus lifts on emphasis."""
    emphasis = 0.7 * pitch_accents(speech) + 0.3 * smooth(speech.onset.astype(np.float64), 1.5)
    lift = smooth(emphasis, 2.0) * preset.brow_gain
    return np.clip(preset.brow_bias + lift, -1.0, 1.0)


def smile_curve(speech: SpeechTrack, preset: ExpressionPreset) -> np.ndarray:
    """Smile per frame: the preset's smile, a little broader while speaking warmly."""
    speaking = smooth(speech.voice_activity.astype(np.float64), speech.fps * 0.4)
    return np.clip(preset.smile * (0.85 + 0.15 * speaking), 0.0, 1.0)
