"""What the window's inspection views show, computed here so the GUI only draws.

Images are RGB HWC uint8; maps are HxW float32.
"""

from __future__ import annotations

import numpy as np

from srviewer.core.metrics import error_map, psnr, ssim, ssim_map
from srviewer.core.conventions import rgb_to_y


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


def crop_scores_y(sr: np.ndarray, hr: np.ndarray, rect, is_grey: bool = False) -> dict[str, float]:
    """PSNR and SSIM on Y inside rect = (x, y, w, h), fast enough to follow a moving crop box.

    SSIM is nan for a crop smaller than the 11x11 window.
    """
    x, y, w, h = (int(round(v)) for v in rect)
    x0, y0 = max(0, x), max(0, y)
    x1, y1 = min(sr.shape[1], x + w), min(sr.shape[0], y + h)
    if x1 <= x0 or y1 <= y0:
        return {"psnr_y": float("nan"), "ssim_y": float("nan")}
    a, b = sr[y0:y1, x0:x1], hr[y0:y1, x0:x1]
    if is_grey:
        ya, yb = a[..., 0].astype(np.float64), b[..., 0].astype(np.float64)
    else:
        ya, yb = rgb_to_y(a), rgb_to_y(b)
    return {"psnr_y": psnr(ya, yb), "ssim_y": ssim(ya, yb)}


def magnified(img: np.ndarray, rect, factor: int) -> np.ndarray:
    """The crop rect = (x, y, w, h) of img, enlarged `factor` times by pixel repetition."""
    x, y, w, h = (int(round(v)) for v in rect)
    x0, y0 = max(0, x), max(0, y)
    crop = img[y0:max(y0, y + h), x0:max(x0, x + w)]
    return np.repeat(np.repeat(crop, factor, 0), factor, 1)
