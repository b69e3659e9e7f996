"""Reading still images into the pipeline's convention, ``uint8`` BGR (H, W, 3): one path for files and bytes.

OpenCV decodes first (JPEG and PNG pixels are identical to Pillow's; OpenCV also applies the EXIF orientation);
what it refuses (palette or alpha PNGs it cannot read, formats it lacks) goes through Pillow, converted to RGB then
BGR. Alpha is dropped. ``None`` means the data is not an image either can read.
"""

from __future__ import annotations

import io
from pathlib import Path

import cv2
import numpy as np


def _via_pillow(source: str | Path | io.BytesIO) -> np.ndarray | None:
    try:
        from PIL import Image

        with Image.open(source) as im:
            return cv2.cvtColor(np.asarray(im.convert("RGB")), cv2.COLOR_RGB2BGR)
    except Exception:
        return None


def read_image(path: str | Path) -> np.ndarray | None:
    image = cv2.imread(str(path), cv2.IMREAD_COLOR)
    return image if image is not None else _via_pillow(path)


def decode_image(data: bytes) -> np.ndarray | None:
    if not data:
        return None
    image = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR)
    return image if image is not None else _via_pillow(io.BytesIO(data))


def encode_png(image: np.ndarray) -> bytes:
    """Lossless PNG bytes of a ``uint8`` BGR (or grey) image: how crops and photos are stored as evidence."""
    ok, buf = cv2.imencode(".png", image)
    if not ok:
        raise ValueError(f"could not encode a {image.shape} image as PNG")
    return buf.tobytes()
