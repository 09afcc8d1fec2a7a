"""``--debug-plot``: waveform, phones and motion curves on one time axis."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from talkinghead.motion import MotionTrack
from talkinghead.motion.visemes import PHONE_VISEMES
from talkinghead.speech import SpeechTrack


def write_debug_plot(path: Path, mono: np.ndarray, sample_rate_hz: int, speech: SpeechTrack,
                     motion: MotionTrack) -> None:
    """Draw what drove the animation to a PNG at ``path``."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    t_audio = np.arange(len(mono)) / sample_rate_hz
    t = np.arange(motion.n_frames) / motion.fps
    fig, axes = plt.subplots(5, 1, figsize=(max(10, t[-1] * 1.2 if len(t) else 10), 11),
                             sharex=True, gridspec_kw={"height_ratios": [1.2, 0.6, 1.4, 1, 1]})
    wave_ax, phone_ax, mouth_ax, face_ax, head_ax = axes
    step = max(1, len(mono) // 20_000)
    wave_ax.plot(t_audio[::step], mono[::step], lw=0.5, color="0.4")
    wave_ax.fill_between(t, 0, np.where(speech.voice_activity, 1, 0), color="tab:green",
                         alpha=0.12, step="mid", label="voice activity")
    wave_ax.plot(t, speech.loudness, color="tab:orange", lw=1.2, label="loudness")
    wave_ax.set_ylabel("audio")
    wave_ax.legend(loc="upper right", fontsize=8)

    for phone in motion.phones:
        if phone.label == "SIL":
            continue
        viseme = PHONE_VISEMES.get(phone.label, ("consonant",))[0]
        colour = "tab:red" if viseme == "closed" else "tab:blue"
        phone_ax.axvspan(phone.start_s, phone.end_s, color=colour, alpha=0.15)
        phone_ax.text((phone.start_s + phone.end_s) / 2, 0.5, phone.label, ha="center",
                      va="center", fontsize=7, rotation=90)
    phone_ax.set_yticks([])
    phone_ax.set_ylabel("phones")

    for name in ("jaw_open", "lip_round", "lip_spread", "lip_press", "upper_lip_raise", "tongue"):
        mouth_ax.plot(t, motion.curve(name), lw=1.1, label=name)
    mouth_ax.set_ylabel("mouth")
    mouth_ax.legend(loc="upper right", fontsize=7, ncol=3)
    for name in ("blink", "brow_raise", "smile", "gaze_x"):
        face_ax.plot(t, motion.curve(name), lw=1.1, label=name)
    pitch = np.where(speech.pitch_hz > 0, speech.pitch_hz, np.nan)
    if np.isfinite(pitch).any():
        twin = face_ax.twinx()
        twin.plot(t, pitch, ".", ms=2, color="0.5")
        twin.set_ylabel("pitch Hz", fontsize=8)
    face_ax.set_ylabel("eyes, brows")
    face_ax.legend(loc="upper left", fontsize=7, ncol=4)
    for name in ("yaw_deg", "pitch_deg", "roll_deg"):
        head_ax.plot(t, motion.curve(name), lw=1.1, label=name)
    head_ax.set_ylabel("head (deg)")
    head_ax.set_xlabel("time (s)")
    head_ax.legend(loc="upper right", fontsize=7, ncol=3)
    fig.tight_layout()
    fig.savefig(path, dpi=80)
    plt.close(fig)
