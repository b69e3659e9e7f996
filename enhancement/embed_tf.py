"""dlib's face recognition ResNet run in TensorFlow, with dlib's own weights, for batched speed.

Conventions: input chips are the aligned 150x150 **RGB** ``uint8`` chips of ``enhancement.embed.aligned_chips``;
output rows are the same 128-d descriptors dlib computes (checked against dlib to 1e-4 in the tests).

The weights are read straight from ``dlib_face_recognition_resnet_model_v1.dat`` (the file shipped in the
``face-recognition-models`` wheel), so nothing new is stored or downloaded. The file is dlib's serialisation of the
network, innermost layer first: each layer is a name string followed by its fields. Integers are written as one
header byte (low 4 bits: byte count, 0x80: negative) and that many little-endian bytes; parameter tensors as a
version (2), four dimensions, then raw little-endian float32. We read only what the forward pass needs:

- ``input_rgb_image_sized``: per-channel means; dlib feeds (pixel - mean) / 256.
- ``con_4``: params = filters (out, in, rows, cols) then biases; then out, rows, cols, strides, paddings.
- ``affine_``: params = gamma then beta (batch norm folded into a per-channel scale and shift).
- ``max_pool_2`` / ``avg_pool_2``: window, stride, padding (a 0x0 window means "average everything").
- ``fc_2``: params (inputs x outputs), no bias.
- ``relu_``, ``add_prev_``: no fields. Residual ``add_prev`` adds tensors of different shapes by zero-padding the
  smaller one at the end of each dimension (channels, rows, columns), which is what happens at the stride-2 blocks
  here (e.g. a 3x3 block output plus a 4x4 average-pooled shortcut).

Network (from the layer sequence): 7x7/2 conv 32 -> max pool 3/2 -> 3 blocks of 32, 4 of 64, 3 of 128, 3 of 256,
1 of 256 (the first of each group after the first is a stride-2 block whose shortcut is a 2x2 average pool) ->
global average -> 128-d linear layer.
"""

from __future__ import annotations

import re
from functools import cache
from typing import Any

import numpy as np

from .dlib_models import model_path

LAYER_NAMES = re.compile(rb"(input_rgb_image_sized|con_4|affine_|relu_|max_pool_2|avg_pool_2|add_prev_|fc_2)")


class _Reader:
    def __init__(self, data: bytes, pos: int):
        self.data, self.pos = data, pos

    def int(self) -> int:
        head = self.data[self.pos]
        size = head & 0x0F
        value = int.from_bytes(self.data[self.pos + 1:self.pos + 1 + size], "little")
        self.pos += 1 + size
        return -value if head & 0x80 else value

    def string(self) -> str:
        size = self.int()
        text = self.data[self.pos:self.pos + size].decode("ascii")
        self.pos += size
        return text

    def float(self) -> float:
        mantissa = self.int()
        return mantissa * 2.0 ** self.int()

    def tensor(self) -> np.ndarray:
        version = self.int()
        if version != 2:
            raise ValueError(f"unsupported dlib tensor version {version}")
        shape = [self.int() for _ in range(4)]
        count = int(np.prod(shape))
        values = np.frombuffer(self.data, "<f4", count, self.pos).copy()
        self.pos += 4 * count
        return values


def parse_layers(data: bytes) -> list[dict[str, Any]]:
    """The network's layers in forward order with their parameters as NumPy arrays."""
    layers = []
    for found in LAYER_NAMES.finditer(data):
        reader = _Reader(data, found.start() - 2)  # the 2-byte length header precedes each name
        if reader.string() != found.group().decode():
            continue  # the bytes happened to spell a layer name inside some parameter block
        name = found.group().decode()
        if name == "input_rgb_image_sized":
            layers.append({"type": "input", "mean": np.array([reader.float() for _ in range(3)], np.float32)})
        elif name == "con_4":
            params = reader.tensor()
            out, rows, cols, sy, sx, py, px = (reader.int() for _ in range(7))
            n_w = params.size - out
            filters = params[:n_w].reshape(out, n_w // (out * rows * cols), rows, cols)
            layers.append({"type": "conv", "kernel": filters.transpose(2, 3, 1, 0).copy(), "bias": params[n_w:],
                           "stride": (sy, sx), "padding": (py, px)})
        elif name == "affine_":
            params = reader.tensor()
            half = params.size // 2
            layers.append({"type": "affine", "gamma": params[:half], "beta": params[half:]})
        elif name in ("max_pool_2", "avg_pool_2"):
            rows, cols, sy, sx, py, px = (reader.int() for _ in range(6))
            layers.append({"type": name[:3] + "_pool", "window": (rows, cols), "stride": (sy, sx),
                           "padding": (py, px)})
        elif name == "fc_2":
            outputs, inputs = reader.int(), reader.int()
            layers.append({"type": "fc", "weights": reader.tensor().reshape(inputs, outputs)})
        else:
            layers.append({"type": name.rstrip("_")})
    return layers


def dlib_layers() -> list[dict[str, Any]]:
    """The layers of the shipped dlib model file, checked to be the network described above."""
    layers = parse_layers(model_path("resnet").read_bytes())
    if [layer["type"] for layer in layers][:2] != ["input", "conv"] or layers[-1]["type"] != "fc":
        raise RuntimeError("unexpected layer sequence in the dlib face recognition model")
    return layers


def block_starts(body: list[dict[str, Any]]) -> set[int]:
    """Indices (in the layers after the input) of the convs that open a residual block: right after the stem's max
    pool, or after a block's closing add + relu."""
    return {i for i, layer in enumerate(body) if layer["type"] == "conv" and i >= 2
            and (body[i - 1]["type"] == "max_pool" or body[i - 2]["type"] == "add_prev")}


@cache
def _network() -> tuple[Any, np.ndarray]:
    import tensorflow as tf

    layers = dlib_layers()
    mean = layers[0]["mean"]
    body = layers[1:]
    consts = [{k: tf.constant(v) if isinstance(v, np.ndarray) else v for k, v in layer.items()} for layer in body]

    def conv(x: Any, layer: dict[str, Any]) -> Any:
        py, px = layer["padding"]
        if py or px:
            x = tf.pad(x, [[0, 0], [py, py], [px, px], [0, 0]])
        return tf.nn.conv2d(x, layer["kernel"], strides=(1, *layer["stride"], 1), padding="VALID") + layer["bias"]

    def pool(x: Any, layer: dict[str, Any]) -> Any:
        if layer["window"] == (0, 0):  # avg_pool_everything
            return tf.reduce_mean(x, axis=(1, 2))
        op = tf.nn.max_pool2d if layer["type"] == "max_pool" else tf.nn.avg_pool2d
        return op(x, layer["window"], strides=layer["stride"], padding="VALID")

    def add_padded(a: Any, b: Any) -> Any:
        shape = tf.maximum(tf.shape(a), tf.shape(b))

        def grow(t: Any) -> Any:
            return tf.pad(t, tf.stack([tf.zeros(4, tf.int32), shape - tf.shape(t)], axis=1))

        return grow(a) + grow(b)

    starts = block_starts(body)

    @tf.function(reduce_retracing=True)
    def forward(chips: Any) -> Any:
        x = (tf.cast(chips, tf.float32) - mean) / 256.0
        block_input, pooled_shortcut = None, None
        for i, layer in enumerate(consts):
            kind = layer["type"]
            if kind == "conv":
                if i in starts:
                    block_input, pooled_shortcut = x, None
                x = conv(x, layer)
            elif kind == "affine":
                x = x * layer["gamma"] + layer["beta"]
            elif kind == "relu":
                x = tf.nn.relu(x)
            elif kind in ("max_pool", "avg_pool"):
                if kind == "avg_pool" and layer["window"] != (0, 0):
                    pooled_shortcut = pool(block_input, layer)  # the shortcut of a stride-2 block
                else:
                    x = pool(x, layer)
            elif kind == "add_prev":
                x = add_padded(x, pooled_shortcut if pooled_shortcut is not None else block_input)
            elif kind == "fc":
                x = tf.matmul(x, layer["weights"])
        return x

    return forward, mean


def describe_chips_tf(chips: list[np.ndarray], batch: int = 32) -> np.ndarray:
    """128-d descriptors of aligned RGB 150x150 chips, computed in TensorFlow in batches."""
    if not chips:
        return np.zeros((0, 128), np.float32)
    forward, _ = _network()
    stacked = np.stack(chips).astype(np.uint8)
    out = [np.asarray(forward(stacked[i:i + batch])) for i in range(0, len(stacked), batch)]
    return np.concatenate(out).astype(np.float32)
