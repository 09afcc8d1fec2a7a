"""Lips from sound alone: m/b/p closed, pauses closed, vowels apart, per language.

espeak-ng speaks sentences written for this test (tests/espeak_truth.py) in
English, German, Spanish and Mandarin (tuning) and French, Italian and
Portuguese (held out), in several voices and speeds, and reports when each
phoneme sounds. The motion model plans each clip without its text
(``plan_motion`` with default Options) and the mouth is scored against
espeak's phoneme times:

- m/b/p closed: the lips are shut at some frame of the bilabial's closure;
- pauses closed: frames inside pauses of 200 ms or more, lips shut;
- vowels apart: vowel frames with the lips apart;
- and, for the record, t/d/k/g/n (tongue closures) at which the lips shut too.

"Shut" on the motion curves is ``jaw_open < CLOSED_JAW`` (the renderer opens
the inner lips by jaw_open x 11 % of the face height; the video measure's
0.04 eye-distance threshold sits near jaw_open 0.15). ``--video N`` renders
the first N clips of each language and measures the inner-lip gap of the
face mesh on the video, to check that the motion-level figures hold on the
picture.

    python benchmarks/lips_from_sound.py [--video 1] [--languages en,de]

``--marks AUDIO TSV`` (repeatable) scores a recorded clip against closures,
vowels and pauses marked by hand (one ``start_s end_s label`` a line, tab
separated, ``#`` comments; labels m, b, p, vowel, pause, and t, d, k, g, n
for tongue closures if marked). Recorded clips whose licence keeps them out
of the repository keep their marks outside it too, so a missing file is
skipped. ``--video`` renders those clips as well; ``--languages ""`` scores
only them.

    python benchmarks/lips_from_sound.py --languages "" --marks clip.wav clip.tsv

``--footage VIDEO`` (repeatable) takes real footage of someone speaking as the
truth: the face mesh reads the real lips off the video, and the motion model
plans the mouth from the video's own sound. It reports the share of the real
closures inside speech (the lips shut for at most 0.35 s with open lips on
both sides, and sound heard as speech throughout: an m, b or p, not a pause)
at which our lips shut too, and the share of the frames where the real lips
are clearly apart at which ours are apart as well, and how often a mouth
snaps shut for a single frame between open ones (per second of speech; real
lips do not). The video's sound must be the speech filmed, in sync.

    python benchmarks/lips_from_sound.py --languages "" --footage speaker.mp4
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from tests.espeak_truth import (  # noqa: E402
    HELD_OUT_LANGUAGES,
    TUNING_LANGUAGES,
    LabelledClip,
    LipShares,
    corpus,
    frames_in,
    lip_shares,
)

#: Lips count as shut on the motion curves below this jaw opening.
CLOSED_JAW = 0.15


def motion_closed(clip: LabelledClip, fps: int = 25) -> np.ndarray:
    """Per-frame "lips shut" from the motion model, without a transcript."""
    from talkinghead import Options
    from talkinghead.inputs.audio import AudioClip
    from talkinghead.pipeline import plan_motion

    audio = AudioClip(samples=clip.samples[:, None], sample_rate_hz=clip.rate_hz, name="espeak")
    _, motion = plan_motion(audio, Options(fps=fps))
    return motion.curve("jaw_open") < CLOSED_JAW


def video_closed(clip: LabelledClip, work: Path) -> tuple[np.ndarray, np.ndarray, float]:
    """Render ``clip`` on the bundled portrait and read the lips off the video.

    Returns per-frame "lips shut" from dlib's 68-point inner-lip gap (a
    detector and landmark model the generator never uses) and from the face
    mesh's (talkinghead eval's measure), and the video's fps. Both gaps are in
    units of the outer eye-corner distance, shut below 0.04.
    """
    import wave

    import dlib

    from talkinghead import Options
    from talkinghead.pipeline import render_video
    from talkinghead.quality import lipsync
    from talkinghead.quality.identity import model_dir
    from talkinghead.quality.scan import prepare_reference, scan_frames
    from talkinghead.quality.video import iter_frames, probe_video

    wav = work / "clip.wav"
    with wave.open(str(wav), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(clip.rate_hz)
        out.writeframes((np.clip(clip.samples, -1, 1) * 32767).astype("<i2").tobytes())
    portrait = ROOT / "examples" / "astronaut.png"
    video = work / "clip.mp4"
    render_video(portrait, wav, video, Options(size="512"))
    info = probe_video(video)

    detector = dlib.get_frontal_face_detector()
    predictor = dlib.shape_predictor(str(model_dir() / "shape_predictor_68_face_landmarks.dat"))
    gaps, box = [], None
    for frame in iter_frames(video):
        frame = np.ascontiguousarray(frame)
        found = detector(frame, 0)
        box = found[0] if len(found) else box
        if box is None:
            gaps.append(np.nan)
            continue
        shape = predictor(frame, box)
        xy = np.array([(shape.part(i).x, shape.part(i).y) for i in range(68)], float)
        # Inner lips: 61-63 above, 67-65 below; eye outer corners 36 and 45.
        gap = np.linalg.norm(xy[[61, 62, 63]] - xy[[67, 66, 65]], axis=1).mean()
        gaps.append(gap / np.linalg.norm(xy[45] - xy[36]))
    by_dlib = np.nan_to_num(np.array(gaps), nan=1.0) < lipsync.CLOSED_OPENING

    from talkinghead.inputs import load_portrait

    reference = prepare_reference(load_portrait(portrait).rgb, info.width, info.height)
    scan = scan_frames(iter_frames(video), reference, sample_idx=set(), mouth_idx=set())
    by_mesh = np.nan_to_num(lipsync.mouth_opening(scan.points), nan=1.0) < lipsync.CLOSED_OPENING
    return by_dlib, by_mesh, info.fps


#: Labels in a marks file.
BILABIAL_MARKS = frozenset("mbp")
TONGUE_MARKS = frozenset("tdkgn")


def read_marks(tsv: Path) -> list[tuple[float, float, str]]:
    """(start_s, end_s, label) of every line of a marks file."""
    marks = []
    for line in tsv.read_text().splitlines():
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        start, end, label = line.split("\t")[:3]
        marks.append((float(start), float(end), label.strip()))
    return marks


def marks_shares(marks: list[tuple[float, float, str]], closed: np.ndarray, fps: float,
                 duration_s: float, *, pause_edge_s: float = 0.08) -> LipShares:
    """Score per-frame "lips shut" against hand marks, as ``lip_shares`` scores espeak's."""
    n = len(closed)

    def frames(start: float, end: float) -> np.ndarray:
        return frames_in(start, end, fps, n)

    bilabials = [(s, e) for s, e, label in marks if label in BILABIAL_MARKS]
    others = [(s, e) for s, e, label in marks if label in TONGUE_MARKS]
    pause = np.zeros(n, bool)
    for start, end, label in marks:
        if label == "pause":
            lo = start if start <= 0 else start + pause_edge_s
            hi = end if end >= duration_s - 1e-6 else end - pause_edge_s
            pause[frames(lo, hi)] = True
    vowel = np.zeros(n, bool)
    for start, end, label in marks:
        if label == "vowel":
            vowel[frames(start, end)] = True
    vowel &= ~pause
    return LipShares(len(bilabials), sum(bool(closed[frames(s, e)].any()) for s, e in bilabials),
                     int(pause.sum()), int((pause & closed).sum()),
                     int(vowel.sum()), int((vowel & ~closed).sum()),
                     len(others), sum(bool(closed[frames(s, e)].any()) for s, e in others))


def recorded_closed(audio_path: Path, fps: int = 25) -> tuple[np.ndarray, float]:
    """Per-frame "lips shut" from the motion model for a recorded clip, and its length."""
    from talkinghead import Options
    from talkinghead.inputs.audio import load_audio
    from talkinghead.pipeline import plan_motion

    audio = load_audio(audio_path)
    _, motion = plan_motion(audio, Options(fps=fps))
    return motion.curve("jaw_open") < CLOSED_JAW, audio.duration_s


def recorded_video_closed(audio_path: Path, work: Path) -> tuple[np.ndarray, float]:
    """Render a recorded clip on the bundled portrait; lips shut by the face mesh, and fps."""
    from talkinghead import Options
    from talkinghead.inputs import load_portrait
    from talkinghead.pipeline import render_video
    from talkinghead.quality import lipsync
    from talkinghead.quality.scan import prepare_reference, scan_frames
    from talkinghead.quality.video import iter_frames, probe_video

    portrait = ROOT / "examples" / "astronaut.png"
    video = work / "recorded.mp4"
    render_video(portrait, audio_path, video, Options(size="512"))
    info = probe_video(video)
    reference = prepare_reference(load_portrait(portrait).rgb, info.width, info.height)
    scan = scan_frames(iter_frames(video), reference, sample_idx=set(), mouth_idx=set())
    opening = np.nan_to_num(lipsync.mouth_opening(scan.points), nan=1.0)
    return opening < lipsync.CLOSED_OPENING, info.fps


#: Real footage: lips read shut below lipsync.CLOSED_OPENING; clearly apart above this.
APART_OPENING = 0.08
#: A real closure inside speech: shut for at most this long ...
MAX_CLOSURE_S = 0.35
#: ... with lips open wider than this within this long on both sides.
OPEN_AROUND = 0.06
AROUND_S = 0.3


def real_closures(opening: np.ndarray, fps: float,
                  closed_below: float = 0.04) -> list[tuple[int, int]]:
    """(first, end) frames of each short closure inside speech in a real mouth-opening
    track (eye-distance units, NaN where no face): shut for at most MAX_CLOSURE_S with
    the lips open (> OPEN_AROUND) within AROUND_S before and after."""
    shut = np.nan_to_num(opening, nan=1.0) < closed_below
    edges = np.flatnonzero(np.diff(np.r_[0, shut.astype(np.int8), 0]))
    around = max(1, int(round(AROUND_S * fps)))
    runs = []
    for first, end in zip(edges[::2], edges[1::2], strict=True):
        if first == 0 or end == len(opening) or end - first > MAX_CLOSURE_S * fps:
            continue
        before = np.nan_to_num(opening[max(0, first - around): first])
        after = np.nan_to_num(opening[end: end + around])
        if (before > OPEN_AROUND).any() and (after > OPEN_AROUND).any():
            runs.append((int(first), int(end)))
    return runs


def footage_shares(opening: np.ndarray, ours_closed: np.ndarray, fps: float,
                   speaking: np.ndarray | None = None) -> tuple[int, int, int, int]:
    """(real closures, of them ours shut within a frame, real frames clearly apart, of them
    ours apart) for a real mouth-opening track and our per-frame "lips shut". With
    ``speaking`` (per frame), only closures heard as speech throughout count: an m, b
    or p, not a short pause, which any voice-activity detector shuts."""
    n = min(len(opening), len(ours_closed))
    opening, ours_closed = opening[:n], ours_closed[:n]
    runs = real_closures(opening, fps)
    if speaking is not None:
        runs = [(a, b) for a, b in runs if speaking[a:b].all()]
    shut = sum(bool(ours_closed[max(0, a - 1): b + 1].any()) for a, b in runs)
    apart = np.nan_to_num(opening, nan=0.0) > APART_OPENING
    return len(runs), shut, int(apart.sum()), int((apart & ~ours_closed).sum())


def footage(videos: list[str]) -> None:
    """Print the shares for real footage, its lips read off the video."""
    from talkinghead import Options
    from talkinghead.inputs.audio import load_audio
    from talkinghead.pipeline import plan_motion
    from talkinghead.quality import lipsync
    from talkinghead.quality.clip import follow_face
    from talkinghead.quality.video import iter_frames, probe_video

    print("real footage, lips read off it:  real closures shut      real lips apart, ours too"
          "   snaps/s real, ours")
    totals = np.zeros(4, int)
    snaps = []
    for name in videos:
        video = Path(name)
        if not video.exists():
            print(f"{video.name}: skipped (missing)")
            continue
        info = probe_video(video)
        points, _ = follow_face(iter_frames(video))  # as eval --motion reads any clip
        opening = lipsync.mouth_opening(points)
        fps = int(round(info.fps))
        speech, motion = plan_motion(load_audio(video), Options(fps=fps))
        counts = footage_shares(opening, motion.curve("jaw_open") < CLOSED_JAW, fps,
                                speech.voice_activity)
        totals += counts
        speaking = speech.voice_activity
        snaps.append((lipsync.snaps_per_s(opening, speaking, fps),
                      lipsync.snaps_per_s(motion.curve("jaw_open"), speaking, fps)))
        print(_footage_row(video.stem[:16], counts) + f"   {snaps[-1][0]:.2f}, {snaps[-1][1]:.2f}")
    if len(videos) > 1:
        real, ours = np.median(snaps, axis=0) if snaps else (0.0, 0.0)
        print(_footage_row("all", tuple(totals)) + f"   {real:.2f}, {ours:.2f} (medians)")


def _footage_row(name: str, counts: tuple[int, ...]) -> str:
    closures, shut, apart, ours_apart = counts
    return (f"{name:<16} {shut / max(closures, 1):6.1%} ({shut}/{closures})"
            f"        {ours_apart / max(apart, 1):6.1%} ({ours_apart}/{apart})")


def _row(name: str, shares: LipShares) -> str:
    return (f"{name:<10} {shares.bilabial_share:6.1%} "
            f"({shares.bilabials_closed}/{shares.bilabials})"
            f"   {shares.pause_share:6.1%} ({shares.pause_frames_closed}/{shares.pause_frames})"
            f"   {shares.vowel_share:6.1%} ({shares.vowel_frames_apart}/{shares.vowel_frames})"
            + (f"   {shares.others_closed / shares.others:5.0%}" if shares.others else "      -"))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--languages", default=",".join(TUNING_LANGUAGES + HELD_OUT_LANGUAGES))
    parser.add_argument("--video", type=int, default=0,
                        help="also render this many clips per language and measure the video")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--marks", nargs=2, action="append", default=[], metavar=("AUDIO", "TSV"),
                        help="a recorded clip and its hand-marked closures, vowels and pauses")
    parser.add_argument("--footage", action="append", default=[], metavar="VIDEO",
                        help="real footage of someone speaking: its lips are the truth")
    args = parser.parse_args()
    languages = tuple(args.languages.split(",")) if args.languages else ()
    started = time.perf_counter()
    if not languages:
        if args.marks:
            recorded(args.marks, args.video)
        if args.footage:
            footage(args.footage)
        return
    clips = corpus(languages, seed=args.seed)
    print(f"{len(clips)} clips, {sum(c.duration_s for _, c in clips):.0f} s of espeak-ng speech "
          f"({time.perf_counter() - started:.1f} s to synthesise)")
    print("motion curves, no transcript:   m/b/p closed      pauses closed      vowels apart"
          "     t/d/k/g/n closed")
    totals: dict[str, LipShares] = {}
    for language, clip in clips:
        shares = lip_shares(clip, motion_closed(clip), 25)
        totals[language] = totals[language] + shares if language in totals else shares
    for language in languages:
        held = " (held out)" if language in HELD_OUT_LANGUAGES else ""
        print(_row(language, totals[language]) + held)
    if args.video:
        print("rendered video (face-mesh inner-lip gap) vs the motion curves, same clips:")
        with tempfile.TemporaryDirectory() as tmp:
            for language in languages:
                picked = [c for lang, c in clips if lang == language][: args.video]
                sums: dict[str, LipShares] = {}
                for clip in picked:
                    by_dlib, by_mesh, fps = video_closed(clip, Path(tmp))
                    for name, shares in (("dlib", lip_shares(clip, by_dlib, fps)),
                                         ("mesh", lip_shares(clip, by_mesh, fps)),
                                         ("curve", lip_shares(clip, motion_closed(clip), 25))):
                        sums[name] = sums[name] + shares if name in sums else shares
                for name, shares in sums.items():
                    print(_row(f"{language} {name}", shares))
    if args.marks:
        recorded(args.marks, args.video)
    if args.footage:
        footage(args.footage)
    print(f"{time.perf_counter() - started:.0f} s in all")


def recorded(pairs: list[list[str]], video: int) -> None:
    """Print the shares for recorded clips against their hand marks."""
    print("recorded clips, hand marks:     m/b/p closed      pauses closed      vowels apart"
          "     t/d/k/g/n closed")
    total = None
    for audio_name, tsv_name in pairs:
        audio_path, tsv = Path(audio_name), Path(tsv_name)
        if not audio_path.exists() or not tsv.exists():
            print(f"{audio_path.name}: skipped ({audio_path if not audio_path.exists() else tsv}"
                  " missing)")
            continue
        marks = read_marks(tsv)
        closed, duration_s = recorded_closed(audio_path)
        shares = marks_shares(marks, closed, 25, duration_s)
        total = shares if total is None else total + shares
        print(_row(audio_path.stem[:10], shares) + f"  {audio_path.name}, curves")
        if video:
            with tempfile.TemporaryDirectory() as tmp:
                by_mesh, fps = recorded_video_closed(audio_path, Path(tmp))
            print(_row(audio_path.stem[:10], marks_shares(marks, by_mesh, fps, duration_s))
                  + f"  {audio_path.name}, video (mesh)")
    if total is not None and len(pairs) > 1:
        print(_row("all", total))


if __name__ == "__main__":
    main()
