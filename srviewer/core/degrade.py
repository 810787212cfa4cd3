"""The degradation chain of reference mode: how the LR is made from the ground truth.

Steps, in the classical order (BSRGAN / Real-ESRGAN's first order):
    blur      Gaussian, sigma in HR pixels; isotropic, or anisotropic `blur=SX:SY` turned by `angle`
              degrees (SX along the angle, SY across it); sigma 0 is the identity
    kernel    the downscaling kernel: matlab (antialiased imresize, the papers'), opencv (INTER_CUBIC),
              bilinear, nearest, area (OpenCV's INTER_LINEAR / INTER_NEAREST / INTER_AREA)
    noise     additive white Gaussian noise, sigma in 0..255 units (scaled by 257 for 16-bit images),
              independent per channel (`noise_mode=rgb`) or one plane on all channels (`noise_mode=grey`)
    jpeg      JPEG compression at a quality 1..100 (libjpeg's default 4:2:0 chroma subsampling, what
              cameras and the web use); 16-bit images go through 8 bits and come back as 16-bit

A chain is written as one string, keys in any order: `blur=1.2,kernel=matlab,noise=5,jpeg=60,seed=3`;
`str(chain)` prints it back in that order with the defaults left out (the kernel always shown, the seed
when the chain has noise, its only random part). The noise comes from `numpy.random.default_rng(seed)`
(PCG64, the same stream on every machine), drawn afresh for each `degrade` call: the same settings
give the same LR for the same image everywhere, and a sweep over the noise scales one pattern.

Images: HxWx3 (or HxW) uint8 0..255 or uint16 0..65535, RGB; the dtype that goes in comes out.
A chain of the kernel alone equals `conventions.downscale(hr, scale, kernel)` exactly.
"""

from __future__ import annotations

import io
import math
from dataclasses import dataclass, fields, replace

import numpy as np

from srviewer.core.conventions import downscale as bicubic_downscale
from srviewer.core.conventions import mod_crop
from srviewer.errors import DegradationError

KERNELS = ("matlab", "opencv", "bilinear", "nearest", "area")
NOISE_MODES = ("rgb", "grey")
SWEEP_KEYS = ("blur", "noise", "jpeg", "angle")   # the numeric keys a sweep may vary
_KEY_ORDER = ("blur", "angle", "kernel", "noise", "noise_mode", "jpeg", "seed")
MAX_BLUR = 20.0


@dataclass(frozen=True)
class Chain:
    """One degradation chain (see the module docstring); build it with `parse_chain` or directly."""

    blur: float = 0.0                  # sigma along `angle`, HR pixels
    blur_minor: float | None = None    # sigma across it; None: the same (isotropic)
    angle: float = 0.0                 # degrees, counter-clockwise from the x axis
    kernel: str = "matlab"
    noise: float = 0.0                 # sigma, 0..255 units
    noise_mode: str = "rgb"
    jpeg: int | None = None            # quality 1..100, None: no JPEG
    seed: int = 0

    def __post_init__(self):
        _check("blur", self.blur, 0.0, MAX_BLUR)
        if self.blur_minor is not None:
            _check("blur", self.blur_minor, 0.0, MAX_BLUR)
        if self.kernel not in KERNELS:
            raise DegradationError(f"kernel={self.kernel}: choose one of {', '.join(KERNELS)}")
        _check("noise", self.noise, 0.0, 255.0)
        if self.noise_mode not in NOISE_MODES:
            raise DegradationError(f"noise_mode={self.noise_mode}: choose rgb or grey")
        if self.jpeg is not None and not (1 <= self.jpeg <= 100 and float(self.jpeg).is_integer()):
            raise DegradationError(f"jpeg={self.jpeg}: the quality is a whole number 1..100 (or none)")
        if not (0 <= self.seed < 2**63):
            raise DegradationError(f"seed={self.seed}: a whole number 0..2^63-1")

    @property
    def is_clean(self) -> bool:
        """Only the downscaling kernel: the plain LR of the papers' protocol."""
        return self.blur == 0 and not self.blur_minor and self.noise == 0 and self.jpeg is None

    @property
    def is_random(self) -> bool:
        return self.noise > 0

    def __str__(self) -> str:
        parts = []
        if self.blur or self.blur_minor:
            parts.append(f"blur={_num(self.blur)}" + ("" if self.blur_minor is None or self.blur_minor == self.blur
                                                       else f":{_num(self.blur_minor)}"))
            if self.angle and self.blur_minor is not None and self.blur_minor != self.blur:
                parts.append(f"angle={_num(self.angle)}")
        parts.append(f"kernel={self.kernel}")
        if self.noise:
            parts.append(f"noise={_num(self.noise)}")
            if self.noise_mode != "rgb":
                parts.append(f"noise_mode={self.noise_mode}")
        if self.jpeg is not None:
            parts.append(f"jpeg={self.jpeg}")
        if self.is_random:
            parts.append(f"seed={self.seed}")
        return ",".join(parts)

    def with_value(self, key: str, value) -> "Chain":
        """The chain with one key set from text or a number (a sweep's step); DegradationError if bad."""
        return parse_chain(f"{key}={value}", base=self)

    def as_dict(self) -> dict:
        """Every field (for manifests and JSON)."""
        return {f.name: getattr(self, f.name) for f in fields(self)}


def _num(value: float) -> str:
    return f"{value:g}"


def _check(key: str, value: float, low: float, high: float) -> None:
    if not (math.isfinite(value) and low <= value <= high):
        raise DegradationError(f"{key}={_num(value)}: wants a number from {_num(low)} to {_num(high)}")


def _float(key: str, text: str) -> float:
    try:
        return float(text)
    except ValueError:
        raise DegradationError(f"{key}={text}: not a number") from None


CLEAN = Chain()


def parse_chain(text: str | None, base: Chain | None = None) -> Chain:
    """`blur=1.2,kernel=matlab,noise=5,jpeg=60,seed=0` -> Chain (keys not given keep `base`'s values,
    by default the clean chain). `blur=2:0.5` is anisotropic; `jpeg=none` turns JPEG off.
    A bad string raises DegradationError with one line naming the key."""
    chain = base or CLEAN
    if text is None or not text.strip() or text.strip().lower() in ("none", "clean"):
        return chain
    values: dict = {}
    for item in text.split(","):
        item = item.strip()
        if not item:
            continue
        key, sep, value = item.partition("=")
        key, value = key.strip().lower(), value.strip()
        if not sep or not value:
            raise DegradationError(f"{item!r}: a degradation step is KEY=VALUE (keys: {', '.join(_KEY_ORDER)})")
        if key == "blur":
            major, _, minor = value.partition(":")
            values["blur"] = _float(key, major)
            values["blur_minor"] = _float(key, minor) if minor else None
        elif key in ("angle", "noise"):
            values[key] = _float(key, value)
        elif key in ("kernel", "noise_mode"):
            values[key] = value.lower().replace("gray", "grey")
        elif key == "jpeg":
            if value.lower() in ("none", "off", "0"):
                values["jpeg"] = None
            else:
                quality = _float(key, value)
                if not quality.is_integer():
                    raise DegradationError(f"jpeg={value}: the quality is a whole number 1..100")
                values["jpeg"] = int(quality)
        elif key == "seed":
            try:
                values["seed"] = int(value)
            except ValueError:
                raise DegradationError(f"seed={value}: not a whole number") from None
        else:
            raise DegradationError(f"unknown degradation step {key!r} (keys: {', '.join(_KEY_ORDER)})")
    return replace(chain, **values)


# -- the steps, each usable alone --------------------------------------------------------------------
def gaussian_kernel(sigma: float, sigma_minor: float | None = None, angle: float = 0.0) -> np.ndarray:
    """The (2r+1)x(2r+1) float64 Gaussian blur kernel, r = ceil(3 * largest sigma); sums to 1.
    sigma along `angle` degrees, sigma_minor across it (None: isotropic). Sigma 0 -> [[1.0]]."""
    minor = sigma if sigma_minor is None else sigma_minor
    big = max(sigma, minor)
    if big <= 0:
        return np.ones((1, 1))
    r = max(1, int(math.ceil(3.0 * big)))
    y, x = np.mgrid[-r:r + 1, -r:r + 1].astype(np.float64)
    t = math.radians(angle)
    u = x * math.cos(t) - y * math.sin(t)    # y points down in images: counter-clockwise on screen
    v = x * math.sin(t) + y * math.cos(t)
    eps = 1e-6   # a zero sigma across: a line blur one pixel wide
    k = np.exp(-0.5 * ((u / max(sigma, eps)) ** 2 + (v / max(minor, eps)) ** 2))
    return k / k.sum()


def blur(img: np.ndarray, sigma: float, sigma_minor: float | None = None, angle: float = 0.0) -> np.ndarray:
    """Gaussian blur (borders reflected, float64 maths, rounded back to the dtype)."""
    kernel = gaussian_kernel(sigma, sigma_minor, angle)
    if kernel.shape == (1, 1):
        return img
    import cv2

    data = img.astype(np.float64)
    if sigma_minor is None or sigma_minor == sigma:   # separable: the outer product of one row
        row = kernel.sum(axis=0)
        out = cv2.sepFilter2D(data, cv2.CV_64F, row, row, borderType=cv2.BORDER_REFLECT_101)
    else:
        out = cv2.filter2D(data, cv2.CV_64F, kernel, borderType=cv2.BORDER_REFLECT_101)
    return _round_to(out.reshape(img.shape), img.dtype)


_CV_INTERP = {"bilinear": "INTER_LINEAR", "nearest": "INTER_NEAREST", "area": "INTER_AREA"}


def downscale(hr: np.ndarray, scale: int = 4, kernel: str = "matlab") -> np.ndarray:
    """Mod-crop and shrink by `scale` with one of KERNELS; dtype in == dtype out."""
    if kernel in ("matlab", "opencv"):
        return bicubic_downscale(hr, scale, kernel)
    if kernel not in _CV_INTERP:
        raise DegradationError(f"kernel={kernel}: choose one of {', '.join(KERNELS)}")
    import cv2

    hr = mod_crop(np.asarray(hr), scale)
    h, w = hr.shape[:2]
    if h < scale or w < scale:
        raise ValueError(f"an image of shape {hr.shape} has nothing to downscale by {scale}")
    out = cv2.resize(hr, (w // scale, h // scale), interpolation=getattr(cv2, _CV_INTERP[kernel]))
    return out.reshape((h // scale, w // scale) + hr.shape[2:])


def add_noise(img: np.ndarray, sigma: float, rng: np.random.Generator, grey: bool = False) -> np.ndarray:
    """Additive Gaussian noise of `sigma` (0..255 units), clipped and rounded to the dtype.
    grey: one HxW noise plane added to every channel (luminance-like noise)."""
    if sigma <= 0:
        return img
    unit = 257.0 if img.dtype == np.uint16 else 1.0
    shape = img.shape[:2] + ((1,) if img.ndim == 3 else ()) if grey else img.shape
    noise = rng.standard_normal(shape) * (sigma * unit)
    return _round_to(img.astype(np.float64) + noise, img.dtype)


def jpeg(img: np.ndarray, quality: int) -> np.ndarray:
    """Encode as JPEG at `quality` (Pillow, 4:2:0) and decode again; uint16 goes through 8 bits."""
    from PIL import Image

    wide = img.dtype == np.uint16
    data = (img.astype(np.float64) / 257.0 + 0.5).astype(np.uint8) if wide else img.astype(np.uint8)
    buffer = io.BytesIO()
    Image.fromarray(data).save(buffer, format="JPEG", quality=int(quality))
    out = np.asarray(Image.open(io.BytesIO(buffer.getvalue())).convert("RGB" if data.ndim == 3 else "L"))
    out = out.reshape(img.shape)
    return out.astype(np.uint16) * 257 if wide else out


def _round_to(values: np.ndarray, dtype) -> np.ndarray:
    info = np.iinfo(dtype)
    return np.floor(np.clip(values, info.min, info.max) + 0.5).astype(dtype)


def degrade(hr: np.ndarray, chain: Chain = CLEAN, scale: int = 4) -> np.ndarray:
    """The LR of `hr` under `chain`: mod-crop, blur -> downscale -> noise -> JPEG.
    hr: HxW(x3) uint8/uint16 RGB; returns (H//scale)x(W//scale)(x3), same dtype."""
    hr = np.asarray(hr)
    if hr.dtype not in (np.uint8, np.uint16):
        raise ValueError(f"degrade takes uint8 or uint16 images, not {hr.dtype}")
    hr = mod_crop(hr, scale)
    if chain.blur or chain.blur_minor:
        hr = blur(hr, chain.blur, chain.blur_minor, chain.angle)
    lr = downscale(hr, scale, chain.kernel)
    if chain.noise:
        lr = add_noise(lr, chain.noise, np.random.default_rng(chain.seed), grey=chain.noise_mode == "grey")
    if chain.jpeg is not None:
        lr = jpeg(lr, chain.jpeg)
    return lr
