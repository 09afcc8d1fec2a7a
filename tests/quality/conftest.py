"""Small generated fixtures for the quality report: a portrait crop, a short clip, videos.

Videos are rendered with the generator's own frame renderer, with the mouth
driven by curves the tests choose (a lagged envelope, a phone timeline), so
the expected figures are known exactly.
"""

from __future__ import annotations

import shutil
import subprocess
import wave
from collections.abc import Callable, Iterable
from pathlib import Path

import cv2
import numpy as np
import pytest
from PIL import Image

from talkinghead.analysis.face import find_face, person_mask
from talkinghead.encode import write_mp4
from talkinghead.inputs import AudioClip, load_audio
from talkinghead.quality import lipsync

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
#: camera.png: scikit-image's "camera" picture (CC0, by Lav Varshney), a man at a tripod
#: with both forearms in view: the one picture here in which the pose model sees an arm.
FIXTURES = Path(__file__).resolve().parent / "fixtures"
FPS = 25
CLIP_S = 3.2


def write_wav(path: Path, clip: AudioClip) -> Path:
    """Write ``clip`` as 16-bit PCM WAV."""
    pcm = (np.clip(clip.samples, -1, 1) * 32767).astype("<i2")
    with wave.open(str(path), "wb") as handle:
        handle.setnchannels(clip.channels)
        handle.setsampwidth(2)
        handle.setframerate(clip.sample_rate_hz)
        handle.writeframes(pcm.tobytes())
    return path


def encode(path: Path, frames: Iterable[np.ndarray], clip: AudioClip, n_frames: int) -> Path:
    """Encode RGB frames with the clip's sound, as the generator would."""
    frames = list(frames)
    height, width = frames[0].shape[:2]
    write_mp4(path, iter(frames), clip, fps=FPS, width=width, height=height, n_frames=n_frames)
    return path


@pytest.fixture(scope="session")
def workdir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("quality")


@pytest.fixture(scope="session")
def portrait(workdir: Path) -> tuple[Path, np.ndarray]:
    """The astronaut's head and shoulders, 256x320 (a face about 90 px across)."""
    rgb = np.ascontiguousarray(
        np.asarray(Image.open(EXAMPLES / "astronaut.png").convert("RGB"))[0:320, 96:352])
    path = workdir / "portrait.png"
    Image.fromarray(rgb).save(path)
    return path, rgb


@pytest.fixture(scope="session")
def clip(workdir: Path) -> tuple[Path, AudioClip]:
    """The first 3.2 s of the example speech (a word, a pause, more words)."""
    full = load_audio(EXAMPLES / "speech.wav")
    short = AudioClip(samples=full.samples[: int(CLIP_S * full.sample_rate_hz)],
                      sample_rate_hz=full.sample_rate_hz, name="speech-3s")
    return write_wav(workdir / "speech.wav", short), short


@pytest.fixture(scope="session")
def n_frames() -> int:
    return int(round(CLIP_S * FPS))


@pytest.fixture(scope="session")
def envelope(clip: tuple[Path, AudioClip], n_frames: int) -> np.ndarray:
    return lipsync.loudness_envelope(clip[1].mono(16_000), 16_000, FPS, n_frames)


@pytest.fixture(scope="session")
def render_mouth(portrait: tuple[Path, np.ndarray]) -> Callable[[np.ndarray], list[np.ndarray]]:
    """Frames of the portrait with the jaw opened by a given per-frame curve (0..1)."""
    from talkinghead.motion.track import PARAMETERS
    from talkinghead.pipeline import prepare_rig
    from talkinghead.render.frames import render_frame

    rig = prepare_rig(portrait[1])

    def render(jaw_open: np.ndarray) -> list[np.ndarray]:
        still = dict.fromkeys(PARAMETERS, 0.0)
        return [render_frame(rig, {**still, "jaw_open": float(v)}) for v in jaw_open]

    return render


@pytest.fixture(scope="session")
def static_video(workdir: Path, portrait: tuple[Path, np.ndarray], clip: tuple[Path, AudioClip],
                 n_frames: int) -> Path:
    """The portrait, unchanged, for the whole clip."""
    return encode(workdir / "static.mp4", [portrait[1]] * n_frames, clip[1], n_frames)


@pytest.fixture(scope="session")
def static_eval(portrait: tuple[Path, np.ndarray], clip: tuple[Path, AudioClip],
                static_video: Path):  # type: ignore[no-untyped-def]
    from talkinghead.quality.evaluate import evaluate

    return evaluate(portrait[0], clip[0], static_video)


@pytest.fixture(scope="session")
def shifted_background(workdir: Path, portrait: tuple[Path, np.ndarray],
                       clip: tuple[Path, AudioClip], n_frames: int) -> Path:
    """The person stays; the background behind them slides 16 px sideways."""
    rgb = portrait[1]
    person = person_mask(rgb)[..., None] > 0.5
    frame = np.where(person, rgb, np.roll(rgb, 16, axis=1))
    return encode(workdir / "shifted.mp4", [frame] * n_frames, clip[1], n_frames)


@pytest.fixture(scope="session")
def espeak() -> Callable[[str, Path], Path]:
    """Synthesise English speech of a text (espeak-ng, US voice) to a WAV path."""
    program = shutil.which("espeak-ng")
    if program is None:
        pytest.skip("espeak-ng is not installed (see requirements-apt.txt)")

    def synthesise(text: str, path: Path) -> Path:
        subprocess.run([program, "-v", "en-us", "-s", "140", "-w", str(path), text],
                       check=True, capture_output=True, timeout=60)
        return path

    return synthesise


@pytest.fixture(scope="session")
def encode_video() -> Callable[[Path, Iterable[np.ndarray], AudioClip, int], Path]:
    return encode


def silence(n_frames: int) -> AudioClip:
    """A silent clip exactly as long as ``n_frames`` frames."""
    return AudioClip(samples=np.zeros((n_frames * 16_000 // FPS, 1), np.float32),
                     sample_rate_hz=16_000, name="silence")


def shifted(rgb: np.ndarray, dx: float = 0.0, dy: float = 0.0, roll_deg: float = 0.0,
            centre: tuple[float, float] = (0.0, 0.0)) -> np.ndarray:
    """``rgb`` turned by ``roll_deg`` about ``centre`` (clockwise on screen for
    positive angles), then moved by (dx, dy) pixels; edges repeated."""
    matrix = cv2.getRotationMatrix2D(centre, -roll_deg, 1.0)
    matrix[:, 2] += (dx, dy)
    return cv2.warpAffine(rgb, matrix, rgb.shape[1::-1], flags=cv2.INTER_LINEAR,
                          borderMode=cv2.BORDER_REPLICATE)


@pytest.fixture(scope="session")
def arm_picture() -> np.ndarray:
    """The camera picture at 320x320, RGB: the person's right arm is seen by the pose model."""
    gray = np.asarray(Image.open(FIXTURES / "camera.png").convert("L"))
    small = cv2.resize(gray, (320, 320), interpolation=cv2.INTER_AREA)
    return np.ascontiguousarray(np.repeat(small[..., None], 3, axis=2))


ROLL_DEG = 6.0
N_ROLL = 50
NO_FACE = (0, 1, 2, 30, 31)  # grey frames: no face before frame 3, lost at 30-31


@pytest.fixture(scope="session")
def rolling_video(workdir: Path, portrait: tuple[Path, np.ndarray]) -> tuple[Path, np.ndarray]:
    """The portrait turned in the picture plane by 6 sin(t) degrees about the face's
    middle, two seconds, with grey frames (no face) at the start and in the middle.
    Returns the video and the roll of each frame that shows the face."""
    rgb = portrait[1]
    centre = tuple(float(v) for v in find_face(rgb).points[:, :2].mean(axis=0))
    roll = ROLL_DEG * np.sin(2 * np.pi * np.arange(N_ROLL) / N_ROLL)
    frames = [shifted(rgb, roll_deg=r, centre=centre) for r in roll]
    for k in NO_FACE:
        frames[k] = np.full_like(rgb, 128)
    path = encode(workdir / "rolling.mp4", frames, silence(N_ROLL), N_ROLL)
    return path, np.delete(roll, NO_FACE)
