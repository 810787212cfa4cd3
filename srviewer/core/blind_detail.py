"""What blind mode can say about a result without a ground truth: the fine detail it adds.

`detail` is the Laplacian energy (metrics.laplacian_energy: mean squared 4-neighbour Laplacian of
the luma) of a result over that of the bicubic method's upscale of the same LR, the run's kernel:
1.0 adds no fine detail over bicubic, 2.0 twice its energy. Without the truth, more is not
necessarily better (noise and invented texture count too): it says how much, not how right.
Images are RGB HWC uint8 0..255; rectangles (x, y, w, h) are in output (HR) pixels.
"""

from __future__ import annotations

import math

import numpy as np

from srviewer.core.conventions import upscale_bicubic
from srviewer.core.images import from_float, to_float
from srviewer.core.metrics import laplacian_energy

MARGIN = 3        # LR pixels of context around a region: bicubic reaches 2, so the region is exact


def detail_ratio(img: np.ndarray, baseline: np.ndarray) -> float:
    """Laplacian energy of img over that of baseline (same shape); nan when the baseline is flat."""
    ref = laplacian_energy(baseline)
    return math.nan if ref == 0 else laplacian_energy(img) / ref


def bicubic(lr: np.ndarray, scale: int, kernel: str) -> np.ndarray:
    """The bicubic method's own result, uint8: upscaled in float, clipped, rounded once (a uint8
    upscale rounds between its two passes, as MATLAB's imresize does, and differs by a few levels)."""
    return from_float(np.clip(upscale_bicubic(to_float(lr), scale, kernel), 0.0, 1.0), 8)


def bicubic_region(lr: np.ndarray, rect, scale: int, kernel: str) -> np.ndarray:
    """The bicubic x`scale` upscale of lr inside rect, equal to cutting it from the whole upscale,
    computed from the LR pixels around it only (a crop box follows the mouse)."""
    x, y, w, h = (int(v) for v in rect)
    x0, y0 = max(0, x // scale - MARGIN), max(0, y // scale - MARGIN)
    x1 = min(lr.shape[1], -(-(x + w) // scale) + MARGIN)
    y1 = min(lr.shape[0], -(-(y + h) // scale) + MARGIN)
    # the LR's own edges are replicated as on the whole image; elsewhere MARGIN real pixels remain
    up = bicubic(np.ascontiguousarray(lr[y0:y1, x0:x1]), scale, kernel)
    ox, oy = x - x0 * scale, y - y0 * scale
    return up[oy:oy + h, ox:ox + w]


def image_detail(sr: np.ndarray, lr: np.ndarray, scale: int, kernel: str, baseline: np.ndarray | None = None) -> float:
    """Whole-image detail of sr against bicubic(lr); `baseline`: that upscale, if already made."""
    return detail_ratio(sr, bicubic(lr, scale, kernel) if baseline is None else baseline)


def crop_detail(sr: np.ndarray, lr: np.ndarray, rect, scale: int, kernel: str) -> float:
    """Detail of sr inside rect against the bicubic upscale inside the same rect."""
    x, y, w, h = (int(v) for v in rect)
    return detail_ratio(sr[y:y + h, x:x + w], bicubic_region(lr, rect, scale, kernel))
