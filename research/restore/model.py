"""The small-face restoration network: a residual CNN at the capture resolution with a x4 pixel-shuffle output.

Input: a face crop as captured (``uint8`` BGR scaled to [-1, 1]), any H x W. Output: (4H, 4W, 3) in [-1, 1]
(linear, clipped by the caller). Layout (EDSR-style, without batch norm): 3x3 conv to ``channels`` -> ``blocks``
residual blocks (conv-ReLU-conv plus the block input) -> 3x3 conv plus the head's output -> 3x3 conv to
3 * 4 * 4 channels -> pixel shuffle (depth to space) to 4x the size, added to the bilinear x4 upsampling of the
input, so the network predicts what bilinear interpolation misses (the brightness a dark crop lacks included).
Every convolution runs at the capture resolution: 48 channels x 6 blocks cost about 1.3 GFLOP for a 48 px crop.
"""

from __future__ import annotations

from typing import Any

SCALE = 4


def _pixel_shuffle(x: Any, scale: int) -> Any:
    """(N, H, W, C * s * s) -> (N, H * s, W * s, C), channel index (i * s + j) * C + c as in tf.nn.depth_to_space."""
    from keras import ops

    n, h, w = ops.shape(x)[0], ops.shape(x)[1], ops.shape(x)[2]
    c = x.shape[-1] // (scale * scale)
    x = ops.reshape(x, (n, h, w, scale, scale, c))
    x = ops.transpose(x, (0, 1, 3, 2, 4, 5))
    return ops.reshape(x, (n, h * scale, w * scale, c))


def build_model(channels: int = 48, blocks: int = 6) -> Any:
    import keras
    from keras import layers

    inp = keras.Input(shape=(None, None, 3), name="crop")
    head = layers.Conv2D(channels, 3, padding="same", name="head")(inp)
    x = head
    for i in range(blocks):
        y = layers.Conv2D(channels, 3, padding="same", activation="relu", name=f"block{i}_a")(x)
        y = layers.Conv2D(channels, 3, padding="same", name=f"block{i}_b")(y)
        x = layers.Add(name=f"block{i}_add")([x, y])
    x = layers.Conv2D(channels, 3, padding="same", name="body_tail")(x)
    x = layers.Add(name="body_skip")([x, head])
    # zero-initialised: training starts from the bilinear upsampling instead of bilinear plus random noise
    x = layers.Conv2D(3 * SCALE * SCALE, 3, padding="same", kernel_initializer="zeros", name="to_subpixels")(x)
    x = layers.Lambda(lambda t: _pixel_shuffle(t, SCALE), name="pixel_shuffle")(x)
    up = layers.UpSampling2D(SCALE, interpolation="bilinear", name="bilinear_x4")(inp)
    out = layers.Add(name="residual")([up, x])
    return keras.Model(inp, out, name="restore_face_x4")
