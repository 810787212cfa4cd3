"""Custom Keras 3 layers used by srviewer's models. Imports Keras at module top (lazy module).

All layers take and return float32 NHWC tensors; they do not care about the value range except
`VGGPreprocess`, which takes RGB in [0, 1].
"""

from __future__ import annotations

import keras
import numpy as np
from keras import ops

PACKAGE = "srviewer"


@keras.saving.register_keras_serializable(package=PACKAGE)
class PixelShuffle(keras.layers.Layer):
    """Sub-pixel convolution rearrangement: (N, H, W, C*s*s) -> (N, H*s, W*s, C) (depth_to_space)."""

    def __init__(self, scale: int = 2, **kwargs):
        super().__init__(**kwargs)
        self.scale = int(scale)

    def call(self, x):
        return ops.depth_to_space(x, self.scale)

    def compute_output_shape(self, input_shape):
        n, h, w, c = input_shape
        s = self.scale
        return (n, None if h is None else h * s, None if w is None else w * s,
                None if c is None else c // (s * s))

    def get_config(self):
        return {**super().get_config(), "scale": self.scale}


def keys_cubic(x: np.ndarray, a: float = -0.5) -> np.ndarray:
    """Keys' cubic convolution kernel (a=-0.5 is MATLAB imresize's 'bicubic')."""
    x = np.abs(np.asarray(x, dtype=np.float64))
    x2, x3 = x * x, x * x * x
    near = (a + 2) * x3 - (a + 3) * x2 + 1
    far = a * x3 - 5 * a * x2 + 8 * a * x - 4 * a
    return np.where(x <= 1, near, np.where(x < 2, far, 0.0))


def bicubic_phase_taps(scale: int, a: float = -0.5) -> np.ndarray:
    """Per-phase 1-D weights, shape (scale, 5), over input offsets -2..+2.

    Output pixel i = k*scale + p sits at input coordinate u = (i + 0.5)/scale - 0.5 (centre
    aligned, as MATLAB imresize and OpenCV); its 4 non-zero taps lie within k-2..k+2.
    """
    taps = np.zeros((scale, 5), dtype=np.float64)
    for p in range(scale):
        frac = (p + 0.5) / scale - 0.5          # u - k, in (-0.5, 0.5)
        offsets = np.arange(-2, 3)
        w = keys_cubic(offsets - frac, a)
        taps[p] = w / w.sum()                   # MATLAB normalises; sums are 1 already here
    return taps


def _edge_pad2(x, axis: int):
    """Repeat the first and last slice along `axis` twice (replicate padding by 2, XLA friendly)."""
    n = ops.shape(x)[axis]
    first = ops.take(x, [0, 0], axis=axis)
    last = ops.take(x, ops.stack([n - 1, n - 1]), axis=axis)
    return ops.concatenate([first, x, last], axis=axis)


@keras.saving.register_keras_serializable(package=PACKAGE)
class BicubicUpsample(keras.layers.Layer):
    """Fixed bicubic x`scale` upsampling (Keys a=-0.5, MATLAB imresize kernel, centre aligned).

    Out-of-range taps repeat the edge pixel, as `conventions.upscale_bicubic(kernel="matlab")`
    does (that choice reproduces the Set5 LR files), so the two agree everywhere, borders
    included. Written as edge pad + one
    convolution with a per-phase 5x5 kernel + depth_to_space: XLA compiles it.
    In: (N, H, W, C) float; out: (N, H*s, W*s, C) float, same range (may overshoot slightly).
    """

    def __init__(self, scale: int = 4, **kwargs):
        kwargs.setdefault("trainable", False)
        super().__init__(**kwargs)
        self.scale = int(scale)
        taps = bicubic_phase_taps(self.scale)
        s = self.scale
        kernel = np.zeros((5, 5, 1, s * s), dtype=np.float32)
        for py in range(s):
            for px in range(s):
                kernel[:, :, 0, py * s + px] = np.outer(taps[py], taps[px])
        self._kernel_np = kernel

    def call(self, x):
        s = self.scale
        shape = ops.shape(x)
        n, h, w, c = shape[0], shape[1], shape[2], shape[3]
        # channels into the batch so one single-channel conv serves every channel
        xc = ops.reshape(ops.transpose(x, (0, 3, 1, 2)), (n * c, h, w, 1))
        xc = _edge_pad2(_edge_pad2(xc, axis=1), axis=2)
        kernel = ops.convert_to_tensor(self._kernel_np, dtype=xc.dtype)
        y = ops.conv(xc, kernel, strides=1, padding="valid")          # (n*c, h, w, s*s)
        y = ops.depth_to_space(y, s)                                   # (n*c, h*s, w*s, 1)
        y = ops.reshape(y, (n, c, h * s, w * s))
        return ops.transpose(y, (0, 2, 3, 1))

    def compute_output_shape(self, input_shape):
        n, h, w, c = input_shape
        s = self.scale
        return (n, None if h is None else h * s, None if w is None else w * s, c)

    def get_config(self):
        cfg = super().get_config()
        cfg.pop("trainable", None)
        return {**cfg, "scale": self.scale}


@keras.saving.register_keras_serializable(package=PACKAGE)
class VGGPreprocess(keras.layers.Layer):
    """RGB [0, 1] -> what Keras' VGG19 expects: BGR 0..255 minus the ImageNet channel means."""

    MEAN_BGR = (103.939, 116.779, 123.68)

    def call(self, x):
        x = x * 255.0
        bgr = ops.flip(x, axis=-1)
        return bgr - ops.convert_to_tensor(np.array(self.MEAN_BGR, dtype=np.float32), dtype=x.dtype)
