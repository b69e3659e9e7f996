"""The degradation-robust probe embedder: dlib's face ResNet as a trainable Keras 3 model.

Same architecture, same input (aligned 150x150 RGB ``uint8`` chips from ``enhancement.embed.aligned_chips``) and
same 128-d output space as dlib's network (``enhancement.embed_tf`` runs the frozen original). The student starts
from dlib's weights and is fine-tuned by ``research.train_student`` so that its descriptor of a *degraded* face
lands where dlib's descriptor of the *clean* face lies; the gallery stays dlib's, so enrolment never changes.

Written with ``keras.ops`` only, so the same code trains under TensorFlow or JAX and runs here under TensorFlow.
``weights/embedder_student.weights.h5`` holds the fine-tuned variables in the order ``DlibResNet.variable_specs``
lists them; ``load_student()`` checks its sha256 against ``weights/manifest.json`` before use.
"""

from __future__ import annotations

import os
from functools import cache
from typing import Any

import numpy as np

from .embed_tf import block_starts, dlib_layers

STUDENT_WEIGHTS = "embedder_student.weights.h5"
os.environ.setdefault("KERAS_BACKEND", "tensorflow")


def build_student(layers: list[dict[str, Any]] | None = None) -> Any:
    """A Keras model (150x150x3 float input in 0..255, RGB) initialised with dlib's weights."""
    import keras

    layers = layers if layers is not None else dlib_layers()
    inputs = keras.Input((150, 150, 3), dtype="float32")
    outputs = DlibResNet(layers)(inputs)
    return keras.Model(inputs, outputs, name="embedder_student")


def _make_layer_class() -> type:
    import keras
    from keras import ops

    class _DlibResNet(keras.layers.Layer):
        """dlib's ResNet: convs with explicit zero padding, folded batch norm (scale, shift), residual adds that
        zero-pad the smaller tensor at the end of each axis, a global average and a 128-d linear layer."""

        def __init__(self, layers: list[dict[str, Any]], **kwargs: Any):
            super().__init__(**kwargs)
            self.mean = np.asarray(layers[0]["mean"], np.float32)
            self.body = [{k: v for k, v in layer.items() if not isinstance(v, np.ndarray)} for layer in layers[1:]]
            self.starts = block_starts(layers[1:])
            self.params: list[dict[str, Any]] = []
            for i, layer in enumerate(layers[1:]):
                entry: dict[str, Any] = {}
                for key in ("kernel", "bias", "gamma", "beta", "weights"):
                    if key in layer:
                        value = np.asarray(layer[key], np.float32)
                        entry[key] = self.add_weight(
                            name=f"l{i}_{key}", shape=value.shape,
                            initializer=keras.initializers.Constant(value), trainable=True)
                self.params.append(entry)

        def call(self, x: Any) -> Any:
            x = (x - self.mean) / 256.0
            block_input, shortcut = None, None
            for i, (layer, p) in enumerate(zip(self.body, self.params, strict=True)):
                kind = layer["type"]
                if kind == "conv":
                    if i in self.starts:
                        block_input, shortcut = x, None
                    py, px = layer["padding"]
                    if py or px:
                        x = ops.pad(x, [[0, 0], [py, py], [px, px], [0, 0]])
                    x = ops.conv(x, p["kernel"], strides=layer["stride"], padding="valid") + p["bias"]
                elif kind == "affine":
                    x = x * p["gamma"] + p["beta"]
                elif kind == "relu":
                    x = ops.relu(x)
                elif kind in ("max_pool", "avg_pool"):
                    if layer["window"] == (0, 0):
                        x = ops.mean(x, axis=(1, 2))
                    elif kind == "avg_pool":
                        shortcut = ops.average_pool(block_input, layer["window"], layer["stride"], padding="valid")
                    else:
                        x = ops.max_pool(x, layer["window"], layer["stride"], padding="valid")
                elif kind == "add_prev":
                    other = shortcut if shortcut is not None else block_input
                    x = _add_padded(x, other)
                elif kind == "fc":
                    x = ops.matmul(x, p["weights"])
            return x

        def compute_output_shape(self, input_shape: Any) -> tuple:
            return (input_shape[0], 128)

    def _add_padded(a: Any, b: Any) -> Any:
        sa, sb = a.shape[1:], b.shape[1:]
        target = [max(u, v) for u, v in zip(sa, sb, strict=True)]

        def grow(t: Any, shape: Any) -> Any:
            pads = [[0, 0]] + [[0, int(n - s)] for n, s in zip(target, shape, strict=True)]
            return ops.pad(t, pads) if any(p[1] for p in pads) else t

        return grow(a, sa) + grow(b, sb)

    return _DlibResNet


@cache
def _layer_class() -> type:
    return _make_layer_class()


def DlibResNet(layers: list[dict[str, Any]], **kwargs: Any) -> Any:  # noqa: N802 - a layer constructor
    return _layer_class()(layers, **kwargs)


@cache
def load_student() -> Any:
    """The fine-tuned student with the shipped weights (sha256-checked); raises ``WeightsError`` if absent."""
    from .weights import verified_path

    model = build_student()
    model.load_weights(str(verified_path(STUDENT_WEIGHTS)))
    return model


@cache
def _inference(model: Any) -> Any:
    """The model's forward pass as one TensorFlow graph (any batch size, traced once): ~3x faster per face than
    calling the Keras model eagerly op by op (15 vs 44 ms for one chip on these CPUs). Other Keras backends (JAX,
    for training on a GPU) call the model as it is."""
    import keras

    if keras.backend.backend() != "tensorflow":
        return lambda x: model(x, training=False)
    import tensorflow as tf

    @tf.function(input_signature=[tf.TensorSpec([None, 150, 150, 3], tf.float32)])
    def forward(x: Any) -> Any:
        return model(x, training=False)

    return forward


def describe_chips_student(chips: list[np.ndarray], batch: int = 32, model: Any = None) -> np.ndarray:
    """128-d descriptors of aligned RGB 150x150 chips by the student, in dlib's descriptor space."""
    if not chips:
        return np.zeros((0, 128), np.float32)
    forward = _inference(model if model is not None else load_student())
    stacked = np.stack(chips).astype(np.float32)
    out = [np.asarray(forward(stacked[i:i + batch])) for i in range(0, len(stacked), batch)]
    return np.concatenate(out).astype(np.float32)
