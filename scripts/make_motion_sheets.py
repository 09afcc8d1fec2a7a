"""Contact sheets of the largest head turns and of gestures, for docs/images.

    .venv/bin/python scripts/make_motion_sheets.py EVAL_IMAGES_DIR [HALF_BODY.png ...]

Every portrait in EVAL_IMAGES_DIR (the evaluation set, see docs/quality.md)
is rendered at the most-turned poses the default head motion reaches
(yaw +-20, pitch +-9, roll +-7 degrees as commanded) and at head-motion 2's
(yaw +-30); each half-body photo given after it, with its arms lifted.
"""

from __future__ import annotations

import sys
from pathlib import Path

import cv2
import numpy as np

from talkinghead.inputs import load_portrait
from talkinghead.pipeline import fit_to_size, prepare_rig
from talkinghead.render.frames import render_frame

OUT = Path(__file__).resolve().parents[1] / "docs" / "images"
TURNS = [("source", None), ("yaw -20", {"yaw_deg": -20}), ("yaw +20", {"yaw_deg": 20}),
         ("pitch +9", {"pitch_deg": 9}), ("pitch -9", {"pitch_deg": -9}),
         ("roll 7", {"roll_deg": 7, "yaw_deg": 8}), ("yaw -30 (x2)", {"yaw_deg": -30}),
         ("yaw +30 (x2)", {"yaw_deg": 30})]
GESTURES = [("source", None), ("right arm up", {"r_fore_deg": 35, "r_upper_deg": 12}),
            ("left arm up", {"l_fore_deg": 35, "l_upper_deg": 12}),
            ("both, open", {"r_fore_deg": 30, "l_fore_deg": 30, "r_upper_deg": 10,
                            "l_upper_deg": 10, "r_hand_deg": 10, "l_hand_deg": 10}),
            ("beat", {"r_fore_deg": 22, "l_fore_deg": 22, "r_hand_deg": -4, "l_hand_deg": -4}),
            ("shrug, lean", {"shrug": 1.0, "lean": 1.0}),
            ("turn + gesture", {"yaw_deg": 18, "r_fore_deg": 30, "l_fore_deg": 30})]


def _tile(frame: np.ndarray, label: str, box: tuple[slice, slice], width: int) -> np.ndarray:
    crop = frame[box]
    tile = cv2.resize(crop, (width, int(width * crop.shape[0] / crop.shape[1])),
                      interpolation=cv2.INTER_AREA)
    tile = cv2.copyMakeBorder(tile, 0, 20, 0, 2, cv2.BORDER_CONSTANT, value=(255, 255, 255))
    cv2.putText(tile, label, (4, tile.shape[0] - 6), cv2.FONT_HERSHEY_SIMPLEX, 0.4,
                (30, 30, 30), 1, cv2.LINE_AA)
    return tile


def _row(path: Path, panels: list, *, face_crop: bool, width: int) -> np.ndarray:
    source = fit_to_size(load_portrait(path).rgb, 512)
    rig = prepare_rig(source)
    box: tuple[slice, slice] = (slice(None), slice(None))
    if face_crop:
        centre = rig.face.origin + rig.roi[:2]
        half = 1.1 * rig.face.height_px
        box = (slice(max(int(centre[1] - 1.3 * half), 0), int(centre[1] + 0.9 * half)),
               slice(max(int(centre[0] - half), 0), int(centre[0] + half)))
    tiles = [_tile(source if params is None else render_frame(rig, params), label, box, width)
             for label, params in panels]
    height = min(t.shape[0] for t in tiles)
    return np.hstack([t[:height] for t in tiles])


def _save(path: Path, rows: list[np.ndarray]) -> None:
    width = max(r.shape[1] for r in rows)
    rows = [cv2.copyMakeBorder(r, 0, 2, 0, width - r.shape[1], cv2.BORDER_CONSTANT,
                               value=(255, 255, 255)) for r in rows]
    cv2.imwrite(str(path), cv2.cvtColor(np.vstack(rows), cv2.COLOR_RGB2BGR),
                [cv2.IMWRITE_PNG_COMPRESSION, 9])
    print(path)


def main() -> None:
    images = sorted(Path(sys.argv[1]).glob("*.png"))
    OUT.mkdir(parents=True, exist_ok=True)
    if images:
        _save(OUT / "head_turns.png", [_row(p, TURNS, face_crop=True, width=120)
                                       for p in images])
    half_body = [Path(p) for p in sys.argv[2:]] + [p for p in images if "full_body" in p.name]
    if half_body:
        _save(OUT / "gestures.png", [_row(p, GESTURES, face_crop=False, width=150)
                                     for p in half_body])


if __name__ == "__main__":
    main()
