"""Run the shipped deblur generator on a ``uint8`` BGR image of any size.

The network needs height and width to be multiples of its stride (16 for the shipped model). We reflect-pad
the image up to the next multiple, run it, and crop back, so the output always has the input's size and no
resampling ever distorts the face (the old prototype resized to 256x256). The model is built from the
config that sits next to the training configs and loaded once per weights file (``functools.cache``), after
``verified_path`` has checked its sha256.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from ..weights import WEIGHTS_DIR, sha256_file, verified_path

DEFAULT_WEIGHTS = "deblur_face_s3i.weights.h5"
CONFIG_DIR = Path(__file__).resolve().parent / "configs"


@dataclass(frozen=True)
class LoadedGenerator:
    predict: Any  # tf.function: float32 (1, H, W, 3) in [-1, 1] -> same
    stride: int
    weights: str
    weights_sha256: str
    parameters: int


def config_for(weights: str) -> dict:
    """The training config of a shipped weights file (``deblur_x.weights.h5`` -> ``configs/deblur_x.json``)."""
    stem = weights.removesuffix(".weights.h5")
    return json.loads((CONFIG_DIR / f"{stem}.json").read_text())


@cache
def load_generator(weights: str = DEFAULT_WEIGHTS, weights_dir: str = str(WEIGHTS_DIR)) -> LoadedGenerator:
    path = verified_path(weights, Path(weights_dir))  # raises WeightsError naming file + expected sha256
    import tensorflow as tf

    from .model import GeneratorConfig, build_generator, stride

    config = GeneratorConfig.from_dict(config_for(weights)["generator"])
    model = build_generator(config)
    model.load_weights(path)
    predict = tf.function(lambda x: model(x, training=False),
                          input_signature=[tf.TensorSpec((None, None, None, 3), tf.float32)])
    return LoadedGenerator(predict=predict, stride=stride(config), weights=weights,
                           weights_sha256=sha256_file(path), parameters=model.count_params())


def pad_to_multiple(image: np.ndarray, multiple: int) -> tuple[np.ndarray, tuple[int, int]]:
    """Reflect-pad bottom/right so both sides are multiples of ``multiple``; returns the padded image and (h, w)."""
    h, w = image.shape[:2]
    ph, pw = (-h) % multiple, (-w) % multiple
    if ph or pw:
        # REFLECT_101 mirrors without repeating the edge pixel, and OpenCV keeps mirroring for tiny images.
        image = cv2.copyMakeBorder(image, 0, ph, 0, pw, cv2.BORDER_REFLECT_101)
    return image, (h, w)


def deblur_image(image: np.ndarray, weights: str = DEFAULT_WEIGHTS, weights_dir: str = str(WEIGHTS_DIR)) -> np.ndarray:
    """Deblur a ``uint8`` BGR (H, W, 3) image; returns ``uint8`` BGR of the same shape."""
    if image.dtype != np.uint8 or image.ndim != 3 or image.shape[2] != 3:
        raise ValueError(f"expected a uint8 BGR image (H, W, 3), got {image.dtype} {image.shape}")
    gen = load_generator(weights, weights_dir)
    padded, (h, w) = pad_to_multiple(image, gen.stride)
    x = padded.astype(np.float32)[None] / 127.5 - 1.0
    y = gen.predict(x).numpy()[0, :h, :w]
    return np.clip(np.rint((y + 1.0) * 127.5), 0, 255).astype(np.uint8)
