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


def _row(name: str, shares: LipShares) -> str:
    return (f"{name:<10} {shares.bilabial_share:6.1%} "
            f"({shares.bilabials_closed}/{shares.bilabials})"
            f"   {shares.pause_share:6.1%} ({shares.pause_frames_closed}/{shares.pause_frames})"
            f"   {shares.vowel_share:6.1%} ({shares.vowel_frames_apart}/{shares.vowel_frames})"
            f"   {shares.others_closed / max(shares.others, 1):5.0%}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--languages", default=",".join(TUNING_LANGUAGES + HELD_OUT_LANGUAGES))
    parser.add_argument("--video", type=int, default=0,
                        help="also render this many clips per language and measure the video")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    languages = tuple(args.languages.split(","))
    started = time.perf_counter()
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
    print(f"{time.perf_counter() - started:.0f} s in all")


if __name__ == "__main__":
    main()
