"""Characters the face mesh does not fit: a drawn smiley talks, a photo with hint
boxes talks, and nothing outside the mouth and eyes ever changes."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest

from talkinghead import NoFaceError, Options, OptionsError
from talkinghead.analysis.character import CharacterRig, find_drawn_features
from talkinghead.analysis.rig import Rig
from talkinghead.inputs import load_audio
from talkinghead.pipeline import plan_motion, prepare_rig, render_video
from talkinghead.render.character import render_character_frame, render_character_frames
from tests.conftest import EXAMPLE_PORTRAIT, EXAMPLE_SPEECH, decode_video, voice_like, wav_bytes

YELLOW, INK, PAPER = (250, 210, 40), (30, 25, 20), (235, 235, 240)


def smiley() -> np.ndarray:
    """A flat drawn smiley: a yellow disc, two dots and a curved line."""
    image = np.full((512, 512, 3), PAPER, np.uint8)
    cv2.circle(image, (256, 256), 180, YELLOW, -1)
    cv2.circle(image, (256, 256), 180, INK, 4)
    for x in (196, 316):
        cv2.ellipse(image, (x, 210), (16, 24), 0, 0, 360, INK, -1)
    cv2.ellipse(image, (256, 290), (80, 50), 0, 20, 160, INK, 6)
    return image


@pytest.fixture(scope="module")
def rig() -> CharacterRig:
    found = prepare_rig(smiley())
    assert isinstance(found, CharacterRig)
    return found


def _animated_parts(rig: CharacterRig, margin: int = 2) -> np.ndarray:
    """Where the character may change: the mouth box down to its chin, the eye boxes."""
    mask = np.zeros(rig.image.shape[:2], bool)
    x, y, w, h = rig.mouth
    top = int(rig.mouth_line.min()) - margin
    mask[top: int(y + h + rig.max_open_px + h + 10) + margin, x - margin: x + w + margin] = True
    for x, y, w, h in rig.eyes:
        mask[y - margin: y + h + margin, x - margin: x + w + margin] = True
    return mask


def test_a_drawn_face_is_found(rig: CharacterRig) -> None:
    (mx, my, mw, _), eyes = rig.mouth, rig.eyes
    assert abs(mx + mw / 2 - 256) < 8 and 300 < my < 340 and mw > 120  # the curved line
    assert len(eyes) == 2 and [abs(e[0] + e[2] / 2 - c) < 6 for e, c in zip(
        sorted(eyes), (196, 316), strict=True)] == [True, True]
    assert rig.flat and rig.interior_rgb == INK
    assert rig.lid_rgb == (YELLOW, YELLOW)


def test_the_mouth_opens_with_the_voice_and_nothing_else_changes(rig: CharacterRig) -> None:
    samples = np.concatenate([np.zeros(8000, np.float32), voice_like(2.0),
                              np.zeros(8000, np.float32)])
    from talkinghead.inputs.audio import AudioClip

    clip = AudioClip(samples=samples[:, None], sample_rate_hz=16_000, name="voice")
    # Head and body still: only the mouth may move (the figure's own motion is below).
    _, motion = plan_motion(clip, Options(blinks_per_min=0, head_motion=0, body_motion=0))
    frames = list(render_character_frames(rig, motion))
    still = ~_animated_parts(rig)
    source_colours = {tuple(c) for c in rig.image.reshape(-1, 3)}
    ink = np.all(rig.image == INK, axis=2)
    dark = []
    for frame in frames:
        assert np.array_equal(frame[still], rig.image[still])  # flat art stays as it was
        dark.append(int(np.all(frame == INK, axis=2).sum() - ink.sum()))
    new_colours = {tuple(c) for f in frames[::5] for c in f.reshape(-1, 3)} - source_colours
    assert new_colours <= {rig.interior_rgb, *rig.lid_rgb}  # nearest colour: fills stay flat
    jaw = motion.curve("jaw_open")
    dark_a = np.array(dark)
    assert np.corrcoef(dark_a, jaw)[0, 1] > 0.9
    assert dark_a[:10].max() == 0 and dark_a[-10:].max() == 0  # shut in silence
    assert dark_a.max() > 1500  # wide open: a dark mouth of thousands of pixels


def test_the_figure_breathes_nods_and_leans_over_its_own_background(
        rig: CharacterRig) -> None:
    assert rig.figure is not None and rig.background_rgb == PAPER
    _, motion = plan_motion(load_audio(EXAMPLE_SPEECH), Options())
    frames = list(render_character_frames(rig, motion))[::4]
    reach = cv2.dilate(rig.figure.astype(np.uint8), np.ones((41, 41), np.uint8)).astype(bool)
    outline = rig.figure ^ cv2.erode(rig.figure.astype(np.uint8),
                                     np.ones((9, 9), np.uint8)).astype(bool)
    moved = [np.abs(f[outline].astype(int) - rig.image[outline]).mean() for f in frames]
    assert max(moved) > 5  # the outline moves: the figure stretches, squashes and leans
    source_colours = {tuple(c) for c in rig.image.reshape(-1, 3)}
    for frame in frames:
        assert np.array_equal(frame[~reach], rig.image[~reach])  # the paper never moves
        new = {tuple(c) for c in frame.reshape(-1, 3)} - source_colours
        assert new <= {rig.interior_rgb, *rig.lid_rgb}  # and every colour stays flat
    still = Options(head_motion=0, body_motion=0, blinks_per_min=0)
    _, quiet = plan_motion(load_audio(EXAMPLE_SPEECH), still)
    assert all(np.array_equal(f[outline], rig.image[outline])
               for f in list(render_character_frames(rig, quiet))[::10])


def test_a_blink_closes_both_eyes(rig: CharacterRig) -> None:
    shut = render_character_frame(rig, {"blink": 1.0})
    for x, y, w, h in rig.eyes:
        eye = shut[y:y + h, x:x + w]
        assert np.all(eye == YELLOW, axis=2).mean() > 0.75  # the lid covers the dot
        assert np.all(eye == INK, axis=2).sum() >= w  # a closed-eye line remains
    assert np.array_equal(render_character_frame(rig, {}), rig.image)


def test_a_photo_with_hint_boxes_talks(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    # A photo-like picture (texture everywhere) that no face mesh will read as a face.
    photo = cv2.GaussianBlur(rng.integers(60, 200, (400, 600, 3)).astype(np.uint8), (0, 0), 2)
    cv2.line(photo, (250, 260), (350, 262), (40, 20, 30), 4)  # a mouth line
    path = tmp_path / "creature.png"
    cv2.imwrite(str(path), photo[:, :, ::-1])
    audio = tmp_path / "voice.wav"
    audio.write_bytes(wav_bytes(np.concatenate([voice_like(1.2), np.zeros(4000, np.float32)])))
    with pytest.raises(NoFaceError, match="--mouth x,y,w,h"):
        render_video(path, audio, tmp_path / "refused.mp4", Options())
    out = tmp_path / "creature.mp4"
    # Boxes in the source's pixels (600 px wide); the video is 512 px wide.
    render_video(path, audio, out, Options(mouth=(240, 245, 120, 30),
                                           eyes=((220, 150, 40, 30), (340, 150, 40, 30))))
    video = decode_video(out)
    assert (video.width, video.height) == (512, 342)
    scale = 512 / 600
    y0, y1, x0, x1 = (int(v * scale) for v in (245, 320, 240, 360))
    mouth_change = [np.abs(f[y0:y1, x0:x1].astype(int) - video.frames[-1][y0:y1, x0:x1]).mean()
                    for f in video.frames]
    assert max(mouth_change) > 10  # the mouth opens while the voice sounds
    corner = (slice(0, 100), slice(0, 150))  # far from mouth and eyes: only the codec's noise
    assert max(np.abs(f[corner].astype(int) - video.frames[0][corner]).mean()
               for f in video.frames) < 0.5


def test_photos_keep_the_face_mesh_and_blank_pictures_say_what_to_do() -> None:
    from talkinghead.inputs import load_portrait
    from talkinghead.pipeline import fit_to_size

    photo = fit_to_size(load_portrait(EXAMPLE_PORTRAIT).rgb, 512)
    assert isinstance(prepare_rig(photo), Rig)
    assert find_drawn_features(photo) is None  # photos' dark blobs are never taken for a face
    with pytest.raises(NoFaceError, match="give its mouth's box"):
        prepare_rig(np.full((256, 256, 3), 200, np.uint8))


@pytest.mark.parametrize(("values", "words"), [
    ({"mouth": (1, 2, 3)}, "four whole numbers"),
    ({"mouth": (-1, 2, 30, 10)}, "four whole numbers"),
    ({"mouth": (1, 2, 30, 10), "eyes": ((1, 2, 3, 4),) * 3}, "at most two"),
    ({"eyes": ((1, 2, 30, 10),)}, "eyes need a mouth"),
])
def test_bad_boxes_are_refused(values: dict, words: str) -> None:
    with pytest.raises(OptionsError, match=words):
        Options(**values)


def test_the_command_takes_boxes(tmp_path: Path) -> None:
    image = tmp_path / "smiley.png"
    cv2.imwrite(str(image), smiley()[:, :, ::-1])
    bad = subprocess.run([sys.executable, "-m", "talkinghead.cli", "animate", str(image),
                          str(EXAMPLE_SPEECH), "--mouth", "1,2,three,4", "-q"],
                         capture_output=True, text=True, check=False)
    assert bad.returncode == 2 and "x,y,width,height" in bad.stderr
    clip = tmp_path / "short.wav"
    clip.write_bytes(wav_bytes(load_audio(EXAMPLE_SPEECH).mono(16_000)[:32_000]))
    out = tmp_path / "smiley.mp4"
    done = subprocess.run([sys.executable, "-m", "talkinghead.cli", "animate", str(image),
                           str(clip), "-o", str(out), "--mouth", "176,300,160,45",
                           "--eyes", "178,184,36,52;298,184,36,52", "-q"],
                          capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr
    assert len(decode_video(out).frames) == 50


def test_a_smiley_the_face_mesh_takes_for_a_face_is_still_a_character() -> None:
    """mediapipe's mesh "finds" a face on this one (its dots as eyes); the photo-real
    path would paint a clean plate and teeth over the flat yellow."""
    from talkinghead.analysis.face import find_face

    image = np.full((512, 512, 3), 255, np.uint8)
    cv2.circle(image, (256, 256), 194, (255, 230, 80), -1)
    for x in (192, 320):
        cv2.ellipse(image, (x, 208), (30, 40), 0, 0, 360, (0, 0, 0), -1)
    cv2.ellipse(image, (256, 288), (97, 64), 0, 10, 170, (0, 0, 0), 6)
    find_face(image)  # the mesh does land on it
    rig = prepare_rig(image)
    assert isinstance(rig, CharacterRig) and len(rig.eyes) == 2


def test_a_face_the_detector_does_not_see_is_not_animated_as_one() -> None:
    """On a textured picture the mesh may "find" a face where a face detector sees
    none (in a cat's eye, on a pattern): then it is no face, and the error says what
    to give. Checked on a face-free texture with a tiny face-like pattern."""
    from talkinghead.analysis.character import mesh_misfits
    from talkinghead.analysis.face import FaceLandmarks

    rng = np.random.default_rng(3)
    texture = cv2.GaussianBlur(rng.integers(40, 220, (512, 512, 3)).astype(np.uint8), (0, 0), 3)
    points = np.zeros((478, 3), np.float32)
    points[:, :2] = rng.uniform(200, 260, (478, 2))  # a "face" 60 px across, on noise
    assert mesh_misfits(texture, FaceLandmarks(points))


def test_live_mode_animates_a_character_too(tmp_path: Path) -> None:
    from talkinghead.live import LiveSession

    image = tmp_path / "smiley.png"
    cv2.imwrite(str(image), smiley()[:, :, ::-1])
    session = LiveSession(image, Options(head_motion=0, body_motion=0, blinks_per_min=0))
    assert isinstance(session.rig, CharacterRig)
    session.push_audio(voice_like(1.5))
    frames = session.frames() + session.flush()
    ink = [int(np.all(f.rgb == INK, axis=2).sum()) for f in frames]
    assert max(ink) > ink[0] + 1500  # the mouth opens as the sound streams in
