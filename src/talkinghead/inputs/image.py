"""Portrait decoding: PNG, JPEG or WebP bytes -> upright RGB array."""

from __future__ import annotations

import io
import warnings
from dataclasses import dataclass

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from talkinghead.config import MAX_IMAGE_BYTES, MAX_IMAGE_PIXELS
from talkinghead.errors import ImageError, UnsupportedImageFormatError
from talkinghead.inputs.source import Source, read_source

SUPPORTED_FORMATS = {"PNG": "PNG", "JPEG": "JPEG", "MPO": "JPEG", "WEBP": "WebP"}
MIN_SIDE_PX = 64


@dataclass(frozen=True)
class Portrait:
    """An upright portrait: ``rgb`` is (height, width, 3) uint8."""

    rgb: np.ndarray
    name: str
    format: str

    @property
    def size(self) -> tuple[int, int]:
        """(width, height) in pixels."""
        return self.rgb.shape[1], self.rgb.shape[0]


def load_portrait(source: Source, *, max_bytes: int = MAX_IMAGE_BYTES) -> Portrait:
    """Decode a portrait, honouring EXIF orientation and flattening alpha onto white."""
    data, name = read_source(source, what="image", max_bytes=max_bytes)
    with warnings.catch_warnings():
        # Pillow warns before it raises on bombs; we want the raise only.
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        try:
            image: Image.Image = Image.open(io.BytesIO(data))
            fmt = image.format or "unknown"
            if fmt not in SUPPORTED_FORMATS:
                raise UnsupportedImageFormatError(
                    f"{name}: {fmt} images are not supported; use PNG, JPEG or WebP"
                )
            width, height = image.size
            if width * height > MAX_IMAGE_PIXELS:
                raise ImageError(
                    f"{name}: {width}x{height} is too many pixels "
                    f"(limit {MAX_IMAGE_PIXELS / 1e6:.0f} megapixels)"
                )
            image.load()
            image = ImageOps.exif_transpose(image)
        except UnidentifiedImageError as exc:
            raise ImageError(f"{name}: not an image (PNG, JPEG or WebP expected)") from exc
        except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
            raise ImageError(f"{name}: refused as a decompression bomb ({exc})") from exc
        except (OSError, SyntaxError, ValueError) as exc:
            raise ImageError(f"{name}: the image is corrupt or truncated ({exc})") from exc
    if min(image.size) < MIN_SIDE_PX:
        raise ImageError(f"{name}: {image.size[0]}x{image.size[1]} is too small; "
                         f"each side must be at least {MIN_SIDE_PX} px")
    return Portrait(rgb=_flatten_to_rgb(image), name=name, format=SUPPORTED_FORMATS[fmt])


def _flatten_to_rgb(image: Image.Image) -> np.ndarray:
    if image.mode in ("I", "I;16", "I;16B", "I;16L", "F"):
        # 16-bit or float greyscale: Pillow's own conversion clips it to white.
        values = np.asarray(image, dtype=np.float64)
        top = 65535.0 if image.mode.startswith("I;16") or values.max() > 255 else 255.0
        grey = np.clip(values / top * 255.0 + 0.5, 0, 255).astype(np.uint8)
        return np.ascontiguousarray(np.repeat(grey[..., None], 3, axis=2))
    if image.mode in ("RGBA", "LA", "PA") or (image.mode == "P" and "transparency" in image.info):
        rgba = image.convert("RGBA")
        background = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        image = Image.alpha_composite(background, rgba)
    return np.ascontiguousarray(np.asarray(image.convert("RGB"), dtype=np.uint8))
