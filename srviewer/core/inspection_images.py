"""The images the window's inspection views show (error and SSIM maps, swipe, magnified crops),
computed here so the GUI only draws. Crop scores are `metrics.score_region`.

Images are RGB HWC uint8; maps are HxW float32.
"""

from __future__ import annotations

import numpy as np

from srviewer.core.metrics import error_map, ssim_map


def error_maps(results: dict[str, np.ndarray], hr: np.ndarray) -> tuple[dict[str, np.ndarray], float]:
    """|method - HR| per method and one shared upper level (99.5th percentile over all maps)."""
    maps = {name: error_map(sr, hr) for name, sr in results.items()}
    if not maps:
        return {}, 1.0
    level = float(max(np.percentile(m, 99.5) for m in maps.values()))
    return maps, max(level, 1.0)


def ssim_maps(results: dict[str, np.ndarray], hr: np.ndarray) -> dict[str, np.ndarray]:
    return {name: ssim_map(sr, hr) for name, sr in results.items()}


def swipe(a: np.ndarray, b: np.ndarray, fraction: float) -> np.ndarray:
    """A left of the split at `fraction` of the width, B right of it, with a 1-pixel white line."""
    if a.shape != b.shape:
        raise ValueError(f"swipe needs images of one size: {a.shape} vs {b.shape}")
    split = int(round(np.clip(fraction, 0.0, 1.0) * a.shape[1]))
    out = b.copy()
    out[:, :split] = a[:, :split]
    if 0 < split < a.shape[1]:
        out[:, split] = 255
    return out


def magnified(img: np.ndarray, rect, factor: int) -> np.ndarray:
    """The crop rect = (x, y, w, h) of img, enlarged `factor` times by pixel repetition."""
    x, y, w, h = (int(round(v)) for v in rect)
    x0, y0 = max(0, x), max(0, y)
    crop = img[y0:max(y0, y + h), x0:max(x0, x + w)]
    return np.repeat(np.repeat(crop, factor, 0), factor, 1)
