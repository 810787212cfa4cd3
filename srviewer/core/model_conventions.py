"""A model's convention, and the Predictor that hides it from the rest of srviewer.

Model files disagree on layout (NHWC or NCHW), channels (RGB, BGR, or the luma channel alone),
value range (0..1, 0..255, -1..1), scale and output size. A `Convention` says which one a file
uses (declared by the file, found by `convention_detect`, or stated by the sidecar or an
override); a `Predictor` wraps a RawModel with it so that every model looks the same:

    HxWx3 float32 RGB [0, 1] in  ->  (H*s)x(W*s)x3 float32 RGB, [0, 1] up to overshoot (unclipped)

For input kind "bicubic" the input is the bicubic-upscaled image and the output has its size.
Luma models ("y"): Y of BT.601 (MATLAB's rgb2ycbcr, 16..235 scaled to the model's range) goes
in, Y comes out, and the colour (Cb, Cr) comes from the bicubic upscale of the input.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

import numpy as np

from srviewer.errors import ModelFileError

LAYOUTS = ("nhwc", "nchw")
CHANNELS = ("rgb", "bgr", "y")
RANGES = {"0..1": (0.0, 1.0), "0..255": (0.0, 255.0), "-1..1": (-1.0, 1.0)}
MAX_OFF = 8          # output pixels a side beyond the exact scale that are trimmed (more: refused)


@dataclass
class Convention:
    """How a model file wants its input and gives its output. `output`: the index of the head used;
    `trim`: "centre" or "end" (where surplus output pixels are cut); `evidence`: per field, why."""
    layout: str = "nhwc"
    channels: str = "rgb"
    range: str = "0..1"
    scale: int = 4
    input_kind: str = "lr"
    fixed_size: tuple[int, int] | None = None
    output: int = 0
    trim: str = "centre"
    overlap: int = 16                 # LR context per tile side (from the receptive field where measured)
    evidence: dict[str, str] = field(default_factory=dict)

    def check(self) -> None:
        for name, value, allowed in (("layout", self.layout, LAYOUTS), ("channels", self.channels, CHANNELS),
                                     ("range", self.range, tuple(RANGES)), ("input", self.input_kind, ("lr", "bicubic")),
                                     ("trim", self.trim, ("centre", "end"))):
            if value not in allowed:
                raise ModelFileError(f"model {name} {value!r} is not one of {', '.join(allowed)}")

    def as_dict(self) -> dict:
        d = asdict(self)
        d["fixed_size"] = list(self.fixed_size) if self.fixed_size else None
        return d


# BT.601 as MATLAB's rgb2ycbcr / ycbcr2rgb, on [0, 1] values.
_RGB2YCC = np.array([[65.481, 128.553, 24.966], [-37.797, -74.203, 112.0], [112.0, -93.786, -18.214]]) / 255.0
_YCC_OFFSET = np.array([16.0, 128.0, 128.0]) / 255.0
_YCC2RGB = np.linalg.inv(_RGB2YCC)


def rgb_to_ycbcr(rgb: np.ndarray) -> np.ndarray:
    """HxWx3 RGB [0, 1] -> HxWx3 YCbCr (BT.601, Y in 16/255..235/255), float32."""
    return (rgb.astype(np.float32) @ _RGB2YCC.T.astype(np.float32) + _YCC_OFFSET.astype(np.float32)).astype(np.float32)


def ycbcr_to_rgb(ycc: np.ndarray) -> np.ndarray:
    return ((ycc - _YCC_OFFSET.astype(np.float32)) @ _YCC2RGB.T.astype(np.float32)).astype(np.float32)


def to_model_input(rgb: np.ndarray, conv: Convention, dtype: str = "float32") -> np.ndarray:
    """HxWx3 float32 RGB [0, 1] -> the model's input array, batch axis included."""
    if conv.channels == "y":
        x = rgb_to_ycbcr(rgb)[..., :1]
    elif conv.channels == "bgr":
        x = rgb[..., ::-1]
    else:
        x = rgb
    lo, hi = RANGES[conv.range]
    x = x.astype(np.float32, copy=False) if (lo, hi) == (0.0, 1.0) else x.astype(np.float32) * (hi - lo) + lo
    x = x[None]
    if conv.layout == "nchw":
        x = x.transpose(0, 3, 1, 2)
    if np.dtype(dtype).kind in "ui":
        info = np.iinfo(np.dtype(dtype))
        x = np.clip(np.rint(x), info.min, info.max)
    return np.ascontiguousarray(x, dtype=np.dtype(dtype))


def image_of(y: np.ndarray, conv: Convention) -> np.ndarray:
    """One output array (batch axis included) -> HxWxC float32 in the model's range and channel order."""
    y = np.asarray(y)
    if y.ndim == 3:                   # some exports drop the batch axis
        y = y[None]
    if y.ndim != 4:
        raise ModelFileError(f"the model returns shape {tuple(y.shape)}, not an image")
    y = y[0]
    if conv.layout == "nchw":
        y = y.transpose(1, 2, 0)
    return y.astype(np.float32)


def from_model_output(y: np.ndarray, conv: Convention, chroma_source: np.ndarray | None) -> np.ndarray:
    """The model's output image (HxWxC, model range/order, already at the exact size) -> RGB [0, 1].

    chroma_source: for luma models, an RGB [0, 1] image of the output's size whose Cb/Cr are used.
    """
    lo, hi = RANGES[conv.range]
    if (lo, hi) != (0.0, 1.0):
        y = (y - lo) / (hi - lo)
    if conv.channels == "y":
        ycc = rgb_to_ycbcr(chroma_source)
        ycc[..., 0] = y[..., 0]
        return ycbcr_to_rgb(ycc)
    return np.ascontiguousarray(y[..., ::-1] if conv.channels == "bgr" else y, dtype=np.float32)


def cut_to(img: np.ndarray, h: int, w: int, trim: str) -> np.ndarray:
    """Cut surplus rows/columns down to h x w: evenly from both sides ("centre") or from the end."""
    dh, dw = img.shape[0] - h, img.shape[1] - w
    top, left = (dh // 2, dw // 2) if trim == "centre" else (0, 0)
    return img[top:top + h, left:left + w]


class Predictor:
    """A RawModel under a Convention: __call__(HxWx3 float32 RGB [0, 1]) -> RGB [0, 1] (unclipped).

    `run` is the function that runs the model (RawModel.run, or Keras' compiled fast path); tests
    may replace it. scale, input_kind, fixed_size (model-input pixels, (h, w)), device, format,
    label, params, convention and notes describe the model for the method, `inspect` and manifests.
    """

    def __init__(self, raw, conv: Convention, label: str, kernel: str = "matlab", run=None):
        conv.check()
        self.raw, self.convention, self.label, self.kernel = raw, conv, label, kernel
        self.run = run or raw.run
        self.scale, self.input_kind, self.fixed_size = conv.scale, conv.input_kind, conv.fixed_size
        self.overlap = conv.overlap
        self.device, self.format, self.params = raw.device, raw.format, raw.params
        self.notes = list(raw.notes)
        self._dtype = raw.inputs[0].dtype if raw.inputs else "float32"

    def __call__(self, rgb: np.ndarray) -> np.ndarray:
        conv = self.convention
        factor = 1 if conv.input_kind == "bicubic" else conv.scale
        outs = self.run(to_model_input(rgb, conv, self._dtype))
        if conv.output >= len(outs):
            raise ModelFileError(f"the model returned {len(outs)} outputs, output {conv.output} was chosen")
        y = image_of(outs[conv.output], conv)
        h, w = rgb.shape[0] * factor, rgb.shape[1] * factor
        if y.shape[0] < h or y.shape[1] < w:
            raise ModelFileError(f"the model returned {y.shape[1]}x{y.shape[0]} for {rgb.shape[1]}x{rgb.shape[0]}, "
                                 f"less than x{factor}")
        y = cut_to(y, h, w, conv.trim)
        chroma = None
        if conv.channels == "y":
            from srviewer.core.conventions import upscale_bicubic

            chroma = rgb if factor == 1 else upscale_bicubic(rgb, factor, self.kernel)
        return from_model_output(y, conv, chroma)
