"""Writing images as evidence: lossless PNG of a ``uint8`` BGR (or grey) array.

Reading is ``enhancement.imageio`` (the product's one decoder: EXIF orientation applied, size-checked before any
pixel is allocated, every mode to ``uint8`` BGR); this module no longer decodes, so no second path can see different
pixels.
"""

from __future__ import annotations

import cv2
import numpy as np


def encode_png(image: np.ndarray) -> bytes:
    """Lossless PNG bytes of a ``uint8`` BGR (or grey) image: how crops and photos are stored as evidence."""
    ok, buf = cv2.imencode(".png", image)
    if not ok:
        raise ValueError(f"could not encode a {image.shape} image as PNG")
    return buf.tobytes()
