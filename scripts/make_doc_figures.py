"""Draw the before/after pictures in docs/images from public-domain portraits.

    .venv/bin/python scripts/make_doc_figures.py

Portraits: NASA's astronaut photo (examples/astronaut.png) and Grace Hopper's
portrait that ships with matplotlib. Each figure is the source, then frames
rendered with chosen motion parameters, labelled.
"""

from __future__ import annotations

from pathlib import Path

import cv2
import matplotlib.cbook
import numpy as np

from talkinghead.inputs import load_portrait
from talkinghead.pipeline import fit_to_size, prepare_rig
from talkinghead.render.frames import render_frame

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "docs" / "images"


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
    tiles = []
    for label, params in [("source", None), *panels]:
        frame = source if params is None else render_frame(rig, params)
        crop = frame[box]
        tile = cv2.resize(crop, (width, int(width * crop.shape[0] / crop.shape[1])),
                          interpolation=cv2.INTER_AREA)
        tile = cv2.copyMakeBorder(tile, 0, 22, 0, 2, cv2.BORDER_CONSTANT, value=(255, 255, 255))
        cv2.putText(tile, label, (4, tile.shape[0] - 6), cv2.FONT_HERSHEY_SIMPLEX, 0.45,
                    (30, 30, 30), 1, cv2.LINE_AA)
        tiles.append(tile)
    sheet = np.hstack(tiles)
    cv2.imwrite(str(path), cv2.cvtColor(sheet, cv2.COLOR_RGB2BGR), [cv2.IMWRITE_PNG_COMPRESSION, 9])
    print(path.relative_to(ROOT), sheet.shape[1], "x", sheet.shape[0])


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


if __name__ == "__main__":
    main()
