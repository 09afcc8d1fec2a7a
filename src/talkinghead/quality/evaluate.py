"""``evaluate``: portrait + audio + the video made from them -> every figure of the report."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import cast

import numpy as np

from talkinghead.errors import TalkingHeadError
from talkinghead.inputs import AudioClip, Source, load_audio, load_portrait
from talkinghead.quality import background, identity, image_quality, lipsync, motion, phones, pose
from talkinghead.quality.scan import Reference, Scan, prepare_reference, scan_frames
from talkinghead.quality.video import VideoInfo, audio_lag_ms, iter_frames, probe_video

RATE_HZ = 16_000
#: Frames kept for the contact sheet, for identity (enough that a turning head
#: still faces as in the portrait in several) and for mouth crops.
CONTACT_FRAMES, IDENTITY_FRAMES, MOUTH_FRAMES = 7, 36, 24


@dataclass(frozen=True)
class FormatFacts:
    """The file's streams. Durations in seconds; offsets in ms (positive: sound later)."""

    video_codec: str
    audio_codec: str | None
    width: int
    height: int
    fps: float
    n_frames: int
    video_duration_s: float
    audio_duration_s: float | None
    source_audio_duration_s: float
    av_start_offset_ms: float | None
    audio_lag_ms: float | None


@dataclass(frozen=True)
class Series:
    """Per-frame curves behind the plots (all length n_frames, NaN where no face),
    and the wrists' distance from their median position (shoulder widths, NaN where
    not measured) on the frames the pose ran on."""

    opening: np.ndarray
    envelope: np.ndarray
    voice_activity: np.ndarray
    angles_deg: np.ndarray
    eye_openness: np.ndarray
    background_diff: np.ndarray
    lags: np.ndarray
    lag_r: np.ndarray
    pose_frames: np.ndarray
    wrist_offsets_sw: np.ndarray


@dataclass(frozen=True)
class Evaluation:
    """Everything measured on one video, plus the pictures' raw material."""

    portrait: str
    audio: str
    video: str
    format: FormatFacts
    face_found_share: float
    lipsync: lipsync.LipSync
    identity: identity.Identity
    background: background.Background
    motion: motion.Motion
    arms: pose.Arms
    image_quality: image_quality.ImageQuality | None
    alignment: phones.Alignment | None
    phones: phones.PhoneFigures | None
    series: Series
    reference: Reference
    scan: Scan
    contact_frames: list[int]
    notes: list[str] = field(default_factory=list)

    def figures(self) -> dict[str, object]:
        """The figures as plain JSON-ready data (no per-frame arrays)."""
        out: dict[str, object] = {
            "inputs": {"portrait": self.portrait, "audio": self.audio, "video": self.video},
            "format": asdict(self.format), "face_found_share": self.face_found_share,
            "lipsync": asdict(self.lipsync), "identity": asdict(self.identity),
            "background": asdict(self.background), "motion": asdict(self.motion),
            "arms": asdict(self.arms),
            "image_quality": asdict(self.image_quality) if self.image_quality else None,
            "phones": asdict(self.phones) if self.phones else None,
            "notes": list(self.notes),
        }
        if self.alignment is not None:
            out["alignment"] = {"words": self.alignment.words, "problem": self.alignment.problem,
                                "n_phones": len(self.alignment.phones)}
        return cast(dict[str, object], rounded(out))  # a dict stays a dict


def evaluate(portrait: Source, audio: Source, video: Path, *,
             text: str | None = None,
             truth: list[tuple[str, float, float]] | None = None) -> Evaluation:
    """Measure ``video`` against the ``portrait`` and ``audio`` it was made from.

    ``truth``: phoneme times (label, start_s, end_s), e.g. from a synthesiser;
    silences are then the gaps between phonemes, and m/b/p (labels starting
    with m, b or p, any case) are checked for closure when there is no ``text``.
    """
    info = probe_video(Path(video))
    picture = load_portrait(portrait)
    clip = load_audio(audio, max_duration_s=24 * 3600.0)
    reference = prepare_reference(picture.rgb, info.width, info.height, name=picture.name)
    notes = []
    if reference.resized:
        notes.append(f"portrait {picture.size[0]}x{picture.size[1]} compared at the video's "
                     f"{info.width}x{info.height}")
    estimate = info.n_frames_hint or max(1, int(round(info.duration_s * info.fps)))
    contact, ident, mouths = (_spread(estimate, k)
                              for k in (CONTACT_FRAMES, IDENTITY_FRAMES, MOUTH_FRAMES))
    poses: list[tuple[int, np.ndarray]] = []
    frames = pose.tee_pose(iter_frames(Path(video)), pose.pose_step(info.fps), poses)
    scan = scan_frames(frames, reference, sample_idx=set(contact) | set(ident),
                       mouth_idx=set(mouths))
    if scan.n_frames == 0:
        raise TalkingHeadError(f"{video}: the video has no frames")
    found = scan.face_found
    if not found.all():
        notes.append(f"no face found in {int((~found).sum())} of {scan.n_frames} frames")
    track = pose.as_track(poses, (info.width, info.height))
    arms = pose.measure_arms(pose.detect_pose(reference.rgb), track)
    if arms.note:
        notes.append(f"wrists: {arms.note}")

    fps = info.fps
    mono = clip.mono(RATE_HZ)
    opening = lipsync.mouth_opening(scan.points)
    envelope = lipsync.loudness_envelope(mono, RATE_HZ, fps, scan.n_frames)
    # Silence is judged by the report's own loudness measure or by the truth,
    # never by the generator's voice-activity detector (a shared mistake would pass).
    voice = (lipsync.speech_from_truth(truth, fps, scan.n_frames) if truth
             else lipsync.speech_from_envelope(envelope))
    lags, lag_r = lipsync.lagged_correlation(opening, envelope)

    alignment = phone_figs = None
    if text:
        alignment = phones.align(mono, text)
        if alignment.problem:
            notes.append(f"phone alignment skipped: {alignment.problem}")
        else:
            phone_figs = phones.phone_figures(opening, fps, alignment.phones)
    elif truth:
        phone_figs = phones.phone_figures(opening, fps, phones.truth_phones(truth))

    ident_frames = [i for i in ident if i in scan.samples and found[i]]
    source_descriptor = identity.descriptor(reference.rgb, reference.points)
    angles = motion.head_angles(scan.points, reference.points)
    identity_figs = identity.measure_identity(
        source_descriptor,
        [identity.descriptor(scan.samples[i], scan.points[i]) for i in ident_frames],
        angles[ident_frames])

    quality = _image_quality(reference, scan, ident)
    if quality is None:
        notes.append("image quality skipped: BRISQUE model files not found "
                     "(apt-get install opencv-data)")
    return Evaluation(
        portrait=picture.name, audio=clip.name, video=str(video),
        format=_format_facts(info, scan.n_frames, clip, mono),
        face_found_share=float(found.mean()),
        lipsync=lipsync.measure_lipsync(opening, envelope, voice, fps),
        identity=identity_figs,
        background=background.summarise(scan.background_diff, reference.background),
        motion=motion.measure_motion(scan.points, reference.points, fps), arms=arms,
        image_quality=quality, alignment=alignment, phones=phone_figs,
        series=Series(opening=opening, envelope=envelope, voice_activity=voice,
                      angles_deg=angles,
                      eye_openness=motion.eye_openness(scan.points),
                      background_diff=scan.background_diff, lags=lags, lag_r=lag_r,
                      pose_frames=track.frames, wrist_offsets_sw=pose.wrist_series(track, arms)),
        reference=reference, scan=scan, contact_frames=contact, notes=notes,
    )


def _spread(n_frames: int, count: int) -> list[int]:
    """``count`` frame indices spread evenly from the first frame to the last."""
    return sorted({int(round(x)) for x in np.linspace(0, n_frames - 1, min(count, n_frames))})


def _format_facts(info: VideoInfo, n_frames: int, clip: AudioClip, mono: np.ndarray) -> FormatFacts:
    heard_s = lag = None
    if info.audio_codec is not None:
        try:
            heard = load_audio(info.path, max_duration_s=24 * 3600.0, max_bytes=2**40)
        except TalkingHeadError:
            heard = None
        if heard is not None:
            heard_s = heard.duration_s
            lag = audio_lag_ms(mono, heard.mono(RATE_HZ), RATE_HZ)
    return FormatFacts(
        video_codec=info.video_codec, audio_codec=info.audio_codec, width=info.width,
        height=info.height, fps=info.fps, n_frames=n_frames,
        video_duration_s=n_frames / info.fps, audio_duration_s=heard_s,
        source_audio_duration_s=clip.duration_s,
        av_start_offset_ms=info.av_start_offset_ms, audio_lag_ms=lag,
    )


def _image_quality(reference: Reference, scan: Scan,
                   indices: list[int]) -> image_quality.ImageQuality | None:
    source = image_quality.brisque(reference.rgb)
    if source is None:
        return None
    frames = [scan.samples[i] for i in indices if i in scan.samples]
    box = _face_crop(reference.points, reference.rgb.shape)

    def crop(image: np.ndarray) -> np.ndarray:
        return np.ascontiguousarray(image[box[1] : box[3], box[0] : box[2]])

    def score(image: np.ndarray) -> float:
        value = image_quality.brisque(image)  # not None: the model scored the source
        return float("nan") if value is None else value

    return image_quality.ImageQuality(
        source_brisque=source,
        frames_brisque=float(np.mean([score(f) for f in frames])),
        source_face_brisque=image_quality.brisque(crop(reference.rgb)),
        frames_face_brisque=float(np.mean([score(crop(f)) for f in frames])),
    )


def _face_crop(points: np.ndarray, shape: tuple[int, ...]) -> tuple[int, int, int, int]:
    """The source face's box grown by a third: the region the generator redraws."""
    (x0, y0), (x1, y1) = points[:, :2].min(axis=0), points[:, :2].max(axis=0)
    pad = 0.33 * max(x1 - x0, y1 - y0)
    height, width = shape[:2]
    return (int(max(0, x0 - pad)), int(max(0, y0 - pad)),
            int(min(width, x1 + pad)), int(min(height, y1 + pad)))


def rounded(value: object) -> object:
    """``value`` with floats to 4 decimals and NaN or infinity as None, through dicts and lists."""
    if isinstance(value, float):
        return None if not np.isfinite(value) else round(value, 4)
    if isinstance(value, dict):
        return {k: rounded(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [rounded(v) for v in value]
    return value
