"""The one image decoder of the product: every still (suspect photo, face check, footage still, frame export, CLI)
is read here, so every part sees the same pixels.

Conventions: decoded images are ``uint8`` BGR arrays shaped (H, W, 3), **upright**: the EXIF orientation a phone
writes instead of rotating the pixels is applied, so a face box found on the decoded image refers to the photo as a
person (and a browser) sees it. Alpha is dropped (the colour underneath is kept), grey and palette images become
three equal or looked-up channels, 16-bit images keep their top 8 bits, CMYK is converted by Pillow.

Nothing is decoded before its size is known: the header is read first and an image over ``max_pixels`` (a
decompression bomb: 40,000 x 40,000 pixels in a 190 KB PNG) is refused with :class:`ImageDecodeError` before a
byte of pixel memory is allocated. Every refusal is an :class:`ImageDecodeError` (a ``ValueError``) whose message
a person can act on. :func:`as_bgr_image` is the matching guard for arrays handed to the library's entry points.
"""

from __future__ import annotations

import io
import os
import re
import struct
import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import cv2
import numpy as np

MAX_PIXELS = 50_000_000  # 8K video frames are 33 MP, 48 MP phone photos fit; 12,000 x 9,000 (108 MP) does not
MAX_FRAMES = 10_000  # frames of an animated still (GIF, WebP) we agree to count

_ORIENTATION_TAG = 0x0112

Source = str | os.PathLike[str] | bytes


class ImageDecodeError(ValueError):
    """The file is not an image we can read, or too large to read safely. The message says which, for a person."""


class UnknownImageFormat(ImageDecodeError):
    """No image format recognises the file (it may be a video, or not media at all)."""


@dataclass(frozen=True)
class ImageInfo:
    width: int  # upright, after the EXIF orientation
    height: int
    format: str  # Pillow's name: "JPEG", "PNG", "GIF", "WEBP", ...
    mode: str
    frames: int  # 1 for a still; an animated GIF/WebP has more
    orientation: int  # EXIF orientation tag (1 = stored upright)

    @property
    def content_type(self) -> str:
        from PIL import Image

        return Image.MIME.get(self.format, f"image/{self.format.lower() or 'unknown'}")

    @property
    def animated(self) -> bool:
        return self.frames > 1


def _open(source: Source) -> Any:
    from PIL import Image, UnidentifiedImageError

    handle: Any = io.BytesIO(source) if isinstance(source, bytes | bytearray) else Path(source)
    if isinstance(source, bytes | bytearray) and not source:
        raise UnknownImageFormat("not an image: the file is empty")
    try:
        with warnings.catch_warnings():
            # Our own pixel limit below is stricter than Pillow's warning; Pillow's hard limit stays an error.
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            return Image.open(handle)
    except Image.DecompressionBombError as exc:
        raise ImageDecodeError(_bomb_message(exc)) from exc
    except FileNotFoundError as exc:
        raise ImageDecodeError("image file not found") from exc
    except UnidentifiedImageError as exc:
        raise UnknownImageFormat("not a readable image (unknown or unsupported format)") from exc
    except (OSError, SyntaxError, ValueError, EOFError, struct.error) as exc:
        raise ImageDecodeError(f"not a readable image ({_reason(exc)})") from exc


def _bomb_message(exc: BaseException) -> str:
    found = re.search(r"\((\d+) pixels\)", str(exc))
    declared = f"{int(found.group(1)) / 1e6:,.0f} megapixels" if found else "too many pixels"
    return f"image declares {declared}; the limit is {MAX_PIXELS / 1e6:.0f} megapixels (a decompression bomb?)"


def _reason(exc: BaseException) -> str:
    text = str(exc).replace(str(Path.cwd()), "").strip()
    return text[:200] or type(exc).__name__


def _orientation(image: Any) -> int:
    try:
        value = int(image.getexif().get(_ORIENTATION_TAG, 1))
    except Exception:  # a broken EXIF block is not a broken image: treat it as upright
        return 1
    return value if 1 <= value <= 8 else 1


def _count_frames(image: Any) -> int:
    if not getattr(image, "is_animated", False):
        return 1
    try:
        frames = int(getattr(image, "n_frames", 1))
    except (OSError, ValueError, EOFError, SyntaxError) as exc:
        raise ImageDecodeError(f"animated image could not be read ({_reason(exc)})") from exc
    if frames > MAX_FRAMES:
        raise ImageDecodeError(f"animated image has {frames} frames; the limit is {MAX_FRAMES}")
    return frames


def _check_size(width: int, height: int, max_pixels: int) -> None:
    if width <= 0 or height <= 0:
        raise ImageDecodeError(f"image declares no pixels ({width} x {height})")
    if width * height > max_pixels:
        raise ImageDecodeError(
            f"image is {width:,} x {height:,} pixels ({width * height / 1e6:.0f} megapixels); "
            f"the limit is {max_pixels / 1e6:.0f} megapixels"
        )


def inspect_image(source: Source, *, max_pixels: int = MAX_PIXELS) -> ImageInfo:
    """What the header says (upright size, format, frames) without decoding pixels; :class:`ImageDecodeError` if bad."""
    image = _open(source)
    with image:
        width, height = image.size
        _check_size(width, height, max_pixels)
        orientation = _orientation(image)
        if orientation in (5, 6, 7, 8):  # a quarter turn swaps the sides
            width, height = height, width
        return ImageInfo(width, height, image.format or "", image.mode, _count_frames(image), orientation)


def _to_bgr(image: Any) -> np.ndarray:
    """Pillow image (any mode) -> uint8 BGR (H, W, 3)."""
    mode = image.mode
    if mode in ("I;16", "I;16B", "I;16L", "I;16N", "I"):
        array = np.asarray(image)
        if mode == "I":  # 32-bit ints: Pillow gives 16-bit PNG data this way; keep the top 8 of 16 bits
            array = np.clip(array, 0, 65535)
        grey = (array.astype(np.uint32) >> 8).astype(np.uint8)
        return cv2.cvtColor(np.ascontiguousarray(grey), cv2.COLOR_GRAY2BGR)
    if mode == "F":
        grey = np.clip(np.nan_to_num(np.asarray(image, dtype=np.float32)), 0, 255).astype(np.uint8)
        return cv2.cvtColor(np.ascontiguousarray(grey), cv2.COLOR_GRAY2BGR)
    if mode != "RGB":
        image = image.convert("RGB")  # palette, grey, CMYK, YCbCr, LA, RGBA (alpha dropped), 1-bit
    return cv2.cvtColor(np.asarray(image), cv2.COLOR_RGB2BGR)


def decode_image(source: Source, *, max_pixels: int = MAX_PIXELS) -> np.ndarray:
    """Decode a still (the first frame of an animated one) to upright ``uint8`` BGR. Raises :class:`ImageDecodeError`.

    ``source`` is a path or the file's bytes.
    """
    from PIL import Image, ImageOps

    image = _open(source)
    with image:
        _check_size(image.size[0], image.size[1], max_pixels)
        try:
            image.load()  # decode every pixel now: a truncated file fails here, not later in the pipeline
            upright = ImageOps.exif_transpose(image) if _orientation(image) != 1 else image
            return _to_bgr(upright)
        except Image.DecompressionBombError as exc:
            raise ImageDecodeError(_bomb_message(exc)) from exc
        except (OSError, SyntaxError, ValueError, EOFError, struct.error) as exc:
            raise ImageDecodeError(f"image could not be decoded ({_reason(exc)})") from exc


def as_image(image: Any, *, name: str = "image", grey_ok: bool = False, min_side: int = 1) -> np.ndarray:
    """Check an array handed to an entry point of the library: ``uint8`` BGR shaped (H, W, 3) (or grey (H, W) with
    ``grey_ok``), at least ``min_side`` pixels each way. Returns it; raises ``ValueError`` saying what was wrong, so
    that no array reaches OpenCV, dlib or TensorFlow in a form they would fail on obscurely (or crash on)."""
    layout = "uint8 BGR array shaped (H, W, 3)" + (" or grey (H, W)" if grey_ok else "")
    if not isinstance(image, np.ndarray):
        raise ValueError(f"{name} must be a numpy {layout}, got {type(image).__name__}")
    if image.dtype != np.uint8:
        raise ValueError(f"{name} must be a {layout}, got dtype {image.dtype}")
    if not ((image.ndim == 3 and image.shape[2] == 3) or (grey_ok and image.ndim == 2)):
        raise ValueError(f"{name} must be a {layout}, got shape {image.shape}")
    if image.shape[0] < min_side or image.shape[1] < min_side:
        raise ValueError(f"{name} is {image.shape[1]} x {image.shape[0]} pixels; at least {min_side} x {min_side} "
                         "is needed")
    return image


def as_box(box: Any, image: np.ndarray, *, name: str = "box") -> tuple[int, int, int, int]:
    """``(x, y, w, h)`` as ints, with a positive size and overlapping ``image``; else ``ValueError``."""
    try:
        x, y, w, h = (int(v) for v in box)
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be four integers (x, y, w, h), got {box!r}") from None
    height, width = image.shape[:2]
    if w <= 0 or h <= 0 or x >= width or y >= height or x + w <= 0 or y + h <= 0:
        raise ValueError(f"{name} {(x, y, w, h)} does not cover any pixel of the {width} x {height} image")
    return x, y, w, h


def iter_animation(source: Source, *, max_pixels: int = MAX_PIXELS) -> Iterator[tuple[float, np.ndarray]]:
    """The frames of an animated still (GIF, WebP, APNG) as ``(seconds from the start, BGR frame)``.

    A frame without a duration counts 100 ms (what browsers show), and none counts under 10 ms.
    """
    from PIL import ImageSequence

    image = _open(source)
    with image:
        _check_size(image.size[0], image.size[1], max_pixels)
        t = 0.0
        try:
            for frame in ImageSequence.Iterator(image):
                yield t, _to_bgr(frame.convert("RGB"))
                t += frame_seconds(frame)
        except (OSError, SyntaxError, ValueError, EOFError, struct.error) as exc:
            raise ImageDecodeError(f"animated image stopped decoding at {t:.2f} s ({_reason(exc)})") from exc


def frame_seconds(frame: Any) -> float:
    return max(float(frame.info.get("duration") or 100), 10.0) / 1000.0


def animation_durations(source: Source, *, max_pixels: int = MAX_PIXELS) -> list[float]:
    """Each frame's display time in seconds, read without converting pixels (for probing)."""
    image = _open(source)
    with image:
        _check_size(image.size[0], image.size[1], max_pixels)
        frames = _count_frames(image)
        durations = []
        try:
            for index in range(frames):
                image.seek(index)
                durations.append(frame_seconds(image))
        except (OSError, SyntaxError, ValueError, EOFError, struct.error) as exc:
            raise ImageDecodeError(f"animated image could not be read ({_reason(exc)})") from exc
        return durations
