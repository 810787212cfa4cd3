"""MATLAB's bicubic upscale by a whole factor, fast and bit-identical to `conventions.imresize`.

An upscale by a whole factor s is a fixed s-phase separable filter: output row s*i + p is the
same few input rows around i, weighted by phase p's taps. Here each phase is one OpenCV
`filter2D` pass (edges repeated, like MATLAB), rows first, then columns, strip by strip in a few
threads (one a core, up to 4: on this project's 2-core hosts as many as OpenCV's own pool). The rows pass writes
phase p straight into rows p, p + s, ... of the strip's buffer (a view with a row step, which
OpenCV fills in place); the columns pass's phases go through scratch buffers into one `cv2.merge`
(OpenCV cannot write pixels with gaps between them). Summed in float64 (float and uint16 images),
the columns pass goes channel by channel: one channel's float64 rows stay in the cache (5 % less
CPU time for the bicubic method than whole pixels on a quiet machine, 7-9 % on a loaded one; for
uint8, summed in float32, no gain, so uint8 keeps whole pixels). `upscale(..., clip=(0, 1))` clips each strip
while it is in the cache: the bicubic method's clip costs no extra pass over the result.

How fast (x4 of 1024x680 RGB against cv2.resize INTER_CUBIC's, medians of interleaved pairs;
benchmarks/README.md): on a quiet 2-core AMD EPYC (wall time, `benchmarks/run.py --only bicubic`
three times) the bicubic method (float32, clipped) 2.13-2.35x, uint8 2.92-2.97x, float32
2.85-3.18x; on 2 loaded cores (CPU time) uint8 about 3.2x, float32 about 3.7x, the method 3.0-3.1x
(3.5x before the strip-wise clip). Float
inputs must be summed in float64 to give MATLAB's float32 result (the products of float32 values
and k/1024 weights need 35 bits); OpenCV's float64 filter is not vectorised and takes 3-4x its
float32 filter's time. Tried and not kept:
NumPy or `cv2.scaleAdd` multiply-adds on shifted views, `scipy.ndimage.correlate1d` (both
slower than `filter2D`), channel-planar filtering of the rows pass too and of uint8 (more copies
than it saves), strip sizes from 6 to 85 input rows (no
better than the 2**21 output values kept), NumPy strided copies or `np.stack` instead of the
merge (3-7x slower than `cv2.merge`).

Why it equals `imresize` exactly: for s = 2, 4, 8 the weights are dyadic fractions k / 2**b
(x4: k / 1024). uint8 and uint16 inputs times such weights, and their sums, are exact in the
arithmetic used (float32 for uint8 where `_exact_in_float32` says so, float64 otherwise), so the
order of summation does not matter; MATLAB's round-half-away-from-zero is a round to nearest
after adding half a step of the weights' resolution (no ties are left). Float inputs are summed
in float64 and cast after each pass, as `imresize` does; only the order of the four additions
differs from its matrix product (float64 rounding, at most 1 ulp of float32 after the cast).
Scales whose weights are not dyadic (x3) are left to `imresize`'s general path (`supports`).

Images: HxW or HxWxC (C <= 4), uint8 / uint16 (rounded and clipped after each pass) or
float32 / float64 (any range, same dtype out). Output: (H*s) x (W*s), same dtype.
"""

from __future__ import annotations

import functools
import math
import os
import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Iterator

import numpy as np

_DTYPES = (np.uint8, np.uint16, np.float32, np.float64)
_MAX_FRACTION_BITS = 24


@functools.lru_cache(maxsize=16)
def phase_kernels(scale: int) -> tuple[np.ndarray, int]:
    """(K, P): K is (scale x 2P+1) float64, K[p, P + r] the weight of input i + r in output scale*i + p.

    Read from `conventions._taps` (MATLAB's sample positions) on an interior pixel, so both paths
    share one definition of the kernel.
    """
    from srviewer.core.conventions import _taps

    n, k = 4 * scale + 16, 8
    idx, weights = _taps(n, n * scale, float(scale), True)
    taps = []
    for p in range(scale):
        row: dict[int, float] = {}
        for i, w in zip(idx[scale * k + p], weights[scale * k + p]):
            if w != 0.0:
                row[int(i) - k] = row.get(int(i) - k, 0.0) + float(w)
        taps.append(row)
    reach = max(abs(r) for row in taps for r in row)
    kernels = np.zeros((scale, 2 * reach + 1))
    for p, row in enumerate(taps):
        for r, w in row.items():
            kernels[p, reach + r] = w
    kernels.setflags(write=False)
    return kernels, reach


@functools.lru_cache(maxsize=16)
def fraction_bits(scale: int) -> int | None:
    """b such that every weight times 2**b is a whole number (the weights are k / 2**b), or None."""
    kernels, _ = phase_kernels(scale)
    for b in range(_MAX_FRACTION_BITS + 1):
        scaled = kernels * 2.0**b
        if np.array_equal(scaled, np.round(scaled)):
            return b
    return None


def _exact_in_float32(scale: int, peak: float) -> bool:
    """Every partial sum of peak-bounded inputs times the weights, plus half a step, fits in float32's 24 bits."""
    kernels, _ = phase_kernels(scale)
    b = fraction_bits(scale)
    largest = peak * max(np.abs(kernels).sum(axis=1).max(), 1.0)
    return b is not None and math.ceil(math.log2(largest + 1)) + b + 1 <= 24


def supports(img: np.ndarray, scale: float, antialias: bool = True) -> bool:
    """Whether `upscale` gives imresize's result for this image and scale (else use imresize's own path)."""
    if scale < 2 or not float(scale).is_integer():
        return False
    if img.dtype not in _DTYPES or img.ndim not in (2, 3) or (img.ndim == 3 and not 1 <= img.shape[2] <= 4):
        return False
    return 0 not in img.shape and fraction_bits(int(scale)) is not None


class _Scratch(threading.local):
    """Per-thread buffers reused from strip to strip: fresh large arrays cost more in page faults
    than the filtering itself."""

    def get(self, name: str, shape: tuple, dtype) -> np.ndarray:
        store = self.__dict__.setdefault("buffers", {})
        size = int(np.prod(shape))
        buf = store.get((name, np.dtype(dtype)))
        if buf is None or buf.size < size:
            buf = store[(name, np.dtype(dtype))] = np.empty(size, dtype)
        return buf[:size].reshape(shape)


def _pixels_adjacent(a: np.ndarray) -> bool:
    """Whether each row's pixels follow one another in memory (what OpenCV can read as an image)."""
    return a.strides[1] == a.itemsize * (a.shape[2] if a.ndim == 3 else 1)


def _into(dst: np.ndarray, result: np.ndarray) -> None:
    """OpenCV fills `dst` when it fits and returns it; where it allocated anew instead, copy."""
    if not np.shares_memory(dst, result):
        np.copyto(dst, result.reshape(dst.shape))


class _Pass:
    """One axis of the upscale: filter each phase, round like MATLAB, cast to the image's dtype,
    and store phase p in `dsts[p]` (strided views that interleave the phases)."""

    def __init__(self, scale: int, dtype: np.dtype, axis: int, scratch: _Scratch):
        import cv2

        self.cv2, self.scale, self.dtype, self.axis, self.scratch = cv2, scale, np.dtype(dtype), axis, scratch
        kernels, reach = phase_kernels(scale)
        self.anchor = (0, reach) if axis == 0 else (reach, 0)
        self.direct = self.dtype == np.uint8 and _exact_in_float32(scale, 255.0)   # 8U -> 8U, float32 inside
        # OpenCV's cast rounds half to even; half a step of the weights' resolution makes it MATLAB's
        # round half up (the sums are exact multiples of 2**-b: no ties are left)
        self.delta = 2.0 ** -(fraction_bits(scale) + 1) if self.direct else 0.0
        kdtype = np.float32 if self.direct else np.float64
        shape = (-1, 1) if axis == 0 else (1, -1)
        self.kernels = [np.ascontiguousarray(k.reshape(shape), kdtype) for k in kernels]

    def filter(self, src: np.ndarray, kernel: np.ndarray, dst: np.ndarray) -> None:
        cv2 = self.cv2
        depth = -1 if self.direct else cv2.CV_64F
        _into(dst, cv2.filter2D(src, depth, kernel, dst=dst, anchor=self.anchor, delta=self.delta,
                                borderType=cv2.BORDER_REPLICATE))

    def phases(self, src: np.ndarray, dsts: list[np.ndarray]) -> None:
        """src (any rows x full width) -> phase p of the pass into dsts[p] (src's shape, the
        image's dtype; OpenCV writes a view whose rows are strided but whose pixels are not)."""
        if not _pixels_adjacent(src):   # one channel of an interleaved image: OpenCV cannot read it in place
            plane = self.scratch.get(f"plane{self.axis}", src.shape, np.float64 if not self.direct else src.dtype)
            np.copyto(plane, src)
            src = plane
        if self.direct:
            for k, dst in zip(self.kernels, dsts):
                self.filter(src, k, dst)
            return
        if src.dtype != np.float64 and self.dtype.kind == "f":   # OpenCV filters float32 into float64 only via a copy
            wide = self.scratch.get(f"wide{self.axis}", src.shape, np.float64)
            np.copyto(wide, src)
            src = wide
        y = self.scratch.get(f"sum{self.axis}", src.shape, np.float64)
        integer = self.dtype.kind == "u"
        for k, dst in zip(self.kernels, dsts):
            self.filter(src, k, y)
            if integer:   # MATLAB: floor(v + 0.5), clipped (exact sums: no rounding error to worry about)
                np.floor(np.add(y, 0.5, out=y), out=y)
                np.clip(y, 0, np.iinfo(self.dtype).max, out=y)
            np.copyto(dst, y, casting="unsafe")


def _strip_rows(width: int, channels: int, scale: int) -> int:
    """Input rows per strip: about 2**21 output values a strip (measured: fewer cost more in calls,
    more spill the caches)."""
    return max(2, (1 << 21) // max(1, scale * scale * width * channels))


def _workers() -> int:
    return max(1, min(4, os.cpu_count() or 1))


def upscale_strips(img: np.ndarray, scale: int, strip_rows: int | None = None, workers: int | None = None,
                   out: np.ndarray | None = None, finish=None) -> Iterator[tuple[int, np.ndarray]]:
    """(first output row, block of output rows) in order, computed strip by strip in threads.

    Each block equals the same rows of `upscale(img, scale)`; at most workers + 1 blocks are held,
    so a caller that converts and stores each block keeps memory bounded. With `out` (the whole
    C-contiguous result array) the blocks are written into it and yielded as views of it.
    `finish(block) -> array`, if given, runs on each block in its worker thread (a conversion done
    in parallel) and its result is yielded instead.
    """
    import cv2

    img = np.asarray(img)
    if not supports(img, scale):
        raise ValueError(f"no fast path for a {img.dtype} image of shape {img.shape} at x{scale}")
    scale = int(scale)
    h, w = img.shape[:2]
    channels = img.shape[2] if img.ndim == 3 else 1
    _, reach = phase_kernels(scale)
    scratch = _Scratch()
    rows_pass, cols_pass = _Pass(scale, img.dtype, 0, scratch), _Pass(scale, img.dtype, 1, scratch)
    step = strip_rows or _strip_rows(w, channels, scale)

    def strip(a: int) -> tuple[int, np.ndarray]:
        b = min(a + step, h)
        lo, hi = max(a - reach, 0), min(b + reach, h)   # context rows; replicated past the image's edges
        # the rows pass writes phase p of input row i straight into row scale*i + p of `mid`
        mid = scratch.get("mid", (hi - lo, scale) + img.shape[1:], img.dtype)
        rows_pass.phases(img[lo:hi], [mid[:, p] for p in range(scale)])
        mid = mid[a - lo:b - lo].reshape(((b - a) * scale,) + img.shape[1:])
        block = out[a * scale:b * scale] if out is not None else \
            np.empty(((b - a) * scale, w * scale) + img.shape[2:], img.dtype)
        # the columns pass: phases to scratch (OpenCV cannot write pixels with gaps), merged into the
        # block. Summed in float64, channel by channel (plane p * channels + c: channel c of phase p):
        # one channel's float64 rows stay in the cache, 5-9 % less CPU than whole pixels
        if cols_pass.direct or channels == 1:
            cols = [scratch.get(f"cols{p}", mid.shape, img.dtype) for p in range(scale)]
            cols_pass.phases(mid, cols)
        else:
            cols = [scratch.get(f"cols{i}", mid.shape[:2], img.dtype) for i in range(scale * channels)]
            for c in range(channels):
                cols_pass.phases(mid[..., c], cols[c::channels])
        merged = block.reshape((b - a) * scale, w, scale * channels)
        _into(merged, cv2.merge(cols, dst=merged))
        return a * scale, block if finish is None else finish(block)

    starts = range(0, h, step)
    n = workers or _workers()
    if n == 1 or len(starts) == 1:
        for a in starts:
            yield strip(a)
        return
    with ThreadPoolExecutor(max_workers=n) as pool:   # OpenCV and NumPy release the GIL
        pending = []
        for a in starts:
            pending.append(pool.submit(strip, a))
            if len(pending) > n:
                yield pending.pop(0).result()
        for future in pending:
            yield future.result()


def upscale(img: np.ndarray, scale: int, workers: int | None = None,
            clip: tuple[float, float] | None = None) -> np.ndarray:
    """MATLAB imresize(img, scale, 'bicubic') for a whole `scale` where `supports` says so.

    `clip` (low, high): each strip is clipped in its worker thread while it is in the cache (the
    bicubic method's [0, 1]), instead of one more pass over the whole result afterwards.
    """
    img = np.asarray(img)
    out = np.empty((img.shape[0] * int(scale), img.shape[1] * int(scale)) + img.shape[2:], img.dtype)
    finish = None if clip is None else (lambda block: np.clip(block, *clip, out=block))
    for _ in upscale_strips(img, scale, workers=workers, out=out, finish=finish):
        pass
    return out
