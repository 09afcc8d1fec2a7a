"""Draw the pictures in docs/images.

    .venv/bin/python scripts/make_doc_figures.py [EVAL_IMAGES_DIR [HALF_BODY.png ...]]

Always: mouth and expression close-ups of public-domain portraits (NASA's
astronaut photo, examples/astronaut.png, and Grace Hopper's portrait that
ships with matplotlib). With EVAL_IMAGES_DIR (the evaluation set, see
docs/quality.md), also the contact sheets of motion: every portrait there at
the most-turned poses the default head motion reaches (yaw +-20, pitch +-9,
roll 7 degrees as commanded; one of them talking, chin down) and at head-motion
2's cap (yaw +-30), and each
half- or full-body photo (given after it, or named full_body* there) with its
arms lifted. Each figure is the source, then frames rendered with chosen
motion parameters, labelled. characters.png shows two drawings (made here) on
the character rig.
"""

from __future__ import annotations

import sys
from pathlib import Path

import cv2
import matplotlib.cbook
import numpy as np

from talkinghead.inputs import load_portrait
from talkinghead.pipeline import fit_to_size, prepare_rig
from talkinghead.render.frames import render_frame

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "docs" / "images"


TURNS = [("source", None), ("yaw -20", {"yaw_deg": -20}), ("yaw +20", {"yaw_deg": 20}),
         ("pitch +9", {"pitch_deg": 9}), ("pitch -9", {"pitch_deg": -9}),
         ("roll 7", {"roll_deg": 7, "yaw_deg": 8}),
         ("talking, turned", {"yaw_deg": -20, "pitch_deg": 9, "jaw_open": 0.8}),
         ("yaw -30 (x2)", {"yaw_deg": -30}), ("yaw +30 (x2)", {"yaw_deg": 30})]
GESTURES = [("source", None), ("right arm up", {"r_fore_deg": 35, "r_upper_deg": 12}),
            ("left arm up", {"l_fore_deg": 35, "l_upper_deg": 12}),
            ("both, open", {"r_fore_deg": 30, "l_fore_deg": 30, "r_upper_deg": 10,
                            "l_upper_deg": 10, "r_hand_deg": 10, "l_hand_deg": 10}),
            ("beat", {"r_fore_deg": 22, "l_fore_deg": 22, "r_hand_deg": -4, "l_hand_deg": -4}),
            ("shrug, lean", {"shrug": 1.0, "lean": 1.0}),
            ("turn + gesture", {"yaw_deg": 18, "r_fore_deg": 30, "l_fore_deg": 30})]


def _tile(frame: np.ndarray, label: str, box: tuple[slice, slice], width: int) -> np.ndarray:
    """One labelled picture of a sheet: ``box`` of ``frame`` scaled to ``width``."""
    crop = frame[box]
    tile = cv2.resize(crop, (width, int(width * crop.shape[0] / crop.shape[1])),
                      interpolation=cv2.INTER_AREA)
    tile = cv2.copyMakeBorder(tile, 0, 22, 0, 2, cv2.BORDER_CONSTANT, value=(255, 255, 255))
    cv2.putText(tile, label, (4, tile.shape[0] - 6), cv2.FONT_HERSHEY_SIMPLEX, 0.45,
                (30, 30, 30), 1, cv2.LINE_AA)
    return tile


def _sheet(path: Path, portrait: Path, panels: list[tuple[str, dict[str, float]]],
           *, zoom: float, width: int = 220) -> None:
    source = fit_to_size(load_portrait(portrait).rgb, 512)
    rig = prepare_rig(source)
    x0, y0 = rig.roi[:2]
    centre = rig.face.origin + [x0, y0]
    half = zoom * rig.face.height_px
    top, left = int(centre[1] - 1.2 * half), int(centre[0] - half)
    box = (slice(max(top, 0), int(centre[1] + 0.8 * half)),
           slice(max(left, 0), int(centre[0] + half)))
    tiles = [_tile(source if params is None else render_frame(rig, params), label, box, width)
             for label, params in [("source", None), *panels]]
    sheet = np.hstack(tiles)
    cv2.imwrite(str(path), cv2.cvtColor(sheet, cv2.COLOR_RGB2BGR), [cv2.IMWRITE_PNG_COMPRESSION, 9])
    print(path.relative_to(ROOT), sheet.shape[1], "x", sheet.shape[0])


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


def motion_sheets(eval_images: Path, half_body: list[Path]) -> None:
    """head_turns.png and gestures.png (see the module docstring)."""
    images = sorted(eval_images.glob("*.png"))
    if images:
        _save(OUT / "head_turns.png", [_row(p, TURNS, face_crop=True, width=120)
                                       for p in images])
    half_body = half_body + [p for p in images if "full_body" in p.name]
    if half_body:
        _save(OUT / "gestures.png", [_row(p, GESTURES, face_crop=False, width=150)
                                     for p in half_body])


CHARACTER = [("source", {}), ("jaw 0.4", {"jaw_open": 0.4}), ("jaw 1", {"jaw_open": 1.0}),
             ("blink", {"blink": 1.0}), ("jaw 0.7, half blink", {"jaw_open": 0.7, "blink": 0.5}),
             ("breath in", {"breath": 1.0}), ("lean (tilt 12)", {"roll_deg": 12.0})]


def drawn_characters() -> list[np.ndarray]:
    """Two flat drawings the face mesh cannot animate: a smiley and a robot."""
    smiley = np.full((512, 512, 3), 255, np.uint8)
    cv2.circle(smiley, (256, 256), 194, (255, 230, 80), -1, cv2.LINE_AA)
    cv2.circle(smiley, (256, 256), 194, (40, 30, 20), 5, cv2.LINE_AA)
    for x in (192, 320):
        cv2.ellipse(smiley, (x, 208), (26, 36), 0, 0, 360, (40, 30, 20), -1, cv2.LINE_AA)
    cv2.ellipse(smiley, (256, 288), (97, 64), 0, 10, 170, (40, 30, 20), 7, cv2.LINE_AA)
    robot = np.full((512, 512, 3), (225, 235, 245), np.uint8)
    cv2.rectangle(robot, (110, 120), (402, 420), (120, 140, 170), -1)
    cv2.rectangle(robot, (110, 120), (402, 420), (30, 35, 50), 6)
    cv2.line(robot, (256, 120), (256, 60), (30, 35, 50), 6)
    cv2.circle(robot, (256, 56), 14, (220, 60, 60), -1, cv2.LINE_AA)
    for x in (190, 322):
        cv2.circle(robot, (x, 220), 34, (250, 250, 250), -1, cv2.LINE_AA)
        cv2.circle(robot, (x, 224), 16, (30, 35, 50), -1, cv2.LINE_AA)
    cv2.line(robot, (196, 330), (316, 330), (30, 35, 50), 8)
    return [smiley, robot]


def character_sheet() -> None:
    """characters.png: drawings animated by the character rig (analysis.character)."""
    from talkinghead.render.character import render_character_frame

    rows = []
    for image in drawn_characters():
        rig = prepare_rig(image)
        tiles = [_label(cv2.resize(render_character_frame(rig, params), (200, 200),  # type: ignore[arg-type]
                                   interpolation=cv2.INTER_AREA), label)
                 for label, params in CHARACTER]
        rows.append(np.hstack(tiles))
    _save(OUT / "characters.png", rows)


def _label(tile: np.ndarray, text: str) -> np.ndarray:
    tile = tile.copy()
    cv2.putText(tile, text, (6, 192), cv2.FONT_HERSHEY_SIMPLEX, 0.45, (0, 0, 0), 1, cv2.LINE_AA)
    return tile


def main() -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    hopper = Path(matplotlib.cbook.get_sample_data("grace_hopper.jpg", asfileobj=False))
    _sheet(OUT / "hopper_motion.png", hopper, [
        ("jaw open (aa)", {"jaw_open": 0.9}),
        ("rounded (oo)", {"jaw_open": 0.35, "lip_round": 1.0}),
        ("spread (ee)", {"jaw_open": 0.3, "lip_spread": 1.0}),
        ("f / v", {"jaw_open": 0.1, "upper_lip_raise": 1.0}),
        ("blink", {"blink": 1.0}),
        ("smile, brows", {"smile": 1.0, "brow_raise": 0.8}),
        ("turn 6 deg", {"yaw_deg": 6.0, "pitch_deg": 2.0}),
    ], zoom=0.9, width=180)
    _sheet(OUT / "astronaut_mouth.png", ROOT / "examples" / "astronaut.png", [
        ("silence: lips shut", {}),
        ("m / b / p", {"lip_press": 1.0}),
        ("half open: own teeth", {"jaw_open": 0.5}),
        ("wide open", {"jaw_open": 0.9}),
    ], zoom=0.45, width=230)
    character_sheet()
    if len(sys.argv) > 1:
        motion_sheets(Path(sys.argv[1]), [Path(p) for p in sys.argv[2:]])


if __name__ == "__main__":
    main()
