"""The mouth track as data, for 2D and 3D rigs: Rhubarb-style mouth cues.

Rhubarb Lip Sync's shapes (Preston Blair's set): A closed (m, b, p),
B slightly open with clenched teeth (most consonants, ee), C open (eh, ae),
D wide open (aa), E rounded (ao, er), F puckered (oo, w), G upper teeth on the
lower lip (f, v), H tongue raised (l), X idle (silence). Each frame's shape is
read from the continuous parameters the video was rendered with, so the cues
match the video exactly.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from xml.etree import ElementTree

import numpy as np

from talkinghead.motion.track import PARAMETERS, MotionTrack

SHAPES = "ABCDEFGHX"


@dataclass(frozen=True)
class MouthCue:
    """One Rhubarb shape held from ``start_s`` to ``end_s``."""

    start_s: float
    end_s: float
    shape: str


def frame_shapes(motion: MotionTrack) -> list[str]:
    """The Rhubarb shape of every frame."""
    jaw, round_, press = (motion.curve(n) for n in ("jaw_open", "lip_round", "lip_press"))
    raise_, tongue = motion.curve("upper_lip_raise"), motion.curve("tongue")
    # Highest priority first: np.select takes the first condition that holds.
    shape = np.select(
        [press > 0.5,
         (jaw < 0.03) & (raise_ < 0.2),
         (raise_ > 0.35) & (jaw < 0.25),
         tongue > 0.5,
         (round_ > 0.55) & (jaw < 0.45),
         round_ > 0.45,
         jaw > 0.7,
         jaw > 0.35],
        ["A", "X", "G", "H", "F", "E", "D", "C"],
        default="B",
    )
    return shape.tolist()


def mouth_cues(motion: MotionTrack) -> list[MouthCue]:
    """Frames of the same shape merged into cues."""
    shapes = frame_shapes(motion)
    cues: list[MouthCue] = []
    start = 0
    for idx in range(1, len(shapes) + 1):  # one step per frame of a short list
        if idx == len(shapes) or shapes[idx] != shapes[start]:
            cues.append(MouthCue(round(start / motion.fps, 3), round(idx / motion.fps, 3),
                                 shapes[start]))
            start = idx
    return cues


def write_mouth_track(path: Path, motion: MotionTrack) -> None:
    """Write the cues: ``.tsv`` as Rhubarb's TSV, ``.xml`` as its XML, anything else as
    its JSON (which also carries every per-frame parameter the video was rendered with)."""
    suffix = path.suffix.lower()
    text = (rhubarb_tsv(motion) if suffix == ".tsv" else rhubarb_xml(motion)
            if suffix == ".xml" else rhubarb_json(motion))
    path.write_text(text, encoding="utf-8")


def rhubarb_tsv(motion: MotionTrack) -> str:
    """Rhubarb Lip Sync's TSV: a line per cue, start time and shape, and a final X."""
    cues = mouth_cues(motion)
    lines = [f"{cue.start_s:.2f}\t{cue.shape}" for cue in cues]
    if cues:
        lines.append(f"{cues[-1].end_s:.2f}\tX")
    return "\n".join(lines) + "\n"


def rhubarb_json(motion: MotionTrack, *, sound_file: str = "") -> str:
    """Rhubarb Lip Sync's JSON (``metadata``, ``mouthCues``), plus every per-frame
    parameter (``parameters``, ``frames``), which Rhubarb readers ignore."""
    cues = mouth_cues(motion)
    document = {
        "metadata": {"soundFile": sound_file, "duration": round(motion.n_frames / motion.fps, 2),
                     "fps": motion.fps},
        "mouthCues": [{"start": round(c.start_s, 2), "end": round(c.end_s, 2), "value": c.shape}
                      for c in cues],
        "parameters": list(PARAMETERS),
        "frames": np.round(motion.values, 4).tolist(),
    }
    return json.dumps(document)


def rhubarb_xml(motion: MotionTrack, *, sound_file: str = "") -> str:
    """Rhubarb Lip Sync's XML: ``rhubarbResult`` with ``metadata`` and ``mouthCues``."""
    root = ElementTree.Element("rhubarbResult")
    metadata = ElementTree.SubElement(root, "metadata")
    ElementTree.SubElement(metadata, "soundFile").text = sound_file
    ElementTree.SubElement(metadata, "duration").text = f"{motion.n_frames / motion.fps:.2f}"
    cues = ElementTree.SubElement(root, "mouthCues")
    for cue in mouth_cues(motion):
        element = ElementTree.SubElement(cues, "mouthCue", start=f"{cue.start_s:.2f}",
                                         end=f"{cue.end_s:.2f}")
        element.text = cue.shape
    ElementTree.indent(root)
    return ('<?xml version="1.0" encoding="utf-8"?>\n'
            + ElementTree.tostring(root, encoding="unicode") + "\n")


#: ARKit blendshapes driven, in the order of each frame's weights.
ARKIT_SHAPES = (
    "jawOpen", "mouthClose", "mouthFunnel", "mouthPucker", "mouthSmileLeft", "mouthSmileRight",
    "mouthStretchLeft", "mouthStretchRight", "mouthRollLower", "mouthRollUpper",
    "mouthPressLeft", "mouthPressRight", "mouthUpperUpLeft", "mouthUpperUpRight",
    "mouthLowerDownLeft", "mouthLowerDownRight", "tongueOut", "eyeBlinkLeft", "eyeBlinkRight",
    "eyeLookInLeft", "eyeLookOutLeft", "eyeLookInRight", "eyeLookOutRight", "eyeLookUpLeft",
    "eyeLookUpRight", "eyeLookDownLeft", "eyeLookDownRight", "browInnerUp", "browOuterUpLeft",
    "browOuterUpRight", "browDownLeft", "browDownRight",
)
GAZE_FULL = (0.12, 0.06)  # gaze_x, gaze_y at which an eye look reads as 1


def arkit_json(motion: MotionTrack) -> str:
    """Per-frame ARKit blendshape weights (0..1), plus the head's rotation in degrees.

    "Left" and "right" are the character's own, as in ARKit; our gaze and image
    directions are the viewer's, so image-right is the character's left.
    """
    c = {name: motion.curve(name).astype(np.float64) for name in PARAMETERS}
    jaw, press, round_, spread = c["jaw_open"], c["lip_press"], c["lip_round"], c["lip_spread"]
    look_x = np.clip(c["gaze_x"] / GAZE_FULL[0], -1, 1)  # + towards image right
    look_y = np.clip(c["gaze_y"] / GAZE_FULL[1], -1, 1)  # + down
    brow_up, brow_down = np.clip(c["brow_raise"], 0, 1), np.clip(-c["brow_raise"], 0, 1)
    weights = {
        "jawOpen": jaw, "mouthClose": np.zeros_like(jaw),  # our closed lips close the jaw too
        "mouthFunnel": round_ * _positive(jaw * 2),  # rounded and open: o
        "mouthPucker": round_ * (1 - _positive(jaw * 2)),  # rounded and closed: oo, w
        "mouthSmileLeft": c["smile"], "mouthSmileRight": c["smile"],
        "mouthStretchLeft": 0.6 * spread, "mouthStretchRight": 0.6 * spread,
        "mouthRollLower": 0.6 * c["upper_lip_raise"], "mouthRollUpper": 0.3 * press,
        "mouthPressLeft": press, "mouthPressRight": press,
        "mouthUpperUpLeft": 0.5 * c["upper_lip_raise"],
        "mouthUpperUpRight": 0.5 * c["upper_lip_raise"],
        "mouthLowerDownLeft": 0.4 * jaw, "mouthLowerDownRight": 0.4 * jaw,
        "tongueOut": 0.3 * c["tongue"], "eyeBlinkLeft": c["blink"], "eyeBlinkRight": c["blink"],
        # Looking to image right: the character's left eye looks out, the right eye in.
        "eyeLookInLeft": _positive(-look_x), "eyeLookOutLeft": _positive(look_x),
        "eyeLookInRight": _positive(look_x), "eyeLookOutRight": _positive(-look_x),
        "eyeLookUpLeft": _positive(-look_y), "eyeLookUpRight": _positive(-look_y),
        "eyeLookDownLeft": _positive(look_y), "eyeLookDownRight": _positive(look_y),
        "browInnerUp": brow_up, "browOuterUpLeft": 0.5 * brow_up,
        "browOuterUpRight": 0.5 * brow_up, "browDownLeft": brow_down, "browDownRight": brow_down,
    }
    frames = np.clip(np.column_stack([weights[name] for name in ARKIT_SHAPES]), 0.0, 1.0)
    return json.dumps({
        "fps": motion.fps, "duration": round(motion.n_frames / motion.fps, 3),
        "blendShapes": list(ARKIT_SHAPES), "frames": np.round(frames, 4).tolist(),
        "head": {name: np.round(c[name], 3).tolist()
                 for name in ("yaw_deg", "pitch_deg", "roll_deg")},
    })


#: The 15 Oculus (Meta) OVRLipSync visemes, and the CMU phones each stands for.
VISEMES = ("sil", "PP", "FF", "TH", "DD", "kk", "CH", "SS", "nn", "RR", "aa", "E", "I", "O", "U")
PHONE_VISEME = {
    "SIL": "sil", "P": "PP", "B": "PP", "M": "PP", "F": "FF", "V": "FF", "TH": "TH", "DH": "TH",
    "T": "DD", "D": "DD", "K": "kk", "G": "kk", "HH": "kk", "CH": "CH", "JH": "CH", "SH": "CH",
    "ZH": "CH", "S": "SS", "Z": "SS", "N": "nn", "NG": "nn", "L": "nn", "R": "RR", "ER": "RR",
    "AA": "aa", "AE": "aa", "AH": "aa", "AY": "aa", "AW": "aa", "EH": "E", "EY": "E",
    "IH": "I", "IY": "I", "Y": "I", "AO": "O", "OW": "O", "OY": "O", "UW": "U", "UH": "U",
    "W": "U",
}
#: Without phones: Rhubarb's shape of a frame -> the nearest viseme.
_SHAPE_VISEME = {"A": "PP", "B": "DD", "C": "E", "D": "aa", "E": "O", "F": "U", "G": "FF",
                 "H": "nn", "X": "sil"}


def viseme_json(motion: MotionTrack) -> str:
    """Per-frame weights of the 15 Oculus visemes (each frame sums to 1).

    The phone under each frame names the viseme, blended over neighbouring
    frames as mouths blend; where the mouth is shut (silence, or a closure the
    sound showed) ``sil`` or ``PP`` take over. Without phones the shape is read
    from the mouth parameters alone.
    """
    n, fps = motion.n_frames, motion.fps
    index = {name: k for k, name in enumerate(VISEMES)}
    weights = np.zeros((n, len(VISEMES)))
    centres = (np.arange(n) + 0.5) / fps
    for phone in motion.phones:  # one step per phone
        inside = (centres >= phone.start_s) & (centres < phone.end_s)
        weights[inside, index[PHONE_VISEME.get(phone.label, "DD")]] = 1.0
    if not motion.phones:
        weights[np.arange(n), [index[_SHAPE_VISEME[s]] for s in frame_shapes(motion)]] = 1.0
    kernel = np.array([0.25, 0.5, 0.25])  # coarticulation: a frame either side
    weights = np.apply_along_axis(lambda w: np.convolve(w, kernel, mode="same"), 0, weights)
    jaw, press = motion.curve("jaw_open"), motion.curve("lip_press")
    shut = np.clip(1.0 - jaw / 0.05, 0.0, 1.0) * (press < 0.5)
    weights *= (1.0 - np.maximum(shut, press))[:, None]
    weights[:, index["sil"]] += shut * (press < 0.5)
    weights[:, index["PP"]] += press
    weights /= np.maximum(weights.sum(axis=1, keepdims=True), 1e-9)
    return json.dumps({"fps": fps, "duration": round(n / fps, 3), "visemes": list(VISEMES),
                       "frames": np.round(weights, 4).tolist()})


def _positive(values: np.ndarray) -> np.ndarray:
    return np.clip(values, 0.0, 1.0)
