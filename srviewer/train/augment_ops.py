"""The augmentation experiment's batch operations, as pure numpy functions.

Conventions (every function here): images are a batch **NHWC float32 RGB in [0, 1]**; labels are
**one-hot (or already mixed) float32, N x num_classes**, rows summing to 1. Randomness comes only
from the `numpy.random.Generator` passed in, so a batch is reproducible from its seed; each random
function has a deterministic `*_with` twin taking the drawn values, which the tests check exactly.
Nothing here imports TensorFlow: the training pipeline calls these through `tf.numpy_function`,
and the training tab's preview calls them directly.

- flip_brightness: a horizontal flip with probability 1/2 and a brightness delta uniform in
  [-max_delta, max_delta] added to every channel (as `tf.image.random_brightness`), then clipped
  to [0, 1] so the range stays the one stated above.
- CutMix (Yun et al., ICCV 2019): lambda ~ Beta(alpha, alpha); a box with sides
  sqrt(1 - lambda) * (H, W) centred on a uniform point, clipped to the image, is pasted from a
  shuffled partner; the labels mix by the area actually kept, lambda_adj = 1 - box_area / (H * W).
- MixUp (Zhang et al., ICLR 2018): lambda ~ Beta(alpha, alpha); images and labels both become
  lambda * own + (1 - lambda) * partner's.
One lambda and one partner permutation per batch, as in both papers' reference code.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

VARIANTS = ("none", "flip_brightness", "cutmix", "mixup")
DEFAULT_ALPHA = {"cutmix": 1.0, "mixup": 0.2}
BRIGHTNESS_DELTA = 0.2


class Box(NamedTuple):
    """A half-open pixel box: rows y1:y2, columns x1:x2."""

    y1: int
    y2: int
    x1: int
    x2: int

    @property
    def area(self) -> int:
        return (self.y2 - self.y1) * (self.x2 - self.x1)


def _check_batch(images: np.ndarray, labels: np.ndarray | None = None) -> None:
    if images.ndim != 4 or images.shape[-1] != 3:
        raise ValueError(f"images must be NHWC RGB, got shape {images.shape}")
    if labels is not None and (labels.ndim != 2 or labels.shape[0] != images.shape[0]):
        raise ValueError(f"labels must be N x classes for {images.shape[0]} images, got {labels.shape}")


def one_hot(labels, num_classes: int) -> np.ndarray:
    """Integer class ids (N,) -> float32 one-hot (N, num_classes)."""
    labels = np.asarray(labels, dtype=np.int64)
    out = np.zeros((labels.shape[0], num_classes), np.float32)
    out[np.arange(labels.shape[0]), labels] = 1.0
    return out


# --- flip + brightness --------------------------------------------------------------------------
def flip_brightness_with(images: np.ndarray, flips, deltas) -> np.ndarray:
    """Flip image i left-right where flips[i], add deltas[i] to all its pixels, clip to [0, 1]."""
    _check_batch(images)
    flips = np.asarray(flips, dtype=bool)
    deltas = np.asarray(deltas, dtype=np.float32)
    out = np.where(flips[:, None, None, None], images[:, :, ::-1, :], images)
    out = out + deltas[:, None, None, None]
    return np.clip(out, 0.0, 1.0).astype(np.float32)


def flip_brightness(images, labels, rng: np.random.Generator, max_delta: float = BRIGHTNESS_DELTA):
    """Random flip (p = 1/2) and brightness delta ~ U(-max_delta, max_delta) per image.

    Returns (images, labels unchanged, info) with info = {"flipped": [bool], "brightness": [float]}.
    """
    _check_batch(images, labels)
    n = images.shape[0]
    flips = rng.random(n) < 0.5
    deltas = rng.uniform(-max_delta, max_delta, n).astype(np.float32)
    info = {"flipped": flips.tolist(), "brightness": [float(d) for d in deltas]}
    return flip_brightness_with(images, flips, deltas), labels.astype(np.float32), info


# --- CutMix -------------------------------------------------------------------------------------
def cutmix_box(height: int, width: int, lam: float, cy: int, cx: int) -> Box:
    """The paper's box: sides int(H * sqrt(1 - lam)), int(W * sqrt(1 - lam)) centred on (cy, cx),
    clipped to the image (so its area can be smaller than (1 - lam) * H * W near the border)."""
    cut = np.sqrt(1.0 - lam)
    cut_h, cut_w = int(height * cut), int(width * cut)
    y1, y2 = np.clip([cy - cut_h // 2, cy + cut_h // 2], 0, height)
    x1, x2 = np.clip([cx - cut_w // 2, cx + cut_w // 2], 0, width)
    return Box(int(y1), int(y2), int(x1), int(x2))


def cutmix_with(images: np.ndarray, labels: np.ndarray, partner, box: Box):
    """Paste `box` of images[partner[i]] into image i; labels mix by the area kept.

    Returns (images, labels, lam_adj) with lam_adj = 1 - box.area / (H * W): the fraction of each
    output image that is its own.
    """
    _check_batch(images, labels)
    partner = np.asarray(partner, dtype=np.int64)
    height, width = images.shape[1:3]
    out = images.astype(np.float32, copy=True)
    out[:, box.y1:box.y2, box.x1:box.x2, :] = images[partner, box.y1:box.y2, box.x1:box.x2, :]
    lam_adj = 1.0 - box.area / float(height * width)
    mixed = (lam_adj * labels + (1.0 - lam_adj) * labels[partner]).astype(np.float32)
    return out, mixed, float(lam_adj)


def cutmix(images, labels, rng: np.random.Generator, alpha: float = DEFAULT_ALPHA["cutmix"]):
    """CutMix a batch. Returns (images, labels, info) with info = {"box": (y1, y2, x1, x2),
    "lambda": lam_adj (label weight of the own image), "lambda_sampled": the Beta draw,
    "partner": [index of the image each one took its box from]}."""
    _check_batch(images, labels)
    n, height, width = images.shape[:3]
    lam = float(rng.beta(alpha, alpha))
    partner = rng.permutation(n)
    box = cutmix_box(height, width, lam, int(rng.integers(height)), int(rng.integers(width)))
    out, mixed, lam_adj = cutmix_with(images, labels, partner, box)
    info = {"box": tuple(box), "lambda": lam_adj, "lambda_sampled": lam, "partner": partner.tolist()}
    return out, mixed, info


# --- MixUp --------------------------------------------------------------------------------------
def mixup_with(images: np.ndarray, labels: np.ndarray, partner, lam: float):
    """Convex mix: lam * own + (1 - lam) * partner's, for images and labels alike."""
    _check_batch(images, labels)
    partner = np.asarray(partner, dtype=np.int64)
    out = (lam * images + (1.0 - lam) * images[partner]).astype(np.float32)
    mixed = (lam * labels + (1.0 - lam) * labels[partner]).astype(np.float32)
    return out, mixed


def mixup(images, labels, rng: np.random.Generator, alpha: float = DEFAULT_ALPHA["mixup"]):
    """MixUp a batch. Returns (images, labels, info) with info = {"lambda": lam, "partner": [...]}."""
    _check_batch(images, labels)
    lam = float(rng.beta(alpha, alpha))
    partner = rng.permutation(images.shape[0])
    out, mixed = mixup_with(images, labels, partner, lam)
    return out, mixed, {"lambda": lam, "partner": partner.tolist()}


# --- dispatch -----------------------------------------------------------------------------------
def apply_variant(variant: str, images, labels, rng: np.random.Generator, alpha: float | None = None):
    """Apply one named variant to a training batch -> (images, labels, info)."""
    images = np.asarray(images, dtype=np.float32)
    labels = np.asarray(labels, dtype=np.float32)
    if variant == "none":
        return images, labels, {}
    if variant == "flip_brightness":
        return flip_brightness(images, labels, rng)
    if variant == "cutmix":
        return cutmix(images, labels, rng, DEFAULT_ALPHA["cutmix"] if alpha is None else alpha)
    if variant == "mixup":
        return mixup(images, labels, rng, DEFAULT_ALPHA["mixup"] if alpha is None else alpha)
    raise ValueError(f"unknown variant {variant!r}; choose from {', '.join(VARIANTS)}")


def batch_rng(seed: int, epoch: int, batch: int) -> np.random.Generator:
    """The generator for one training batch: the same for every variant, run and resume."""
    return np.random.default_rng([int(seed), int(epoch), int(batch)])


def parse_variants(text: str) -> list[str]:
    """"none,cutmix" -> ["none", "cutmix"]; unknown or repeated names -> ValueError."""
    names = [part.strip() for part in str(text).split(",") if part.strip()]
    unknown = [name for name in names if name not in VARIANTS]
    if unknown or not names:
        raise ValueError(f"unknown variant(s) {', '.join(unknown) or '(none given)'}; choose from {', '.join(VARIANTS)}")
    if len(set(names)) != len(names):
        raise ValueError(f"variant listed twice in {text!r}")
    return names
