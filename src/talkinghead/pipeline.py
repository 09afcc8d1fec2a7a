"""The whole generator in one recipe: load -> analyse -> motion -> render -> encode."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from talkinghead.analysis.arms import shows_arms
from talkinghead.analysis.character import (
    Box,
    CharacterRig,
    build_character_rig,
    features_from_mesh,
    find_drawn_features,
    mesh_misfits,
    scale_box,
)
from talkinghead.analysis.face import (
    FaceLandmarks,
    body_pose,
    find_face,
    hand_points,
    person_mask,
)
from talkinghead.analysis.rig import Rig, build_rig
from talkinghead.config import Options
from talkinghead.debug_plot import write_debug_plot
from talkinghead.encode import write_mp4
from talkinghead.errors import NoFaceError
from talkinghead.inputs import AudioClip, Source, load_audio, load_portrait
from talkinghead.motion import MotionTrack, build_motion
from talkinghead.motion.export import write_mouth_track
from talkinghead.overlap import in_background, run_ahead
from talkinghead.render import render_frames
from talkinghead.render.character import render_character_frames
from talkinghead.speech import SpeechTrack, analyse_speech
from talkinghead.speech.phonemes import Phone, Word, recognise_speech
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
    mouth, eyes = character_hints(options, rgb.shape[1] / portrait.rgb.shape[1])
    rig = prepare_rig(rgb, name=portrait.name, mouth=mouth, eyes=eyes)
    speech, motion = planned.result()
    if debug_plot is not None:
        write_debug_plot(debug_plot, clip.mono(16_000), 16_000, speech, motion)
    if mouth_track is not None:
        write_mouth_track(mouth_track, motion)
    height, width = rgb.shape[:2]
    # Frame k + 1 renders on a worker thread while frame k is encoded here.
    frames = (render_character_frames(rig, motion) if isinstance(rig, CharacterRig)
              else render_frames(rig, motion))
    write_mp4(output, run_ahead(frames), clip, fps=options.fps, width=width,
              height=height, n_frames=motion.n_frames,
              on_frame=(lambda done: progress(done, motion.n_frames)) if progress else None)
    return RenderSummary(output=output, audio_duration_s=clip.duration_s,
                         n_frames=motion.n_frames, fps=options.fps, width=width,
                         height=height, elapsed_s=time.perf_counter() - started)


def prepare_rig(rgb: np.ndarray, *, name: str = "the image", mouth: Box | None = None,
                eyes: tuple[Box, ...] = ()) -> Rig | CharacterRig:
    """Analyse a portrait already at output size (``mouth`` and ``eyes`` too).

    The face rig for a face; the character rig (a jaw that drops, lids that
    blink; analysis.character) otherwise (see ``find_subject``).
    """
    subject = find_subject(rgb, name=name, mouth=mouth, eyes=eyes)
    if not isinstance(subject, FaceLandmarks):
        return build_character_rig(rgb, *subject)
    pose = body_pose(rgb)
    hands = hand_points(rgb) if shows_arms(pose) else None
    return build_rig(rgb, subject, person_mask(rgb), pose, hands)


def find_subject(rgb: np.ndarray, *, name: str = "the image", mouth: Box | None = None,
                 eyes: tuple[Box, ...] = ()) -> FaceLandmarks | tuple[Box, tuple[Box, ...]]:
    """What to animate: a face mesh that fits, or a character's mouth and eyes.

    A character when a mouth box is given, when the face mesh finds no face
    but a drawn one is found, or when the mesh lands where it does not fit
    (flat art, or a face the face detector does not see). NoFaceError, saying
    what to give, when there is neither.
    """
    if mouth is not None:
        return mouth, eyes
    no_face = NoFaceError(
        f"{name}: no face found; use a portrait where one face is clearly visible "
        "(upright, at least ~80 px across), or, for a character (a mascot, an animal, "
        "a drawing), give its mouth's box: --mouth x,y,w,h (\"mouth\": [x, y, w, h] in "
        "the service)")
    try:
        face = find_face(rgb, name=name)
    except NoFaceError:
        drawn = find_drawn_features(rgb)
        if drawn is None:
            raise no_face from None
        return drawn
    if mesh_misfits(rgb, face):  # a mesh "found" where there is no face: never photo-real
        features = find_drawn_features(rgb) or features_from_mesh(rgb, face)
        if features is None:
            raise no_face
        return features
    return face


#: ``check_animatable`` looks at the portrait at this size: enough to find a face.
CHECK_SIZE_PX = 512


def check_animatable(image: Source, options: Options) -> None:
    """Raise (NoFaceError, ImageError...) now if ``render_video`` would refuse
    ``image`` for want of a face: the service answers 422 at submission."""
    portrait = load_portrait(image)
    rgb = fit_to_size(portrait.rgb, CHECK_SIZE_PX)
    mouth, eyes = character_hints(options, rgb.shape[1] / portrait.rgb.shape[1])
    find_subject(rgb, name=portrait.name, mouth=mouth, eyes=eyes)


def character_hints(options: Options, scale: float) -> tuple[Box | None, tuple[Box, ...]]:
    """``options.mouth`` and ``options.eyes`` at output size, for ``prepare_rig``."""
    return (None if options.mouth is None else scale_box(options.mouth, scale),
            tuple(scale_box(eye, scale) for eye in options.eyes))


def plan_motion(clip: AudioClip, options: Options) -> tuple[SpeechTrack, MotionTrack]:
    """Speech features and phones -> per-frame motion for the whole clip."""
    speech, phones, _ = listen(clip, options)
    return speech, build_motion(speech, phones, options)


def listen(clip: AudioClip, options: Options) -> tuple[SpeechTrack, list[Phone], list[Word]]:
    """Speech features per frame, and the clip's phones (and its words, where known:
    a transcript that aligned, or ``lipsync="words"``)."""
    mono = clip.mono(16_000)
    speech = analyse_speech(mono, 16_000, options.fps, frame_count(clip.duration_s, options.fps))
    phones, words = recognise_speech(mono, transcript=options.transcript, mode=options.lipsync)
    return speech, phones, words


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
