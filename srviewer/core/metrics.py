"""Image quality metrics in the super-resolution papers' convention.

Inputs are HxWx3 RGB or HxW grey arrays with values in 0..255 (uint8 or float), data range 255.

- PSNR is 10 log10(255^2 / MSE); identical images give `inf`.
- SSIM is Wang et al.'s: Gaussian window sigma 1.5 truncated at 3.5 sigma (an 11x11 window),
  K1 = 0.01, K2 = 0.03, population covariances, mean over the valid (unpadded) area. It equals
  `skimage.metrics.structural_similarity(..., gaussian_weights=True, sigma=1.5,
  use_sample_covariance=False, data_range=255)`; colour images are the mean over channels.
- The paper convention ("Y + border") scores the BT.601 luma (`conventions.rgb_to_y`, float,
  not rounded) with `scale` pixels shaved from every border; an image stored as grey is scored on
  its grey values.
"""

from __future__ import annotations

import math

import cv2
import numpy as np

from srviewer.core.conventions import rgb_to_y

_SIGMA = 1.5
_RADIUS = int(3.5 * _SIGMA + 0.5)  # 5, so an 11x11 window like scikit-image's
_C1 = (0.01 * 255) ** 2
_C2 = (0.03 * 255) ** 2

BORDER = 4
"""Pixels shaved from every side by default in `psnr`, `ssim` and `score`: the x4 paper convention
(border = scale). Pass `border=0` to score every pixel."""


def _pair(img: np.ndarray, ref: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    img, ref = np.asarray(img), np.asarray(ref)
    if img.shape != ref.shape:
        raise ValueError(f"images differ in shape: {img.shape} vs {ref.shape}")
    return img, ref


def _prepare(img, ref, border: int, y_channel: bool) -> tuple[np.ndarray, np.ndarray]:
    img, ref = _pair(img, ref)
    if y_channel and img.ndim == 3:
        img, ref = rgb_to_y(img), rgb_to_y(ref)
    img = img.astype(np.float64, copy=False)
    ref = ref.astype(np.float64, copy=False)
    if border:
        img = img[border:-border, border:-border]
        ref = ref[border:-border, border:-border]
    if img.size == 0:
        raise ValueError("nothing left to score after shaving the border")
    return img, ref


def psnr(img, ref, border: int = BORDER, y_channel: bool = False) -> float:
    """PSNR in dB of `img` against `ref` (values 0..255); `inf` when they are identical."""
    img, ref = _prepare(img, ref, border, y_channel)
    mse = float(np.mean((img - ref) ** 2))
    return math.inf if mse == 0 else 10.0 * math.log10(255.0**2 / mse)


def _gaussian(x: np.ndarray) -> np.ndarray:
    # cv2's filter with an explicit 11-tap kernel; BORDER_REFLECT_101 is scipy's 'reflect'-free
    # 'mirror' mode, but only the valid interior is averaged, so the border mode never matters.
    return cv2.GaussianBlur(x, (2 * _RADIUS + 1, 2 * _RADIUS + 1), _SIGMA, borderType=cv2.BORDER_REFLECT_101)


def _ssim_map_2d(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """SSIM at every pixel of two HxW float64 arrays (values 0..255), full size."""
    mu_a, mu_b = _gaussian(a), _gaussian(b)
    aa, bb, ab = _gaussian(a * a), _gaussian(b * b), _gaussian(a * b)
    var_a = aa - mu_a * mu_a
    var_b = bb - mu_b * mu_b
    cov = ab - mu_a * mu_b
    num = (2 * mu_a * mu_b + _C1) * (2 * cov + _C2)
    den = (mu_a * mu_a + mu_b * mu_b + _C1) * (var_a + var_b + _C2)
    return num / den


def _ssim_2d(a: np.ndarray, b: np.ndarray) -> float:
    if min(a.shape) < 2 * _RADIUS + 1:
        return math.nan  # too small for the 11x11 window
    full = _ssim_map_2d(a, b)
    return float(full[_RADIUS:-_RADIUS, _RADIUS:-_RADIUS].mean())


def ssim(img, ref, border: int = BORDER, y_channel: bool = False) -> float:
    """SSIM of `img` against `ref` (values 0..255); mean over channels for colour.

    Returns nan when the (shaved) image is smaller than the 11x11 window.
    """
    img, ref = _prepare(img, ref, border, y_channel)
    if img.ndim == 2:
        return _ssim_2d(img, ref)
    return float(np.mean([_ssim_2d(img[..., c], ref[..., c]) for c in range(img.shape[2])]))


def _luma(sr: np.ndarray, hr: np.ndarray, is_grey: bool) -> tuple[np.ndarray, np.ndarray]:
    """What the *_y figures score: BT.601 luma of RGB, or the grey values of a grey image."""
    if is_grey and sr.ndim == 3:
        return sr[..., 0], hr[..., 0]
    return (rgb_to_y(sr), rgb_to_y(hr)) if sr.ndim == 3 else (sr, hr)


def score(sr, hr, border: int = BORDER, is_grey: bool = False) -> dict[str, float]:
    """The four figures srviewer reports: psnr_y, ssim_y (paper convention), psnr_rgb, ssim_rgb.

    sr, hr: HxWx3 (or HxW) values 0..255. `border` is the scale for the paper convention; the RGB
    figures use the same border. For a grey image the *_y figures are on its grey values.
    """
    sr, hr = _pair(sr, hr)
    y_sr, y_hr = _luma(sr, hr, is_grey)
    return {
        "psnr_y": psnr(y_sr, y_hr, border),
        "ssim_y": ssim(y_sr, y_hr, border),
        "psnr_rgb": psnr(sr, hr, border),
        "ssim_rgb": ssim(sr, hr, border),
    }


def score_region(sr, hr, rect, is_grey: bool = False, y_only: bool = False) -> dict[str, float]:
    """`score` inside rect = (x, y, w, h) in HR pixels (clipped to the image), no border shaved.

    The one place crop scores come from: the window's crop captions (`y_only=True`: just
    psnr_y and ssim_y, quick enough to follow a moving crop box) and metrics.csv's crop columns.
    SSIM is nan for a region smaller than the 11x11 window; PSNR is defined for any size.
    A rect with nothing inside the image raises ValueError.
    """
    sr, hr = _pair(sr, hr)
    x, y, w, h = (int(round(v)) for v in rect)
    x0, y0 = max(0, x), max(0, y)
    x1, y1 = min(sr.shape[1], x + w), min(sr.shape[0], y + h)
    if x1 <= x0 or y1 <= y0:
        raise ValueError(f"region {tuple(rect)} lies outside the {sr.shape[1]}x{sr.shape[0]} image")
    a, b = sr[y0:y1, x0:x1], hr[y0:y1, x0:x1]
    if not y_only:
        return score(a, b, border=0, is_grey=is_grey)
    ya, yb = _luma(a, b, is_grey)
    return {"psnr_y": psnr(ya, yb, border=0), "ssim_y": ssim(ya, yb, border=0)}


def error_map(sr, hr) -> np.ndarray:
    """|sr - hr| averaged over channels: HxW float32 in 0..255."""
    sr, hr = _pair(sr, hr)
    diff = np.abs(sr.astype(np.float32) - hr.astype(np.float32))
    return diff.mean(axis=2) if diff.ndim == 3 else diff


def ssim_map(sr, hr) -> np.ndarray:
    """Per-pixel SSIM on Y (grey as is): HxW float32, 1 where the images agree."""
    sr, hr = _pair(sr, hr)
    a = rgb_to_y(sr) if sr.ndim == 3 else sr.astype(np.float64)
    b = rgb_to_y(hr) if hr.ndim == 3 else hr.astype(np.float64)
    return _ssim_map_2d(a, b).astype(np.float32)


def laplacian_energy(img) -> float:
    """Mean squared Laplacian (3x3, 4-neighbour) of the luma: a measure of fine detail."""
    img = np.asarray(img)
    y = rgb_to_y(img) if img.ndim == 3 else img.astype(np.float64)
    lap = cv2.Laplacian(y, cv2.CV_64F, ksize=1, borderType=cv2.BORDER_REPLICATE)
    return float(np.mean(lap[1:-1, 1:-1] ** 2))


def sharpness_ratio(sr, hr) -> float:
    """Laplacian energy of SR over that of HR: near 1 is as sharp as the truth, >1 oversharpened."""
    sr, hr = _pair(sr, hr)
    ref = laplacian_energy(hr)
    return math.nan if ref == 0 else laplacian_energy(sr) / ref
