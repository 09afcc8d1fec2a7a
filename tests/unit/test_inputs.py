"""Each kind of bad input gets its own clear error; good inputs decode right."""

from __future__ import annotations

import io
from pathlib import Path

import av
import numpy as np
import pytest
from PIL import Image

from talkinghead.errors import (
    AudioError,
    AudioTooLongError,
    EmptyAudioError,
    FileTooLargeError,
    ImageError,
    InputError,
    UnsupportedImageFormatError,
)
from talkinghead.inputs import load_audio, load_portrait
from tests.conftest import voice_like, wav_bytes


def _image_bytes(image: Image.Image, fmt: str, **kw: object) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format=fmt, **kw)
    return buffer.getvalue()


def test_not_an_image() -> None:
    with pytest.raises(ImageError, match="not an image"):
        load_portrait(b"this is plain text, not pixels" * 10)


def test_unsupported_format_names_the_format() -> None:
    gif = _image_bytes(Image.new("RGB", (100, 100), "red"), "GIF")
    with pytest.raises(UnsupportedImageFormatError, match="GIF.*PNG, JPEG or WebP"):
        load_portrait(gif)


def test_image_too_large_in_bytes(tmp_path: Path) -> None:
    path = tmp_path / "big.png"
    path.write_bytes(_image_bytes(Image.new("RGB", (100, 100)), "PNG"))
    with pytest.raises(FileTooLargeError, match="limit"):
        load_portrait(path, max_bytes=100)


def test_decompression_bomb_is_refused() -> None:
    # A 1-bit image compresses to almost nothing yet claims 48 megapixels.
    bomb = _image_bytes(Image.new("1", (8000, 6000)), "PNG")
    assert len(bomb) < 1_000_000
    with pytest.raises(ImageError, match="too many pixels"):
        load_portrait(bomb)


def test_truncated_image() -> None:
    png = _image_bytes(Image.fromarray(np.random.default_rng(0).integers(
        0, 255, (200, 200, 3), dtype=np.uint8)), "PNG")
    with pytest.raises(ImageError, match="corrupt or truncated"):
        load_portrait(png[: len(png) // 2])


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="not found"):
        load_portrait(tmp_path / "nope.png")


def test_exif_orientation_is_honoured() -> None:
    image = Image.new("RGB", (120, 80), "white")
    image.paste((255, 0, 0), (0, 0, 20, 80))  # red stripe on the left
    exif = Image.Exif()
    exif[0x0112] = 6  # stored sideways: rotate 90 degrees clockwise to view
    portrait = load_portrait(_image_bytes(image, "JPEG", exif=exif.tobytes(), quality=95))
    assert portrait.rgb.shape == (120, 80, 3)
    assert portrait.rgb[5, 40, 0] > 200 and portrait.rgb[5, 40, 1] < 60  # stripe now on top


def test_alpha_is_flattened_onto_white() -> None:
    rgba = Image.new("RGBA", (100, 100), (0, 0, 0, 0))
    portrait = load_portrait(_image_bytes(rgba, "PNG"))
    assert portrait.rgb.shape == (100, 100, 3)
    assert portrait.rgb.min() == 255


@pytest.mark.parametrize("fmt", ["PNG", "JPEG", "WEBP"])
def test_supported_formats_from_bytes_and_file_objects(fmt: str) -> None:
    data = _image_bytes(Image.new("RGB", (90, 70), (10, 200, 30)), fmt)
    for source in (data, io.BytesIO(data)):
        portrait = load_portrait(source)
        assert portrait.size == (90, 70)
        assert abs(int(portrait.rgb[35, 45, 1]) - 200) < 8


def _encode_audio(codec: str, fmt: str, samples: np.ndarray, rate: int = 48_000) -> bytes:
    """Stereo ``samples`` encoded with ``codec`` in container ``fmt``."""
    buffer = io.BytesIO()
    with av.open(buffer, "w", format=fmt) as container:
        stream = container.add_stream(codec, rate=rate, layout="stereo")
        sample_fmt = stream.codec_context.codec.audio_formats[0].name
        resampler = av.AudioResampler(format=sample_fmt, layout="stereo", rate=rate)
        step = stream.codec_context.frame_size or 1024
        planar = np.ascontiguousarray(np.tile(samples, (2, 1)), dtype=np.float32)
        for start in range(0, planar.shape[1], step):
            frame = av.AudioFrame.from_ndarray(np.ascontiguousarray(planar[:, start:start + step]),
                                               format="fltp", layout="stereo")
            frame.sample_rate = rate
            for converted in resampler.resample(frame):
                container.mux(stream.encode(converted))
        container.mux(stream.encode(None))
    return buffer.getvalue()


@pytest.mark.parametrize(("codec", "fmt"), [
    ("libmp3lame", "mp3"), ("aac", "mp4"), ("libopus", "ogg"), ("flac", "flac"),
    ("libopus", "webm"), ("pcm_s16le", "wav"),
])
def test_common_audio_containers_decode(codec: str, fmt: str) -> None:
    samples = voice_like(1.5, 48_000)
    clip = load_audio(_encode_audio(codec, fmt, samples))
    assert clip.sample_rate_hz == 48_000
    assert clip.channels == 2
    assert abs(clip.duration_s - 1.5) < 0.1
    assert clip.samples.std() > 0.05


def test_mono_and_any_rate() -> None:
    clip = load_audio(wav_bytes(voice_like(1.0, 11_025), 11_025))
    assert clip.channels == 1
    assert abs(clip.duration_s - 1.0) < 0.01
    assert clip.mono(16_000).shape == (16_000,)


def test_corrupt_audio() -> None:
    with pytest.raises(AudioError, match="not a readable audio file|corrupt"):
        load_audio(b"RIFF\x00\x00\x00\x00WAVEjunkjunkjunk" + bytes(200))


def test_image_given_as_audio() -> None:
    png = _image_bytes(Image.new("RGB", (100, 100)), "PNG")
    with pytest.raises(AudioError):
        load_audio(png)


def test_zero_length_audio() -> None:
    with pytest.raises(EmptyAudioError, match="zero length"):
        load_audio(wav_bytes(np.zeros(0, np.float32)))


def test_audio_longer_than_limit() -> None:
    with pytest.raises(AudioTooLongError, match="1 s limit"):
        load_audio(wav_bytes(np.zeros(16_000 * 3, np.float32)), max_duration_s=1.0)


def test_empty_file() -> None:
    with pytest.raises(InputError, match="empty"):
        load_audio(b"")


def test_sixteen_bit_greyscale_keeps_its_tones() -> None:
    ramp = (np.tile(np.linspace(0, 65535, 128), (96, 1))).astype(np.uint16)
    portrait = load_portrait(_image_bytes(Image.fromarray(ramp), "PNG"))
    assert portrait.rgb.shape == (96, 128, 3)
    assert portrait.rgb[:, 0].max() < 5 and portrait.rgb[:, -1].min() > 250
    assert 100 < portrait.rgb[50, 64, 0] < 155  # mid-grey stays mid-grey


@pytest.mark.parametrize("mode", ["L", "CMYK", "P", "LA"])
def test_other_colour_modes_become_rgb(mode: str) -> None:
    image = Image.new("RGB", (80, 80), (200, 120, 40)).convert(mode)
    fmt = "JPEG" if mode == "CMYK" else "PNG"
    portrait = load_portrait(_image_bytes(image, fmt))
    assert portrait.rgb.shape == (80, 80, 3) and portrait.rgb.dtype == np.uint8
