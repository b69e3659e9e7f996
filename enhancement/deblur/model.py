"""DeblurGAN-v2-style generator (FPN on a MobileNetV2-style backbone) and the double-scale discriminator.

Tensors are NHWC float32 in [-1, 1] (``uint8`` BGR / 127.5 - 1); colour order is whatever the caller feeds (the
shipped model is trained on BGR). The generator is fully convolutional; its input height and width must be
multiples of ``stride(config)`` (``inference.py`` reflect-pads to that and crops back).

Structure, after Kupyn et al. (ICCV 2019), "fast" variant, scaled down for 2 CPU cores:
- reflection padding at the input (so the first convolutions see mirrored image content, not zeros);
- backbone: a strided stem, then stages of inverted-residual blocks (expand 1x1, depthwise 3x3, project 1x1,
  skip when shapes match) at 1/2, 1/4, 1/8, 1/16 ... resolution, with instance normalisation;
- FPN: lateral 1x1 convolutions, a top-down path with nearest upsampling, a small head per level, all heads
  upsampled to 1/4 and concatenated, smoothed, then upsampled twice with the 1/2-resolution features added;
- ``tanh`` residual added to the input (global skip) and clipped to [-1, 1].
The code is our own.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

import keras
from keras import layers, ops


@dataclass(frozen=True)
class GeneratorConfig:
    stem_channels: int = 16
    stage_channels: tuple[int, ...] = (24, 32, 64)  # one stage per extra pyramid level below 1/2
    stage_blocks: tuple[int, ...] = (1, 2, 2)
    expansion: int = 4
    fpn_channels: int = 48
    head_channels: int = 32
    full_res_channels: int = 24  # 0 gives the paper's decoder; see build_generator for why we add this
    pad: int = 8  # reflection padding added at the input and cropped away (2 * pad must be a multiple of stride)

    @classmethod
    def from_dict(cls, data: dict) -> GeneratorConfig:
        data = dict(data)
        for key in ("stage_channels", "stage_blocks"):
            if key in data:
                data[key] = tuple(data[key])
        return cls(**data)

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass(frozen=True)
class DiscriminatorConfig:
    channels: int = 32
    patch_layers: int = 3
    global_layers: int = 5
    extra: dict = field(default_factory=dict)


def stride(config: GeneratorConfig) -> int:
    """Input sizes (after the model's own input padding) must be multiples of this."""
    return 2 ** (1 + len(config.stage_channels))


class ReflectionPad(layers.Layer):
    def __init__(self, pad: int, **kwargs):
        super().__init__(**kwargs)
        self.pad = pad

    def call(self, x):
        p = self.pad
        return ops.pad(x, [[0, 0], [p, p], [p, p], [0, 0]], mode="reflect")

    def get_config(self):
        return {**super().get_config(), "pad": self.pad}


class Crop(layers.Layer):
    def __init__(self, pad: int, **kwargs):
        super().__init__(**kwargs)
        self.pad = pad

    def call(self, x):
        p = self.pad
        return x[:, p:-p, p:-p, :] if p else x

    def get_config(self):
        return {**super().get_config(), "pad": self.pad}


def _norm(name: str) -> layers.Layer:
    # GroupNormalization with groups=-1 is instance normalisation (one group per channel).
    return layers.GroupNormalization(groups=-1, epsilon=1e-5, name=name)


def _conv_norm_act(x, channels: int, kernel: int, stride_: int, name: str):
    x = layers.Conv2D(channels, kernel, strides=stride_, padding="same", use_bias=False, name=f"{name}_conv")(x)
    x = _norm(f"{name}_in")(x)
    return layers.ReLU(6.0, name=f"{name}_relu")(x)


def _inverted_residual(x, channels: int, stride_: int, expansion: int, name: str):
    inp = x
    in_ch = x.shape[-1]
    x = layers.Conv2D(in_ch * expansion, 1, use_bias=False, name=f"{name}_expand")(x)
    x = _norm(f"{name}_expand_in")(x)
    x = layers.ReLU(6.0)(x)
    x = layers.DepthwiseConv2D(3, strides=stride_, padding="same", use_bias=False, name=f"{name}_dw")(x)
    x = _norm(f"{name}_dw_in")(x)
    x = layers.ReLU(6.0)(x)
    x = layers.Conv2D(channels, 1, use_bias=False, name=f"{name}_project")(x)
    x = _norm(f"{name}_project_in")(x)
    if stride_ == 1 and in_ch == channels:
        x = layers.Add(name=f"{name}_add")([inp, x])
    return x


def build_generator(config: GeneratorConfig = GeneratorConfig()) -> keras.Model:
    if (2 * config.pad) % stride(config):
        raise ValueError(f"2 * pad ({2 * config.pad}) must be a multiple of the stride {stride(config)}")
    inp = keras.Input((None, None, 3), name="blurred")
    padded = ReflectionPad(config.pad, name="reflect_pad")(inp) if config.pad else inp
    x = padded
    # 1/2 resolution: stem + one non-expanding block, kept as the finest skip feature (DeblurGAN-v2's enc0).
    x = _conv_norm_act(x, config.stem_channels, 3, 2, "stem")
    enc0 = x
    features = []
    for s, (ch, blocks) in enumerate(zip(config.stage_channels, config.stage_blocks, strict=True)):
        for b in range(blocks):
            x = _inverted_residual(x, ch, 2 if b == 0 else 1, config.expansion, f"s{s}b{b}")
        features.append(x)  # 1/4, 1/8, 1/16, ...
    f = config.fpn_channels
    laterals = [layers.Conv2D(f, 1, name=f"lateral{i}")(feat) for i, feat in enumerate(features)]
    top_down = [laterals[-1]]
    for i in range(len(laterals) - 2, -1, -1):
        up = layers.UpSampling2D(2, interpolation="nearest")(top_down[0])
        merged = layers.Add()([up, laterals[i]])
        top_down.insert(0, _conv_norm_act(merged, f, 3, 1, f"td{i}"))
    heads = []
    for i, level in enumerate(top_down):
        h = _conv_norm_act(level, config.head_channels, 3, 1, f"head{i}")
        if i:
            h = layers.UpSampling2D(2**i, interpolation="nearest")(h)  # every head to 1/4 resolution
        heads.append(h)
    x = layers.Concatenate()(heads) if len(heads) > 1 else heads[0]
    x = _conv_norm_act(x, f, 3, 1, "smooth")
    x = layers.UpSampling2D(2, interpolation="nearest")(x)  # 1/2
    x = _conv_norm_act(x, config.stem_channels, 3, 1, "smooth2")
    x = layers.Add()([x, enc0])
    x = layers.UpSampling2D(2, interpolation="nearest")(x)  # full resolution
    if config.full_res_channels:
        # Our addition: the paper's decoder sees full resolution only through 1/2-resolution features, and in a
        # first short CPU run (1,000 steps) the model lost 0.7 dB on mildly blurred faces. A shallow full-resolution
        # branch from the input, without normalisation (so absolute intensities pass through), gives the residual
        # head the exact pixel phase of edges at a small cost.
        # Leaky ReLU: in a run with plain ReLU here the branch died and the residual collapsed to zero.
        full = layers.Conv2D(config.stem_channels, 3, padding="same", name="full_res_in")(padded)
        x = layers.Concatenate()([x, layers.LeakyReLU(0.2)(full)])
        x = layers.Conv2D(config.full_res_channels, 3, padding="same", name="full_res_1")(x)
        x = layers.LeakyReLU(0.2)(x)
        x = layers.Conv2D(config.full_res_channels, 3, padding="same", name="full_res_2")(x)
        x = layers.LeakyReLU(0.2)(x)
    else:
        x = _conv_norm_act(x, config.stem_channels, 3, 1, "final")
    residual = layers.Conv2D(3, 3, padding="same", activation="tanh", name="residual")(x)
    if config.pad:
        residual = Crop(config.pad, name="crop")(residual)
    out = layers.Add(name="global_skip")([inp, residual])
    out = layers.Activation(lambda t: ops.clip(t, -1.0, 1.0), name="clip")(out)
    return keras.Model(inp, out, name="deblur_generator")


def _disc_stack(x, channels: int, n_layers: int, name: str):
    # PatchGAN-style: strided 4x4 convolutions, leaky ReLU, instance norm after the first layer.
    for i in range(n_layers):
        ch = channels * min(2**i, 8)
        x = layers.Conv2D(ch, 4, strides=2, padding="same", name=f"{name}_c{i}")(x)
        if i:
            x = _norm(f"{name}_in{i}")(x)
        x = layers.LeakyReLU(0.2)(x)
    return x


def build_discriminators(config: DiscriminatorConfig = DiscriminatorConfig()) -> tuple[keras.Model, keras.Model]:
    """(patch, global) discriminators: a map of local realness scores and one score for the whole image."""
    inp = keras.Input((None, None, 3))
    x = _disc_stack(inp, config.channels, config.patch_layers, "patch")
    x = layers.Conv2D(1, 3, padding="same", name="patch_out")(x)
    patch = keras.Model(inp, x, name="patch_discriminator")
    inp2 = keras.Input((None, None, 3))
    y = _disc_stack(inp2, config.channels, config.global_layers, "global")
    y = layers.GlobalAveragePooling2D()(y)
    y = layers.Dense(1, name="global_out")(y)
    full = keras.Model(inp2, y, name="global_discriminator")
    return patch, full
