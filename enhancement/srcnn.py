"""SRCNN super-resolution (Dong, Loy, He, Tang, TPAMI 2015) with our own trained weights.

Conventions: images in and out of :func:`srcnn_step` are ``uint8`` BGR (H, W, 3); the network works on the
luma (Y of BT.601 YCbCr, MATLAB ``rgb2ycbcr``) scaled to [0, 1], shaped (N, H, W, 1).

The network is the paper's 9-5-5 variant (64 and 32 filters) with 'same' padding. Unlike the paper it predicts
the *residual* over the bicubic image (output = bicubic + f(bicubic)), which converges far faster with Adam; the
architecture and receptive field are unchanged. Training saw only real image context (the loss skips a margin),
so at inference the input is mirror-padded by the receptive-field radius and cropped back, instead of letting
zero padding shape the borders. Colour: bicubic upscale of the whole image (MATLAB-style, as in training),
network on Y, bicubic CbCr kept, as in the paper.

Models load lazily, once per weights file (``functools.cache``); importing this module does not import TensorFlow.
"""

from __future__ import annotations

from functools import cache
from typing import Any

import numpy as np

from .bicubic import bgr_to_ycbcr, imresize, ycbcr_to_bgr
from .provenance import StepRecord, StepTimer, make_record
from .weights import read_manifest, verified_path

RADIUS = 8  # receptive-field radius of 9-5-5: 4 + 2 + 2

# (model, scale) -> weights file, chosen from measurements (weights/srcnn_*.md, docs/benchmarks/srcnn.md); a file
# used at a scale it was not trained for says so in the record's notes.
# - general x2: the face x2/x4 model (Set5 x2 34.23 dB, bicubic 33.66); the x3 model over-sharpens at x2 (30.26).
# - general x4: the x3 model (Set5 x4 29.25 dB against 29.04 for the face x2/x4 model).
# - face x3: the general x3 model (held-out LFW x3 +1.86 dB over bicubic against +1.35 for the face x2/x4 model).
# - face x2 and x4: the single-scale face fine-tunes (the mixed x2/x4 model was -0.55 dB at x2 and +0.90 at x4).
WEIGHTS = {
    ("general", 2): "srcnn_face_x2x4.weights.h5",
    ("general", 3): "srcnn_general_x3.weights.h5",
    ("general", 4): "srcnn_general_x3.weights.h5",
    ("face", 2): "srcnn_face_x2.weights.h5",
    ("face", 3): "srcnn_general_x3.weights.h5",
    ("face", 4): "srcnn_face_x4.weights.h5",
}
TRAINED_SCALES = {"srcnn_general_x3.weights.h5": (3,), "srcnn_face_x2x4.weights.h5": (2, 4),
                  "srcnn_face_x4.weights.h5": (4,), "srcnn_face_x2.weights.h5": (2,)}


def build_model() -> Any:
    """The 9-5-5 SRCNN on one channel, residual over the (bicubic) input; any input size."""
    import keras
    from keras import layers

    inp = keras.Input(shape=(None, None, 1), name="bicubic_y")
    x = layers.Conv2D(64, 9, padding="same", activation="relu", name="patch_extraction")(inp)
    x = layers.Conv2D(32, 5, padding="same", activation="relu", name="nonlinear_mapping")(x)
    x = layers.Conv2D(1, 5, padding="same", name="reconstruction")(x)
    out = layers.Add(name="residual")([inp, x])
    return keras.Model(inp, out, name="srcnn_955")


@cache
def load_model(weights_name: str) -> Any:
    model = build_model()
    model.load_weights(str(verified_path(weights_name)))
    return model


def run_on_luma(model: Any, y_unit: np.ndarray) -> np.ndarray:
    """Apply the network to a bicubic-upscaled luma image in [0, 1] (H, W); returns float (H, W), unclipped."""
    padded = np.pad(y_unit, RADIUS, mode="symmetric").astype(np.float32)
    out = model(padded[None, :, :, None], training=False)
    out = np.asarray(out)[0, :, :, 0]
    return out[RADIUS:-RADIUS, RADIUS:-RADIUS].astype(np.float64)


def run_on_luma_ensemble(model: Any, y_unit: np.ndarray) -> np.ndarray:
    """Geometric self-ensemble (Timofte et al., CVPR 2016): mean of the 8 flips/rotations, each undone.

    Same weights, 8x the compute; reported separately from the single pass in the benchmark.
    """
    outs = []
    for turns in range(4):
        for flip in (False, True):
            x = np.rot90(y_unit, turns)
            x = x[:, ::-1] if flip else x
            y = run_on_luma(model, np.ascontiguousarray(x))
            y = y[:, ::-1] if flip else y
            outs.append(np.rot90(y, -turns))
    return np.mean(outs, axis=0)


def upscale_bgr(image: np.ndarray, scale: int, model: Any) -> np.ndarray:
    """Bicubic upscale in YCbCr, network on Y, bicubic CbCr kept; uint8 BGR of size (h*scale, w*scale)."""
    ycc = imresize(bgr_to_ycbcr(image), float(scale))
    y = run_on_luma(model, ycc[..., 0] / 255.0)
    ycc[..., 0] = np.clip(y, 0.0, 1.0) * 255.0
    return ycbcr_to_bgr(ycc)


def srcnn_step(image: np.ndarray, params: dict[str, Any]) -> tuple[np.ndarray, StepRecord]:
    """Pipeline step: ``params = {"scale": 2|3|4, "model": "general"|"face"}`` (defaults 2, "general")."""
    scale = int(params.get("scale", 2))
    kind = str(params.get("model", "general"))
    if (kind, scale) not in WEIGHTS:
        raise ValueError(f"srcnn: unsupported model/scale {kind!r} x{scale}; choose from {sorted(WEIGHTS)}")
    if image.ndim != 3 or image.shape[2] != 3 or image.dtype != np.uint8:
        raise ValueError(f"srcnn: expected uint8 BGR (H, W, 3), got {image.dtype} {image.shape}")
    name = WEIGHTS[(kind, scale)]
    verified_path(name)  # refuses a missing or altered file before any output is made
    digest = read_manifest()[name]
    with StepTimer() as timer:
        out = upscale_bgr(image, scale, load_model(name))
    trained = TRAINED_SCALES[name]
    notes = "" if scale in trained else f"{name} was trained for x{'/x'.join(map(str, trained))}, applied at x{scale}"
    record = make_record("srcnn", {"scale": scale, "model": kind}, image, out, timer.elapsed_ms, ai_enhanced=True,
                         weights=name, weights_sha256=digest, notes=notes)
    return out, record
