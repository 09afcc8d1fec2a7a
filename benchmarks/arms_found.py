"""Arms found: does the pose model lose an arm because the arm broke, or because
the head turned?

``talkinghead eval`` reports ``arms_found``, the share of sampled frames where
mediapipe's pose model (static image mode) still sees every arm the portrait
shows. An arm the model is unsure of on the photo itself can drop under its
0.5 visibility cut while nothing about the arm has changed. This renders one
portrait with one clip three ways and measures each the same way as the eval:

- ``default``: head, body and gestures as the defaults have them;
- ``head only``: ``--gestures 0 --body-motion 0``, so the arms are the photo's
  own pixels in every frame (the script checks: mean |diff| around the wrists
  from the first frame, the encoder's noise is about 0.1-0.2 levels);
- ``head still``: ``--head-motion 0``, gestures and body as the defaults.

If ``head only`` loses arms the photo's own pixels still show, the misses
follow the head, not the arms.

    python benchmarks/arms_found.py PORTRAIT AUDIO [--work DIR]
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

import numpy as np

from talkinghead import Options, animate
from talkinghead.inputs import load_portrait
from talkinghead.pipeline import fit_to_size
from talkinghead.quality import pose
from talkinghead.quality.video import iter_frames, probe_video

VARIANTS = {
    "default": Options(),
    "head only": Options(gestures=0.0, body_motion=0.0),
    "head still": Options(head_motion=0.0),
}
#: Half the side of the square around each wrist whose pixels are compared.
WRIST_BOX_SHARE = 0.15  # of the shoulder width


def measure(video: Path, reference: np.ndarray) -> tuple[float | None, float, float]:
    """(share of sampled frames with every arm found, the lowest visibility of a
    measured wrist, the largest mean |diff| around the reference's wrists from the
    first frame) of ``video``; ``reference`` is the photo's pose at the video's size."""
    frames = list(iter_frames(video))
    step = pose.pose_step(probe_video(video).fps)
    track = pose.track_pose(frames, step)
    arms = pose.measure_arms(reference, track)
    wrists = [pose.ARMS[side][2] for side in arms.arms_visible]
    lowest = float(np.nanmin(track.points[:, wrists, 2])) if wrists else float("nan")
    width = arms.shoulder_width_px or 1.0
    half = max(4, int(WRIST_BOX_SHARE * width))
    first = frames[0].astype(np.float32)
    change = 0.0
    for idx in wrists:
        x, y = np.round(reference[idx, :2]).astype(int)
        box = (slice(max(y - half, 0), y + half), slice(max(x - half, 0), x + half))
        for frame in frames[::step]:
            change = max(change, float(np.abs(frame[box].astype(np.float32) - first[box]).mean()))
    return arms.arms_found_share, lowest, change


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("portrait", type=Path)
    parser.add_argument("audio", type=Path)
    parser.add_argument("--work", type=Path, help="keep the renders here (reused when present)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        work = args.work or Path(tmp)
        work.mkdir(parents=True, exist_ok=True)
        options = Options()
        # The reference pose: the photo as the renderer sees it (same size as the video).
        photo = fit_to_size(load_portrait(args.portrait).rgb, options.long_side_px)
        reference = pose.detect_pose(photo)
        shown = pose.visible_arms(reference, (photo.shape[1], photo.shape[0]))
        print(f"{args.portrait.name} + {args.audio.name}: arms the photo shows: "
              f"{', '.join(shown) or 'none'}; wrist visibility on the photo "
              + ", ".join(f"{side} {reference[pose.ARMS[side][2], 2]:.2f}" for side in shown))
        print(f"{'variant':12s} {'arms found':>10s} {'lowest wrist vis':>17s} "
              f"{'wrist |diff| max':>17s}")
        for name, variant in VARIANTS.items():
            video = work / f"{args.portrait.stem}__{args.audio.stem}__{name.replace(' ', '_')}.mp4"
            if not video.exists():
                animate(args.portrait, args.audio, video, variant)
            found, lowest, change = measure(video, reference)
            shown_found = "-" if found is None else f"{found:.1%}"
            print(f"{name:12s} {shown_found:>10s} {lowest:17.2f} {change:17.2f}")


if __name__ == "__main__":
    main()
