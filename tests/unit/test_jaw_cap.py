"""The jaw's widest opening stays within what real speakers do, and speech still opens it.

Real figures from benchmarks/jaw_opening.py (inner-lip gap of the face mesh over
speech frames, measured on the video): three LatentSync demo speakers reach
0.156-0.198 face heights at their 99th percentile, our renders of their first
frames 0.065-0.158. The jaw's full opening (jaw_open 1, 11 % of the face height in
render/deform.py) is the cap: however loud the sound and however high
``mouth_motion``, the curve never passes it.
"""

from __future__ import annotations

import numpy as np
import pytest

from talkinghead import Options
from talkinghead.analysis import landmarks as lm
from talkinghead.analysis.face import find_face
from talkinghead.inputs import load_audio, load_portrait
from talkinghead.inputs.audio import AudioClip
from talkinghead.motion.visemes import MOUTH_PARAMETERS
from talkinghead.pipeline import fit_to_size, plan_motion, prepare_rig
from talkinghead.quality.lipsync import eye_distance, mouth_opening
from talkinghead.quality.scan import frame_landmarks, search_box
from talkinghead.render.deform import pose_face
from talkinghead.render.frames import NEUTRAL, render_frame
from tests.conftest import EXAMPLE_PORTRAIT, EXAMPLE_SPEECH, voice_like

#: The least open of the three LatentSync speakers at their 99th percentile
#: (latentsync_demo2; demo1 0.198, demo3 0.158), inner-lip gap in face heights
#: (forehead to chin at the most closed frame): our widest may not exceed it.
REAL_P99_FACE_HEIGHTS = 0.156
#: Normal speech's loud frames part the lips at least this far (eye-corner
#: distances; the real speakers' medians over speech are 0.067-0.125, and the
#: report counts lips under 0.04 as closed).
OPENS_WELL_EYES = 0.06


def _shouted_vowels() -> AudioClip:
    """A held "AAH" driven into clipping, twice, between silences."""
    rate = 16_000
    vowel = np.clip(8.0 * voice_like(1.5, syllable_hz=0.33, seed=3), -1.0, 1.0)
    silence = np.zeros(int(0.5 * rate), np.float32)
    samples = np.concatenate([silence, vowel, silence, vowel, silence])
    return AudioClip(samples=samples[:, None], sample_rate_hz=rate, name="shout")


def _mouth(motion_params: dict[str, float]) -> dict[str, float]:
    return {name: motion_params[name] for name in MOUTH_PARAMETERS}


@pytest.fixture(scope="module")
def astronaut() -> tuple[object, np.ndarray, float]:
    """The bundled portrait's rig, its face-mesh search box and face height (px)."""
    rgb = fit_to_size(load_portrait(EXAMPLE_PORTRAIT).rgb, Options().long_side_px)
    points = find_face(rgb).points
    face_h = float(np.linalg.norm(points[152, :2] - points[10, :2]))
    return prepare_rig(rgb), search_box(points, rgb.shape[1], rgb.shape[0]), face_h


def _gap_px(rig: object, box: tuple[int, int, int, int], params: dict[str, float]) -> float:
    """The inner-lip gap (px) the face mesh reads on the frame rendered with ``params``."""
    points = frame_landmarks(render_frame(rig, params), box)
    assert points is not None
    return float(mouth_opening(points[None])[0] * eye_distance(points[None])[0])


def _commanded_gap_px(rig: object, params: dict[str, float]) -> float:
    """The inner-lip gap (px, middle columns) the warp is asked for: the face mesh reads
    a stretched mouth short (less at jaw_open 2 than at 1), the geometry does not."""
    positions = pose_face(rig, {**NEUTRAL, **params}).positions
    upper = positions[lm.INNER_UPPER_LIP[3:8]]
    lower = positions[lm.INNER_LOWER_LIP[3:8]]
    return float(np.linalg.norm(lower - upper, axis=1).mean())


@pytest.mark.parametrize("mouth_motion", [1.0, 2.0])
def test_shouting_never_opens_the_jaw_past_its_cap(mouth_motion: float) -> None:
    _, motion = plan_motion(_shouted_vowels(), Options(mouth_motion=mouth_motion))
    jaw = motion.curve("jaw_open")
    assert jaw.max() <= 1.0
    assert jaw.max() > 0.5  # a shout does open the jaw wide


def test_widest_rendered_mouth_is_within_real_speakers(astronaut) -> None:
    rig, box, face_h = astronaut
    _, motion = plan_motion(_shouted_vowels(), Options(mouth_motion=2.0))
    widest = int(np.argmax(motion.curve("jaw_open")))
    params = _mouth(motion.at(widest))
    assert _gap_px(rig, box, params) / face_h <= REAL_P99_FACE_HEIGHTS
    assert _commanded_gap_px(rig, params) / face_h <= REAL_P99_FACE_HEIGHTS
    # Nothing the curves can ask for (jaw_open 1 at most) opens it further.
    assert _commanded_gap_px(rig, {"jaw_open": 1.0}) / face_h <= REAL_P99_FACE_HEIGHTS


def test_normal_speech_still_opens_the_mouth(astronaut) -> None:
    rig, box, face_h = astronaut
    _, motion = plan_motion(load_audio(EXAMPLE_SPEECH), Options())
    jaw = motion.curve("jaw_open")
    loud = int(np.argmin(np.abs(jaw - np.percentile(jaw[jaw > 0], 90))))
    points = frame_landmarks(render_frame(rig, _mouth(motion.at(loud))), box)
    assert points is not None
    assert float(mouth_opening(points[None])[0]) >= OPENS_WELL_EYES
    # The inner lips do part at the middle columns, not only at a corner.
    upper, lower = points[lm.INNER_UPPER_LIP, 1], points[lm.INNER_LOWER_LIP, 1]
    assert (lower - upper)[3:8].min() > 0
