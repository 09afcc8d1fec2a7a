"""Mouth cues for rigs: Rhubarb's shapes, matching the rendered motion."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from talkinghead import Options
from talkinghead.inputs import load_audio
from talkinghead.motion.export import SHAPES, mouth_cues, write_mouth_track
from talkinghead.pipeline import plan_motion
from tests.conftest import EXAMPLE_SPEECH


def _motion():  # type: ignore[no-untyped-def]
    text = EXAMPLE_SPEECH.with_suffix(".txt").read_text()
    return plan_motion(load_audio(EXAMPLE_SPEECH), Options(transcript=text))[1]


def test_cues_cover_the_clip_and_close_at_every_bilabial() -> None:
    motion = _motion()
    cues = mouth_cues(motion)
    assert cues[0].start_s == 0.0 and cues[-1].end_s == round(motion.n_frames / 25, 3)
    assert all(a.end_s == b.start_s and a.shape != b.shape
               for a, b in zip(cues, cues[1:], strict=False))
    assert {c.shape for c in cues} <= set(SHAPES)
    assert cues[0].shape == "X"  # the clip opens with silence
    closed = [c for c in cues if c.shape == "A"]
    for phone in motion.phones:
        if phone.label in ("M", "B", "P"):
            middle = (phone.start_s + phone.end_s) / 2
            assert any(c.start_s - 0.05 <= middle <= c.end_s + 0.05 for c in closed), phone
    shapes = {c.shape for c in cues}
    assert {"A", "C", "D", "X"} <= shapes and ({"E", "F"} & shapes)


def test_tsv_and_json_files(tmp_path: Path) -> None:
    motion = _motion()
    tsv = tmp_path / "cues.tsv"
    write_mouth_track(tsv, motion)
    rows = [line.split("\t") for line in tsv.read_text().splitlines()]
    assert rows[0] == ["0.00", "X"] and rows[-1][1] == "X"
    times = [float(t) for t, _ in rows]
    assert times == sorted(times)
    doc_path = tmp_path / "cues.json"
    write_mouth_track(doc_path, motion)
    doc = json.loads(doc_path.read_text())
    assert doc["metadata"]["fps"] == 25
    assert len(doc["frames"]) == motion.n_frames
    assert np.allclose(np.array(doc["frames"]), motion.values, atol=1e-4)
    assert doc["mouthCues"][0] == {"start": 0.0, "end": float(rows[1][0]), "value": "X"}
