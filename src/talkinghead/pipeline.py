"""The whole generator in one recipe: load -> analyse -> motion -> render -> encode."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from talkinghead.analysis.arms import shows_arms
from talkinghead.analysis.face import body_pose, find_face, hand_points, person_mask
from talkinghead.analysis.rig import Rig, build_rig
from talkinghead.config import Options
from talkinghead.debug_plot import write_debug_plot
from talkinghead.encode import write_mp4
from talkinghead.inputs import AudioClip, Source, load_audio, load_portrait
from talkinghead.motion import MotionTrack, build_motion
from talkinghead.motion.export import write_mouth_track
from talkinghead.overlap import in_background, run_ahead
from talkinghead.render import render_frames
from talkinghead.speech import SpeechTrack, analyse_speech
from talkinghead.speech.phonemes import recognise_phones
from talkinghead.speech.prosody import frame_count

#: Called with (frames done, frames in all) as the video is written.
ProgressCallback = Callable[[int, int], None]


@dataclass(frozen=True)
class RenderSummary:
    """What one call to ``render_video`` did."""

    output: Path
    audio_duration_s: float
    n_frames: int
    fps: int
    width: int
    height: int
    elapsed_s: float

    @property
    def real_time_factor(self) -> float:
        """Seconds of work per second of audio (below 1 is faster than real time)."""
        return self.elapsed_s / max(self.audio_duration_s, 1e-9)


def render_video(image: Source, audio: Source, output: Path, options: Options, *,
                 progress: ProgressCallback | None = None,
                 debug_plot: Path | None = None,
                 mouth_track: Path | None = None) -> RenderSummary:
    """Animate ``image`` to ``audio`` and write an MP4 to ``output``.

    ``debug_plot``, if given, receives a PNG of the speech features and motion;
    ``mouth_track`` the mouth cues (Rhubarb TSV, or JSON with every parameter).
    """
    started = time.perf_counter()
    portrait = load_portrait(image)
    clip = load_audio(audio, max_duration_s=options.max_audio_s)
    rgb = fit_to_size(portrait.rgb, options.long_side_px)
    # Phone recognition and speech analysis run beside face analysis (both
    # mostly in native code that releases the GIL): two cores, two jobs.
    planned = in_background(lambda: plan_motion(clip, options))
    rig = prepare_rig(rgb, name=portrait.name)
    speech, motion = planned.result()
    if debug_plot is not None:
        write_debug_plot(debug_plot, clip.mono(16_000), 16_000, speech, motion)
    if mouth_track is not None:
        write_mouth_track(mouth_track, motion)
    height, width = rgb.shape[:2]
    # Frame k + 1 renders on a worker thread while frame k is encoded here.
    write_mp4(output, run_ahead(render_frames(rig, motion)), clip, fps=options.fps, width=width,
              height=height, n_frames=motion.n_frames,
              on_frame=(lambda done: progress(done, motion.n_frames)) if progress else None)
    return RenderSummary(output=output, audio_duration_s=clip.duration_s,
                         n_frames=motion.n_frames, fps=options.fps, width=width,
                         height=height, elapsed_s=time.perf_counter() - started)


def prepare_rig(rgb: np.ndarray, *, name: str = "the image") -> Rig:
    """Analyse a portrait already at output size."""
    face = find_face(rgb, name=name)
    pose = body_pose(rgb)
    hands = hand_points(rgb) if shows_arms(pose) else None
    return build_rig(rgb, face, person_mask(rgb), pose, hands)


def plan_motion(clip: AudioClip, options: Options) -> tuple[SpeechTrack, MotionTrack]:
    """Speech features and phones -> per-frame motion for the whole clip."""
    n_frames = frame_count(clip.duration_s, options.fps)
    mono = clip.mono(16_000)
    speech = analyse_speech(mono, 16_000, options.fps, n_frames)
    phones = recognise_phones(mono, transcript=options.transcript, mode=options.lipsync)
    return speech, build_motion(speech, phones, options)


def fit_to_size(rgb: np.ndarray, long_side_px: int | None) -> np.ndarray:
    """Scale so the long side is ``long_side_px`` (or keep the size), with even sides."""
    height, width = rgb.shape[:2]
    scale = 1.0 if long_side_px is None else long_side_px / max(height, width)
    new_w = max(2, int(round(width * scale / 2)) * 2)
    new_h = max(2, int(round(height * scale / 2)) * 2)
    if (new_w, new_h) == (width, height):
        return rgb
    interpolation = cv2.INTER_AREA if scale < 1 else cv2.INTER_CUBIC
    return cv2.resize(rgb, (new_w, new_h), interpolation=interpolation)
