"""Keras 3 model factories (functional API): SRCNN, FSRCNN, ESPCN, VDSR, SRResNet/SRGAN generator,
discriminator, VGG54.

Every model takes float32 RGB NHWC in [0, 1] and returns [0, 1] (values may overshoot; callers
clip). Imports Keras at module top: import this module lazily.
"""

from __future__ import annotations

import keras
from keras import layers

from srviewer.core.layers import BicubicUpsample, PixelShuffle, VGGPreprocess
from srviewer.errors import ModelFileError


def srcnn(f1: int = 9, f2: int = 5, f3: int = 5, n1: int = 64, n2: int = 32) -> keras.Model:
    """Dong et al. SRCNN (f1-f2-f3, n1/n2 filters), 'same' padding.

    In: the bicubic-upscaled image, (N, H, W, 3) RGB [0, 1]; out: same size, RGB [0, 1].
    """
    inp = keras.Input((None, None, 3), name="bicubic")
    x = layers.Conv2D(n1, f1, padding="same", activation="relu", name="patch_extraction")(inp)
    x = layers.Conv2D(n2, f2, padding="same", activation="relu", name="nonlinear_mapping")(x)
    out = layers.Conv2D(3, f3, padding="same", name="reconstruction")(x)
    return keras.Model(inp, out, name="srcnn")


def _small():
    """The last layer's start, N(0, 0.001): a net with a residual begins at (nearly) its bicubic input.
    A fresh initializer each call (Keras 3 repeats an unseeded instance's values)."""
    return keras.initializers.RandomNormal(stddev=1e-3)


def _prelu(name: str):
    # alpha 0.25 as in He et al.; Keras' default 0 is a dead ReLU that stalls training here
    return layers.PReLU(alpha_initializer=keras.initializers.Constant(0.25), shared_axes=[1, 2], name=name)


def fsrcnn(d: int = 56, s: int = 12, m: int = 4, scale: int = 4, deconv_kernel: int = 9,
           bicubic_residual: bool = False) -> keras.Model:
    """Dong et al. 2016 FSRCNN(d, s, m): works on the LR image, a deconvolution at the end.

    5x5 conv (d) + PReLU, 1x1 shrink (s) + PReLU, m 3x3 maps (s) + PReLU, 1x1 expand (d) + PReLU,
    a 9x9 deconvolution with stride `scale` (the paper's size for every scale). The paper's Caffe
    deconvolution (pad 4) gives (h-1)*scale + 1 rows and its labels were cropped to match; here
    the deconvolution pads 'same', so the output is exactly scale*h x scale*w (what tiling and
    the comparison need). In: LR (N, h, w, 3) RGB [0, 1]; out: HR (N, h*scale, w*scale, 3) RGB
    [0, 1]. With `bicubic_residual` (not in the paper) the output adds to the bicubic upscale.
    """
    inp = keras.Input((None, None, 3), name="lr")
    x = _prelu("extract_prelu")(layers.Conv2D(d, 5, padding="same", name="extract_conv")(inp))
    x = _prelu("shrink_prelu")(layers.Conv2D(s, 1, padding="same", name="shrink_conv")(x))
    for i in range(m):
        x = _prelu(f"map{i}_prelu")(layers.Conv2D(s, 3, padding="same", name=f"map{i}_conv")(x))
    x = _prelu("expand_prelu")(layers.Conv2D(d, 1, padding="same", name="expand_conv")(x))
    out = layers.Conv2DTranspose(3, deconv_kernel, strides=int(scale), padding="same", name="deconv",
                                 kernel_initializer=_small())(x)      # the paper's N(0, 0.001)
    if bicubic_residual:
        out = layers.Add(name="bicubic_residual")([out, BicubicUpsample(scale, name="bicubic")(inp)])
    return keras.Model(inp, out, name="fsrcnn")


def espcn(scale: int = 4, n1: int = 64, n2: int = 32, f1: int = 5, f2: int = 3, f3: int = 3,
          bicubic_residual: bool = False, activation: str = "tanh") -> keras.Model:
    """Shi et al. 2016 ESPCN: three convolutions on the LR image, then the sub-pixel convolution.

    f1 conv (n1) + activation, f2 conv (n2) + activation, f3 conv to 3*scale^2 channels, pixel shuffle
    (depth_to_space; channel order c + 3*(dy*scale + dx)); the last conv starts at N(0, 0.001). In: LR (N, h, w, 3) RGB [0, 1]; out: HR
    (N, h*scale, w*scale, 3) RGB [0, 1]. With `bicubic_residual` (not in the paper) the output adds
    to the bicubic upscale.

    The input is centred to [-1, 1] inside the net and the hidden layers start from He's
    initialisation: with [0, 1] input and Keras's Glorot start the tanh units stayed in their linear
    range (activations of std 0.05) and training sat at a linear filter's score (29.3 dB on Set5
    from step 1,000 on; configs/cards/espcn.md has the trial). `activation`: "tanh" (the paper) or
    "relu" (the shipped weights: it passed 30.5 dB where centred tanh levelled off at 30.41).
    """
    if activation not in ("tanh", "relu"):
        raise ValueError(f"espcn activation must be tanh or relu, got {activation!r}")
    inp = keras.Input((None, None, 3), name="lr")
    x = layers.Rescaling(2.0, offset=-1.0, name="centre")(inp)
    x = layers.Conv2D(n1, f1, padding="same", activation=activation, kernel_initializer="he_normal", name="conv1")(x)
    x = layers.Conv2D(n2, f2, padding="same", activation=activation, kernel_initializer="he_normal", name="conv2")(x)
    x = layers.Conv2D(3 * scale * scale, f3, padding="same", name="conv3", kernel_initializer=_small())(x)
    out = PixelShuffle(int(scale), name="shuffle")(x)
    if bicubic_residual:
        out = layers.Add(name="bicubic_residual")([out, BicubicUpsample(scale, name="bicubic")(inp)])
    return keras.Model(inp, out, name="espcn")


def vdsr(depth: int = 20, filters: int = 64) -> keras.Model:
    """Kim et al. 2016 VDSR: `depth` 3x3 convolutions (ReLU, He initialisation) on the bicubic-upscaled
    image; the last one gives the residual, which is added to the input (the global residual). That
    last layer starts at N(0, 0.001), not He's: He's first residuals are as large as the image (an
    L1 loss of 0.4 at step 0), so the untrained net would be far worse than its bicubic input.

    In: the bicubic-upscaled image, (N, H, W, 3) RGB [0, 1]; out: same size, RGB [0, 1]. The scale
    lives in the sidecar: one network serves any scale (the paper trained x2/x3/x4 together).
    """
    if depth < 2:
        raise ValueError(f"vdsr depth must be at least 2, got {depth}")
    inp = keras.Input((None, None, 3), name="bicubic")
    x = inp
    for i in range(depth - 1):
        x = layers.Conv2D(filters, 3, padding="same", activation="relu", kernel_initializer="he_normal",
                          name=f"conv{i}")(x)
    residual = layers.Conv2D(3, 3, padding="same", kernel_initializer=_small(), name=f"conv{depth - 1}")(x)
    out = layers.Add(name="global_residual")([inp, residual])
    return keras.Model(inp, out, name="vdsr")


def sr_resnet(num_filters: int = 64, num_res_blocks: int = 16, scale: int = 4, batch_norm: bool = True,
              res_scale: float = 1.0, bicubic_residual: bool = False) -> keras.Model:
    """SRGAN paper's generator (SRResNet).

    In: LR (N, h, w, 3) RGB [0, 1]; out: HR (N, h*scale, w*scale, 3) RGB [0, 1].
    `scale` must be a power of two (x2 pixel-shuffle stages). With `bicubic_residual` the
    network's output is added to the bicubic upscale of the input (it learns the residual).
    """
    stages = {1: 0, 2: 1, 4: 2, 8: 3}.get(int(scale))
    if stages is None:
        raise ValueError(f"sr_resnet scale must be 1, 2, 4 or 8, got {scale}")
    inp = keras.Input((None, None, 3), name="lr")
    x = layers.Conv2D(num_filters, 9, padding="same", name="head_conv")(inp)
    x = head = _prelu("head_prelu")(x)
    for b in range(num_res_blocks):
        y = layers.Conv2D(num_filters, 3, padding="same", name=f"res{b}_conv1")(x)
        if batch_norm:
            y = layers.BatchNormalization(momentum=0.9, name=f"res{b}_bn1")(y)
        y = _prelu(f"res{b}_prelu")(y)
        y = layers.Conv2D(num_filters, 3, padding="same", name=f"res{b}_conv2")(y)
        if batch_norm:
            y = layers.BatchNormalization(momentum=0.9, name=f"res{b}_bn2")(y)
        if res_scale != 1.0:
            y = layers.Rescaling(res_scale, name=f"res{b}_scale")(y)
        x = layers.Add(name=f"res{b}_add")([x, y])
    x = layers.Conv2D(num_filters, 3, padding="same", name="body_conv")(x)
    if batch_norm:
        x = layers.BatchNormalization(momentum=0.9, name="body_bn")(x)
    x = layers.Add(name="long_skip")([head, x])
    for u in range(stages):
        x = layers.Conv2D(num_filters * 4, 3, padding="same", name=f"up{u}_conv")(x)
        x = PixelShuffle(2, name=f"up{u}_shuffle")(x)
        x = _prelu(f"up{u}_prelu")(x)
    out = layers.Conv2D(3, 9, padding="same", name="tail_conv")(x)
    if bicubic_residual:
        out = layers.Add(name="bicubic_residual")([out, BicubicUpsample(scale, name="bicubic")(inp)])
    return keras.Model(inp, out, name="sr_resnet")


def discriminator(hr_size: int = 96, num_filters: int = 64) -> keras.Model:
    """SRGAN paper's discriminator. In: HR (N, hr_size, hr_size, 3) RGB [0, 1]; out: (N, 1) P(real)."""
    inp = keras.Input((hr_size, hr_size, 3), name="hr")
    x = layers.Rescaling(2.0, offset=-1.0, name="to_pm1")(inp)        # the paper works in [-1, 1]
    x = layers.Conv2D(num_filters, 3, padding="same", name="d_conv0")(x)
    x = layers.LeakyReLU(0.2, name="d_lrelu0")(x)
    plan = [(1, 2), (2, 1), (2, 2), (4, 1), (4, 2), (8, 1), (8, 2)]   # (filter multiple, stride)
    for i, (mult, stride) in enumerate(plan, start=1):
        x = layers.Conv2D(num_filters * mult, 3, strides=stride, padding="same", name=f"d_conv{i}")(x)
        x = layers.BatchNormalization(momentum=0.9, name=f"d_bn{i}")(x)
        x = layers.LeakyReLU(0.2, name=f"d_lrelu{i}")(x)
    x = layers.Flatten(name="d_flatten")(x)
    x = layers.Dense(1024, name="d_dense")(x)
    x = layers.LeakyReLU(0.2, name="d_lrelu_dense")(x)
    out = layers.Dense(1, activation="sigmoid", name="d_prob")(x)
    return keras.Model(inp, out, name="discriminator")


def vgg54() -> keras.Model:
    """VGG19 (ImageNet) features at block5_conv4 (after its ReLU), frozen.

    In: RGB (N, H, W, 3) [0, 1] (VGG preprocessing is inside); out: (N, H/16, W/16, 512).
    Raises ModelFileError when the ImageNet weights cannot be had (offline, no Keras cache).
    """
    try:
        base = keras.applications.VGG19(weights="imagenet", include_top=False, input_shape=(None, None, 3))
    except Exception as exc:  # offline: a bare `Exception: URL fetch failure` after ~0.5 s
        raise ModelFileError(
            "VGG19 ImageNet weights could not be downloaded (offline?) and are not in ~/.keras/models: "
            "use --content-loss l1 (or mse) instead of vgg54"
        ) from exc
    base.trainable = False
    inp = keras.Input((None, None, 3), name="rgb")
    feats = keras.Model(base.input, base.get_layer("block5_conv4").output, name="vgg19_54")
    out = feats(VGGPreprocess(name="vgg_preprocess")(inp))
    model = keras.Model(inp, out, name="vgg54")
    model.trainable = False
    return model


FACTORIES = {"srcnn": srcnn, "fsrcnn": fsrcnn, "espcn": espcn, "vdsr": vdsr, "sr_resnet": sr_resnet}


def build(spec: dict) -> keras.Model:
    """Build a model from a sidecar dict {"factory": name, "kwargs": {...}}; bad specs -> ModelFileError."""
    name = spec.get("factory") if isinstance(spec, dict) else None
    if name not in FACTORIES:
        raise ModelFileError(f"unknown model factory {name!r}: expected one of {', '.join(sorted(FACTORIES))}")
    kwargs = spec.get("kwargs") or {}
    try:
        return FACTORIES[name](**kwargs)
    except (TypeError, ValueError) as exc:
        raise ModelFileError(f"cannot build {name} with {kwargs}: {exc}") from exc
