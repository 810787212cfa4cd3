"""An exact, faster forward pass for srviewer's sr_resnet models (SRResNet and the SRGAN generator).

`fast_call(model)` reads the weights of a model built by `models.sr_resnet` (found by its layer
names) and returns a function computing the same output with three rewrites, each exact up to
float rounding:

1. BatchNormalization (inference statistics) folded into the convolution before it:
   k' = k * g / sqrt(var + eps), b' = (b - mean) * g / sqrt(var + eps) + beta.
2. Residual scaling (`res_scale`) folded into the block's second convolution.
3. The tail, pixel-shuffle(2) -> PReLU -> Conv2D(3, 9x9) at full output resolution, done before
   the shuffle: the PReLU with its slopes repeated per sub-pixel, then the polyphase kernel
   (`polyphase_kernel`: 5x5, 4C -> 12 channels) at half resolution and one shuffle of 12
   channels into 3. A 9x9 conv with 3 outputs runs at a quarter of the machine's convolution
   throughput on CPU (28 against 110 GFLOP/s measured); it took a third of a 510x339 LR's time.

Zero 'same' padding maps onto zero 'same' padding, so borders agree too. Before it is handed
out, the function is checked against the model on a small random input; any mismatch (a model
that only looks like an sr_resnet) means None, and the caller runs the model as it is. The
checked, folded weights (`fold(model)` -> Folded) can be kept and run later without Keras
(`fast_call(folded)`): folded_store.py keeps them per weights file, so a later launch skips
building the Keras model, loading its weights and both checks.

Channel order follows depth_to_space (DCR): channel (a*s + b)*C + c of the low-resolution
tensor is channel c of output pixel (s*i + a, s*j + b).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Callable

import numpy as np

log = logging.getLogger(__name__)


def polyphase_kernel(kernel: np.ndarray, bias: np.ndarray, s: int) -> tuple[np.ndarray, np.ndarray]:
    """A 'same' conv at full resolution as a 'same' conv on the space_to_depth(s) tensor.

    kernel: (k, k, C, O) with odd k; bias: (O,). Returns (kernel2, bias2) of shapes
    (k2, k2, s*s*C, s*s*O) and (s*s*O,), k2 odd, such that
    depth_to_space(conv_same(space_to_depth(x, s), kernel2) + bias2, s) == conv_same(x, kernel) + bias.
    """
    k, k_w, c_in, c_out = kernel.shape
    if k != k_w or k % 2 == 0:
        raise ValueError(f"polyphase_kernel wants a square odd kernel, got {kernel.shape[:2]}")
    r = k // 2
    reach = max(-((-r) // s), (s - 1 + r) // s)        # low-resolution taps either side
    out = np.zeros((2 * reach + 1, 2 * reach + 1, s * s * c_in, s * s * c_out), dtype=kernel.dtype)
    for a in range(s):               # output sub-pixel row
        for u in range(k):           # kernel row: reads input row s*i + a + u - r
            p, ca = divmod(a + u - r, s)
            for b in range(s):
                for v in range(k):
                    q, cb = divmod(b + v - r, s)
                    src, dst = (ca * s + cb) * c_in, (a * s + b) * c_out
                    out[p + reach, q + reach, src:src + c_in, dst:dst + c_out] = kernel[u, v]
    return out, np.tile(np.asarray(bias), s * s)


def _conv(layer) -> tuple[np.ndarray, np.ndarray]:
    from keras import layers

    if not (isinstance(layer, layers.Conv2D) and layer.padding == "same" and tuple(layer.strides) == (1, 1)
            and tuple(layer.dilation_rate) == (1, 1) and layer.kernel_size[0] == layer.kernel_size[1]
            and layer.kernel_size[0] % 2 == 1 and layer.activation.__name__ == "linear" and layer.groups == 1):
        raise LookupError(layer.name)
    kernel = np.asarray(layer.kernel, np.float32)
    bias = np.asarray(layer.bias, np.float32) if layer.use_bias else np.zeros(kernel.shape[-1], np.float32)
    return kernel, bias


def _fold_bn(conv: tuple[np.ndarray, np.ndarray], bn) -> tuple[np.ndarray, np.ndarray]:
    kernel, bias = conv
    mean, var = np.asarray(bn.moving_mean, np.float64), np.asarray(bn.moving_variance, np.float64)
    gamma = np.asarray(bn.gamma, np.float64) if bn.scale else np.ones_like(mean)
    beta = np.asarray(bn.beta, np.float64) if bn.center else np.zeros_like(mean)
    factor = gamma / np.sqrt(var + bn.epsilon)
    return (kernel * factor).astype(np.float32), ((bias - mean) * factor + beta).astype(np.float32)


def _alpha(layer) -> np.ndarray:
    from keras import layers

    if not isinstance(layer, layers.PReLU) or tuple(layer.shared_axes or ()) != (1, 2):
        raise LookupError(layer.name)
    return np.asarray(layer.alpha, np.float32).reshape(-1)


def _read(model) -> dict:
    """The sr_resnet's weights, folded, by part; LookupError if a part is missing or unlike the factory's."""
    from keras import layers

    from srviewer.core.layers import BicubicUpsample, PixelShuffle

    names = {layer.name: layer for layer in model.layers}
    get = names.__getitem__            # KeyError (a LookupError) when a layer is missing

    def conv_bn(conv_name: str, bn_name: str, scale_name: str | None = None):
        weights = _conv(get(conv_name))
        if bn_name in names:
            weights = _fold_bn(weights, get(bn_name))
        if scale_name in names:
            rescale = get(scale_name)
            if not isinstance(rescale, layers.Rescaling) or float(rescale.offset) != 0.0:
                raise LookupError(scale_name)
            weights = (weights[0] * float(rescale.scale), weights[1] * float(rescale.scale))
        return weights

    blocks = []
    while f"res{len(blocks)}_conv1" in names:
        b = len(blocks)
        blocks.append((conv_bn(f"res{b}_conv1", f"res{b}_bn1"), _alpha(get(f"res{b}_prelu")),
                       conv_bn(f"res{b}_conv2", f"res{b}_bn2", f"res{b}_scale")))
    ups = []
    while f"up{len(ups)}_conv" in names:
        u = len(ups)
        if not (isinstance(get(f"up{u}_shuffle"), PixelShuffle) and get(f"up{u}_shuffle").scale == 2):
            raise LookupError(f"up{u}_shuffle")
        ups.append((_conv(get(f"up{u}_conv")), _alpha(get(f"up{u}_prelu"))))
    bicubic = names.get("bicubic")
    if bicubic is not None and not isinstance(bicubic, BicubicUpsample):
        raise LookupError("bicubic")
    return {"head": _conv(get("head_conv")), "head_alpha": _alpha(get("head_prelu")), "blocks": blocks,
            "body": conv_bn("body_conv", "body_bn"), "ups": ups, "tail": _conv(get("tail_conv")),
            "bicubic": None if bicubic is None else int(bicubic.scale)}


@dataclass
class Folded:
    """An sr_resnet's weights, folded (the rewrites above) and checked against the model they came
    from: `fast_call(folded)` runs them without Keras. `parts` holds float32 numpy arrays and, under
    "bicubic", the scale of the bicubic residual (None without one); `as_arrays`/`from_arrays` turn
    it into flat named arrays for a file (folded_store.py). `calls` holds the functions built from
    the parts, by compute dtype: the float32 one `fold` checked is the one `fast_call` hands out."""
    name: str
    parts: dict
    calls: dict = field(default_factory=dict, repr=False, compare=False)

    def as_arrays(self) -> dict[str, np.ndarray]:
        p = self.parts
        out = {"head_k": p["head"][0], "head_b": p["head"][1], "head_alpha": p["head_alpha"],
               "body_k": p["body"][0], "body_b": p["body"][1], "tail_k": p["tail"][0], "tail_b": p["tail"][1],
               "bicubic": np.int64(p["bicubic"] or 0), "n_blocks": np.int64(len(p["blocks"])),
               "n_ups": np.int64(len(p["ups"]))}
        for b, ((k1, b1), alpha, (k2, b2)) in enumerate(p["blocks"]):
            out.update({f"res{b}_k1": k1, f"res{b}_b1": b1, f"res{b}_alpha": alpha, f"res{b}_k2": k2, f"res{b}_b2": b2})
        for u, ((k, bias), alpha) in enumerate(p["ups"]):
            out.update({f"up{u}_k": k, f"up{u}_b": bias, f"up{u}_alpha": alpha})
        return out

    @classmethod
    def from_arrays(cls, name: str, a) -> "Folded":
        """The inverse of as_arrays (a: a mapping such as np.load's); KeyError if a part is missing."""
        def f32(key):
            return np.asarray(a[key], np.float32)

        blocks = [((f32(f"res{b}_k1"), f32(f"res{b}_b1")), f32(f"res{b}_alpha"), (f32(f"res{b}_k2"), f32(f"res{b}_b2")))
                  for b in range(int(a["n_blocks"]))]
        ups = [((f32(f"up{u}_k"), f32(f"up{u}_b")), f32(f"up{u}_alpha")) for u in range(int(a["n_ups"]))]
        return cls(name, {"head": (f32("head_k"), f32("head_b")), "head_alpha": f32("head_alpha"), "blocks": blocks,
                          "body": (f32("body_k"), f32("body_b")), "ups": ups, "tail": (f32("tail_k"), f32("tail_b")),
                          "bicubic": int(a["bicubic"]) or None})


def fold(model) -> Folded | None:
    """`model`'s weights folded, after checking the float32 rewrite against the model on a small
    random input; None when `model` is not an sr_resnet or the check fails (logged: the caller runs
    the model as it is). The weights are read when this is called: call it after loading them."""
    try:
        parts = _read(model)
    except LookupError:
        return None
    from srviewer.core import tf_runtime

    folded = Folded(model.name, parts)
    call = folded.calls["float32"] = _build(parts, tf_runtime.tf(), "float32")
    probe = np.random.default_rng(0).random((1, 12, 10, 3), dtype=np.float32)
    want = np.asarray(model(probe, training=False))
    got = np.asarray(call(probe))
    if got.shape != want.shape or not np.allclose(got, want, atol=1e-4 * max(1.0, float(np.abs(want).max()))):
        log.warning("%s looks like an sr_resnet but the fast path disagrees with it; running the model as it is",
                    model.name)
        return None
    return folded


def fast_call(model, dtype: str = "float32") -> Callable | None:
    """x -> model(x) for NHWC float32 x, by the rewrites above; None when `model` is not an sr_resnet.

    `model`: a Keras model (folded and checked now, `fold`) or a Folded (checked when it was made).
    `dtype` is the compute precision: "float32" (exact), or "float16" / "bfloat16" (mixed: the
    weights and activations in 16 bits, the input, the bicubic residual and the output float32).
    """
    folded = model if isinstance(model, Folded) else fold(model)
    if folded is None:
        return None
    if dtype not in folded.calls:
        from srviewer.core import tf_runtime

        folded.calls[dtype] = _build(folded.parts, tf_runtime.tf(), dtype)
    return folded.calls[dtype]


def _build(parts: dict, tf, dtype: str) -> Callable:
    """x -> y for these weights. The function carries `shared` = (key, body, weights): `body(x,
    weights)` computes the same from the weights as arguments, and is the same for every model
    whose key (architecture, weight shapes, precision) is equal, so SRResNet and the SRGAN
    generator (one architecture) share one traced, compiled program (tf_runtime.make_predictor)."""
    def const(value):
        return tf.constant(np.asarray(value, np.float32), dtype=dtype)

    tensors = [const(parts["head"][0]), const(parts["head"][1]), const(parts["head_alpha"])]
    for c1, a, c2 in parts["blocks"]:
        tensors += [const(c1[0]), const(c1[1]), const(a), const(c2[0]), const(c2[1])]
    tensors += [const(parts["body"][0]), const(parts["body"][1])]
    for i, (c, a) in enumerate(parts["ups"]):
        tensors += [const(c[0]), const(c[1])] + ([const(a)] if i < len(parts["ups"]) - 1 else [])
    if parts["ups"]:   # the last stage's PReLU before its shuffle, the tail at half resolution
        tensors += [const(np.tile(parts["ups"][-1][1], 4)), *map(const, polyphase_kernel(*parts["tail"], 2))]
    else:
        tensors += list(map(const, parts["tail"]))
    from srviewer.core.layers import BicubicUpsample   # Keras ops, no weights: the same layer the model has

    bicubic = None if parts["bicubic"] is None else BicubicUpsample(parts["bicubic"])
    n_blocks, n_ups = len(parts["blocks"]), len(parts["ups"])
    key = ("sr_resnet", n_blocks, n_ups, parts["bicubic"], dtype,
           tuple(tuple(t.shape) for t in tensors))

    def conv(x, kernel, bias):
        return tf.nn.bias_add(tf.nn.conv2d(x, kernel, 1, "SAME"), bias)

    def prelu(x, alpha):
        return tf.maximum(x, tf.zeros((), x.dtype)) + alpha * tf.minimum(x, tf.zeros((), x.dtype))

    def body(x, weights):
        w = iter(weights)
        h = skip = prelu(conv(tf.cast(x, dtype), next(w), next(w)), next(w))
        for _ in range(n_blocks):
            c1 = (next(w), next(w))
            alpha = next(w)
            h = h + conv(prelu(conv(h, *c1), alpha), next(w), next(w))
        h = conv(h, next(w), next(w)) + skip
        for _ in range(n_ups - 1):
            c = (next(w), next(w))
            h = prelu(tf.nn.depth_to_space(conv(h, *c), 2), next(w))
        if n_ups:
            c = (next(w), next(w))
            last_alpha = next(w)
            y = tf.nn.depth_to_space(conv(prelu(conv(h, *c), last_alpha), next(w), next(w)), 2)
        else:
            y = conv(h, next(w), next(w))
        y = tf.cast(y, "float32")
        return y + bicubic(x) if bicubic is not None else y

    def call(x, training=False):
        return body(x, tensors)

    call.shared = (key, body, tensors)  # type: ignore[attr-defined]
    return call
