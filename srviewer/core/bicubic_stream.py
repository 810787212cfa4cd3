"""Bicubic upscaling of a whole photo at its own bit depth, strip by strip (bounded memory).

`upscale_native(arr, scale, kernel)` gives exactly what the bicubic method gives through the
float path, `from_float(clip(upscale_bicubic(to_float(arr)), 0, 1), bit_depth)`, without ever
holding the float32 result: a 10-megapixel photo x4 is 161 MP, 1.9 GB as float32 RGB (and
several such temporaries) but 0.48 GB as uint8. Each strip of output rows is computed in float,
clipped, rounded to the image's depth and stored; only a few strips are in flight.

arr: HxW(xC) uint8 or uint16 (RGB HWC or a single alpha plane). Returns the same dtype,
(H*scale) x (W*scale)(xC).
"""

from __future__ import annotations

import numpy as np

OPENCV_CONTEXT = 2            # LR rows around a strip for OpenCV's 4-tap cubic (2 a side)
_STRIP_VALUES = 1 << 22       # output values per OpenCV strip


def upscale_native(arr: np.ndarray, scale: int = 4, kernel: str = "matlab", progress=None,
                   cancel=None) -> np.ndarray:
    """The bicubic method's result at the image's depth, strip by strip. progress(fraction); cancel
    (a CancelToken) is checked between strips."""
    from srviewer.core import bicubic_fast
    from srviewer.core.conventions import _check_kernel, upscale_bicubic
    from srviewer.core.images import to_float

    _check_kernel(kernel)
    arr = np.asarray(arr)
    if arr.dtype not in (np.uint8, np.uint16):
        raise ValueError(f"upscale_native takes uint8 or uint16, not {arr.dtype}")
    bit_depth = 8 if arr.dtype == np.uint8 else 16
    lr = to_float(arr)
    h = lr.shape[0]
    out = np.empty((h * scale, lr.shape[1] * scale) + lr.shape[2:], arr.dtype)

    def finish(block: np.ndarray) -> np.ndarray:
        return _to_depth(block, bit_depth, arr.dtype)

    if kernel == "matlab" and bicubic_fast.supports(lr, scale):   # converted in the worker threads
        strips = bicubic_fast.upscale_strips(lr, scale, finish=finish)
    elif kernel == "opencv":
        strips = ((row, finish(block)) for row, block in _opencv_strips(lr, scale))
    else:   # no strip-wise path (a scale the fast kernel does not take): the whole image at once
        strips = iter([(0, finish(upscale_bicubic(lr, scale, kernel)))])
    for row, block in strips:
        if cancel is not None:
            cancel.raise_if_cancelled()
        out[row:row + block.shape[0]] = block
        if progress is not None:
            progress((row + block.shape[0]) / out.shape[0])
    return out


def _to_depth(block: np.ndarray, bit_depth: int, dtype) -> np.ndarray:
    """`images.from_float(block, bit_depth)` for a float32 block, in place (the same float32 steps:
    clip, scale, + 0.5, floor)."""
    peak = np.float32(255.0 if bit_depth == 8 else 65535.0)
    np.clip(block, 0.0, 1.0, out=block)
    np.multiply(block, peak, out=block)
    np.add(block, np.float32(0.5), out=block)
    return np.floor(block, out=block).astype(dtype)


def _opencv_strips(lr: np.ndarray, scale: int):
    """(first output row, block) of OpenCV's INTER_CUBIC x`scale`, each cut from a strip with
    OPENCV_CONTEXT rows of context a side: the same values as resizing the whole image (OpenCV's
    sample positions depend on the scale only, and edges repeat as at a strip's cut)."""
    from srviewer.core.conventions import _opencv_resize

    h, w = lr.shape[:2]
    channels = lr.shape[2] if lr.ndim == 3 else 1
    step = max(8, _STRIP_VALUES // max(1, scale * scale * w * channels))
    for a in range(0, h, step):
        b = min(a + step, h)
        lo, hi = max(a - OPENCV_CONTEXT, 0), min(b + OPENCV_CONTEXT, h)
        big = _opencv_resize(lr[lo:hi], w * scale, (hi - lo) * scale)
        yield a * scale, big[(a - lo) * scale:(b - lo) * scale]
