"""Mouth cues without a render: every format, read back as its readers would."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from xml.etree import ElementTree

import numpy as np
import pytest

from talkinghead import Options
from talkinghead.cues import make_cues
from talkinghead.errors import InputError
from talkinghead.motion.export import ARKIT_SHAPES, VISEMES
from tests.conftest import EXAMPLE_SPEECH, ROOT

TRANSCRIPT = (ROOT / "examples" / "speech.txt").read_text()


@pytest.fixture(scope="module")
def cues() -> dict[str, str]:
    options = Options(transcript=TRANSCRIPT)
    return {fmt: make_cues(EXAMPLE_SPEECH, options, fmt).text
            for fmt in ("tsv", "json", "xml", "arkit", "visemes", "srt", "vtt")}


def test_rhubarb_tsv_json_and_xml_hold_the_same_cues(cues: dict[str, str]) -> None:
    rows = [line.split("\t") for line in cues["tsv"].splitlines()]
    starts = [float(start) for start, _ in rows]
    assert starts == sorted(starts) and rows[0] == ["0.00", "X"] and rows[-1][1] == "X"
    assert {shape for _, shape in rows} <= set("ABCDEFGHX")
    document = json.loads(cues["json"])
    json_cues = [(c["start"], c["end"], c["value"]) for c in document["mouthCues"]]
    assert all(a[1] == b[0] for a, b in zip(json_cues, json_cues[1:], strict=False))  # no gaps
    assert document["metadata"]["duration"] == pytest.approx(12.76, abs=0.05)
    root = ElementTree.fromstring(cues["xml"])
    assert root.tag == "rhubarbResult" and root.find("metadata/duration") is not None
    xml_cues = [(float(c.get("start")), float(c.get("end")), c.text)
                for c in root.iterfind("mouthCues/mouthCue")]
    assert xml_cues == json_cues
    assert [(f"{s:.2f}", v) for s, _, v in json_cues] == [tuple(r) for r in rows[:-1]]
    # The lips meet at the transcript's m, b and p: shape A appears several times.
    assert sum(v == "A" for _, _, v in json_cues) >= 8


def test_arkit_blendshapes_follow_the_mouth(cues: dict[str, str]) -> None:
    document = json.loads(cues["arkit"])
    frames = np.array(document["frames"])
    assert document["blendShapes"] == list(ARKIT_SHAPES) and frames.shape == (319, 32)
    assert frames.min() >= 0 and frames.max() <= 1
    shape = dict(zip(ARKIT_SHAPES, frames.T, strict=True))
    assert shape["jawOpen"].max() > 0.5 and shape["jawOpen"][:5].max() == 0  # silent start
    assert shape["eyeBlinkLeft"].max() > 0.9  # a blink in 12 s
    assert np.corrcoef(shape["mouthPressLeft"], shape["jawOpen"])[0, 1] < 0
    assert len(document["head"]["yaw_deg"]) == 319


def test_oculus_visemes_name_the_phones(cues: dict[str, str]) -> None:
    document = json.loads(cues["visemes"])
    weights = np.array(document["frames"])
    assert document["visemes"] == list(VISEMES)
    np.testing.assert_allclose(weights.sum(axis=1), 1.0, atol=1e-3)
    strongest = [VISEMES[k] for k in weights.argmax(axis=1)]
    assert strongest[:5] == ["sil"] * 5  # silence before "Hello"
    assert strongest.count("PP") >= 10  # map, bubble, people, my, made, am ...
    assert {"aa", "E", "I", "O", "U", "SS", "nn", "DD"} <= set(strongest)


def test_captions_keep_the_transcripts_words_in_order(cues: dict[str, str]) -> None:
    blocks = cues["srt"].strip().split("\n\n")
    assert blocks[0].splitlines()[0] == "1"
    text = " ".join(" ".join(b.splitlines()[2:]) for b in blocks)
    assert text == " ".join(TRANSCRIPT.split())
    assert cues["vtt"].startswith("WEBVTT\n")
    times = [line.split(" --> ") for line in cues["vtt"].splitlines() if " --> " in line]
    assert len(times) == len(blocks) and times[0][0] == "00:00:00.300"
    assert all(a <= b for a, b in times)
    with pytest.raises(InputError, match="captions need the words"):
        make_cues(EXAMPLE_SPEECH, Options(), "srt")


def test_the_command_writes_the_format_its_suffix_names(tmp_path: Path) -> None:
    out = tmp_path / "cues.xml"
    done = subprocess.run([sys.executable, "-m", "talkinghead.cli", "cues", str(EXAMPLE_SPEECH),
                           "-o", str(out)], capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr
    assert ElementTree.parse(out).getroot().tag == "rhubarbResult"
    assert "real-time factor" in done.stderr
    bad = subprocess.run([sys.executable, "-m", "talkinghead.cli", "cues", str(EXAMPLE_SPEECH),
                          "--format", "srt"], capture_output=True, text=True, check=False)
    assert bad.returncode == 2 and "captions need the words" in bad.stderr
