"""Degradation and colour conventions of the super-resolution papers.

- `imresize` is MATLAB's `imresize(img, scale, 'bicubic')`: cubic kernel a = -0.5, widened by
  1/scale when downscaling (antialiasing), MATLAB's sample positions, edge pixels repeated,
  one dimension at a time (the one shrunk most first, height first on a tie), uint8 rounded after
  each pass like MATLAB's `imresizemex` does. It reproduces the Set5 LR_bicubic/X4 files exactly.
- `downscale` / `upscale_bicubic` choose between that kernel ("matlab", what papers use) and
  OpenCV's `INTER_CUBIC` ("opencv", a = -0.75, no antialiasing: what the original notebook used).
- `rgb_to_y` is BT.601 luma as MATLAB's `rgb2ycbcr`.

Images are HxW or HxWxC arrays; uint8 (0..255), uint16 (0..65535) or float ([0, 1] by
convention, any range is resized as is). The dtype that goes in comes out.
"""

from __future__ import annotations

import functools
import math

import numpy as np

KERNELS = ("matlab", "opencv")


def _check_kernel(kernel: str) -> None:
    if kernel not in KERNELS:
        raise ValueError(f"unknown resize kernel {kernel!r}; choose one of {', '.join(KERNELS)}")


def mod_crop(img: np.ndarray, scale: int) -> np.ndarray:
    """Crop HxW(xC) to the largest multiples of `scale` (top-left kept), like the papers' modcrop."""
    h, w = img.shape[:2]
    return img[: h - h % scale, : w - w % scale]


def _cubic(x: np.ndarray) -> np.ndarray:
    """MATLAB's cubic kernel (Keys, a = -0.5)."""
    ax = np.abs(x)
    ax2 = ax * ax
    ax3 = ax2 * ax
    return (1.5 * ax3 - 2.5 * ax2 + 1.0) * (ax <= 1) + (-0.5 * ax3 + 2.5 * ax2 - 4.0 * ax + 2.0) * (
        (ax > 1) & (ax <= 2)
    )


@functools.lru_cache(maxsize=64)
def _taps(in_size: int, out_size: int, scale: float, antialias: bool) -> tuple[np.ndarray, np.ndarray]:
    """One MATLAB imresize pass as (out_size x taps) 0-based input indices and float64 weights."""
    kernel_width = 4.0
    if scale < 1 and antialias:
        kernel_width = 4.0 / scale

        def kernel(x):
            return scale * _cubic(scale * x)
    else:
        kernel = _cubic
    x = np.arange(1, out_size + 1, dtype=np.float64)
    u = x / scale + 0.5 * (1.0 - 1.0 / scale)  # output pixel centre in input coordinates (1-based)
    left = np.floor(u - kernel_width / 2.0)
    taps = int(math.ceil(kernel_width)) + 2
    indices = left[:, None] + np.arange(taps)[None, :]  # 1-based
    weights = kernel(u[:, None] - indices)
    weights = weights / weights.sum(axis=1, keepdims=True)
    # Out-of-range taps repeat the edge pixel: this, not mirroring, reproduces the Set5 LR files
    # (0 differing pixels against 1476 with mirrored indices).
    idx = np.clip(indices.astype(np.int64) - 1, 0, in_size - 1)
    idx.setflags(write=False)
    weights.setflags(write=False)
    return idx, weights


@functools.lru_cache(maxsize=64)
def _weight_matrix(in_size: int, out_size: int, scale: float, antialias: bool) -> np.ndarray:
    """The (out_size x in_size) float64 matrix of one MATLAB imresize pass (read-only, cached)."""
    idx, weights = _taps(in_size, out_size, scale, antialias)
    matrix = np.zeros((out_size, in_size), dtype=np.float64)
    rows = np.repeat(np.arange(out_size), idx.shape[1])
    np.add.at(matrix, (rows, idx.ravel()), weights.ravel())
    matrix.setflags(write=False)
    return matrix


# Above this many matrix entries a pass gathers its few taps per output pixel instead of
# multiplying by the dense matrix (a 1x100000 image upscaled x4 would need a 300 GB matrix).
_DENSE_LIMIT = 4_000_000


def _round_like(values: np.ndarray, dtype: np.dtype) -> np.ndarray:
    if np.issubdtype(dtype, np.integer):
        info = np.iinfo(dtype)
        # MATLAB rounds half away from zero; values are >= 0 after the clip
        return np.floor(np.clip(values, info.min, info.max) + 0.5).astype(dtype)
    return values.astype(dtype)


def _resize_axis(img: np.ndarray, axis: int, out_size: int, scale: float, antialias: bool) -> np.ndarray:
    data = img.astype(np.float64, copy=False)
    if img.shape[axis] * out_size > _DENSE_LIMIT:
        idx, weights = _taps(img.shape[axis], out_size, float(scale), bool(antialias))
        shape = [1] * data.ndim
        shape[axis] = out_size
        out = np.zeros(data.shape[:axis] + (out_size,) + data.shape[axis + 1:], dtype=np.float64)
        for t in range(idx.shape[1]):
            out += np.take(data, idx[:, t], axis=axis) * weights[:, t].reshape(shape)
        return _round_like(out, img.dtype)
    matrix = _weight_matrix(img.shape[axis], out_size, float(scale), bool(antialias))
    if axis == 0:
        out = np.einsum("oi,i...->o...", matrix, data, optimize=True)
    else:
        out = np.einsum("oi,hi...->ho...", matrix, data, optimize=True)
    return _round_like(out, img.dtype)


def imresize(img: np.ndarray, scale: float, antialias: bool = True) -> np.ndarray:
    """MATLAB `imresize(img, scale, 'bicubic')`.

    img: HxW or HxWxC, uint8/uint16 (rounded and clipped after each pass, like MATLAB) or float
    (no clipping, same float dtype out). Output size is ceil(H*scale) x ceil(W*scale).
    Whole upscales by 2, 4 and 8 take `bicubic_fast` (polyphase, the same values: bit-identical for
    uint8/uint16/float32, float64 within float64 rounding); everything else `imresize_general`.
    """
    img = np.asarray(img)
    if img.ndim not in (2, 3):
        raise ValueError(f"imresize expects HxW or HxWxC, got shape {img.shape}")
    if scale <= 0:
        raise ValueError(f"scale must be positive, got {scale}")
    from srviewer.core import bicubic_fast

    if bicubic_fast.supports(img, scale):   # x2, x4, x8: the same result, polyphase and strip by strip
        return bicubic_fast.upscale(img, int(scale))
    return imresize_general(img, scale, antialias)


def imresize_general(img: np.ndarray, scale: float, antialias: bool = True) -> np.ndarray:
    """`imresize` by one matrix product per dimension (any scale): the reference for the fast path."""
    img = np.asarray(img)
    out_h = int(math.ceil(img.shape[0] * scale))
    out_w = int(math.ceil(img.shape[1] * scale))
    # MATLAB resizes the dimension with the smallest scale first; both are equal here -> rows first
    out = _resize_axis(img, 0, out_h, scale, antialias)
    out = _resize_axis(out, 1, out_w, scale, antialias)
    return out


def _opencv_resize(img: np.ndarray, out_w: int, out_h: int) -> np.ndarray:
    import cv2

    dtype = img.dtype
    if dtype in (np.uint8, np.uint16, np.float32):
        src = img
    else:
        src = img.astype(np.float32)
    out = cv2.resize(src, (out_w, out_h), interpolation=cv2.INTER_CUBIC)
    if out.ndim == 2 and img.ndim == 3:
        out = out[:, :, None]
    return out.astype(dtype, copy=False)


def downscale(hr: np.ndarray, scale: int = 4, kernel: str = "matlab") -> np.ndarray:
    """Make the LR image: mod-crop `hr` to a multiple of `scale`, then shrink by `scale`.

    hr: HxW(xC) uint8/uint16/float; the same dtype comes out, shape (H//scale, W//scale[, C]).
    """
    _check_kernel(kernel)
    hr = mod_crop(np.asarray(hr), scale)
    if hr.ndim < 2 or 0 in hr.shape[:2]:
        raise ValueError(f"an image of shape {np.shape(hr)} has nothing to downscale by {scale} "
                         f"(it needs at least {scale}x{scale} pixels)")
    if kernel == "matlab":
        return imresize(hr, 1.0 / scale)
    h, w = hr.shape[:2]
    return _opencv_resize(hr, w // scale, h // scale)


def upscale_bicubic(lr: np.ndarray, scale: int = 4, kernel: str = "matlab",
                    clip: tuple[float, float] | None = None) -> np.ndarray:
    """Bicubic upscaling by `scale`: HxW(xC) -> (H*scale)x(W*scale)(xC), dtype in == dtype out.

    `clip` (low, high), for float images: the result clipped to it (the bicubic method's [0, 1]); on
    MATLAB's fast path strip by strip while each strip is in the cache, not in one more pass.
    """
    _check_kernel(kernel)
    lr = np.asarray(lr)
    if lr.ndim < 2 or 0 in lr.shape[:2]:
        raise ValueError(f"an empty image of shape {lr.shape} cannot be upscaled")
    if kernel == "matlab":
        from srviewer.core import bicubic_fast

        if clip is not None and bicubic_fast.supports(lr, scale):
            return bicubic_fast.upscale(lr, int(scale), clip=clip)
        out = imresize(lr, float(scale))
    else:
        h, w = lr.shape[:2]
        out = _opencv_resize(lr, w * scale, h * scale)
    if clip is not None:
        np.clip(out, *clip, out=out)
    return out


def rgb_to_y(img: np.ndarray) -> np.ndarray:
    """BT.601 luma as MATLAB `rgb2ycbcr`: 16 + (65.481 R + 128.553 G + 24.966 B) / 255.

    img: HxWx3 RGB with values in 0..255 (uint8 or float); returns HxW float64 in 16..235 (not
    rounded). A HxW (grey) input is returned as float64 unchanged.
    """
    img = np.asarray(img)
    if img.ndim == 2:
        return img.astype(np.float64)
    if img.ndim != 3 or img.shape[2] < 3:
        raise ValueError(f"rgb_to_y expects HxWx3 RGB, got shape {img.shape}")
    rgb = img[..., :3].astype(np.float64)
    return 16.0 + (65.481 * rgb[..., 0] + 128.553 * rgb[..., 1] + 24.966 * rgb[..., 2]) / 255.0
