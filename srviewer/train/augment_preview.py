"""What each augmentation variant does to a batch, for the training tab to draw (numpy only).

`preview_batch(data, n=8, seed=0)` takes a class folder (see augment_data) or an image array and
returns the augmented images of every variant with what to draw on them:
  {"images": float32 RGB NHWC [0, 1] (the originals), "labels": int class ids, "classes": names,
   "variants": {
     "none":            {"images", "labels" (one-hot float32)},
     "flip_brightness": {... , "flipped": [bool], "brightness": [delta]},
     "cutmix":          {... , "box": (y1, y2, x1, x2) in pixels, "lambda": own-image weight
                         (= 1 - box area / image area), "lambda_sampled", "partner": [index]},
     "mixup":           {... , "lambda", "partner": [index]}}}
The same (seed, batch) generator as training is used, so the preview shows real draws.
"""

from __future__ import annotations

import numpy as np

from srviewer.train.augment_data import load_preview_images
from srviewer.train.augment_ops import VARIANTS, apply_variant, batch_rng, one_hot


def preview_batch(data, n: int = 8, seed: int = 0, size: int = 160, alpha: float | None = None,
                  labels=None, variants=VARIANTS) -> dict:
    """data: a folder path, or images NHWC RGB (uint8 0..255 or float [0, 1]); see the module doc."""
    if isinstance(data, np.ndarray):
        images = data[:n]
        images = images.astype(np.float32) / 255.0 if images.dtype == np.uint8 else images.astype(np.float32)
        labels = np.arange(len(images)) if labels is None else np.asarray(labels)[:n]
        classes = [str(c) for c in range(int(labels.max()) + 1)]
    else:
        images, labels, classes = load_preview_images(data, n=n, size=size, seed=seed)
    hot = one_hot(labels, len(classes))
    out = {"images": images, "labels": labels, "classes": classes, "variants": {}}
    for variant in variants:
        aug, mixed, info = apply_variant(variant, images, hot, batch_rng(seed, 1, 0), alpha)
        out["variants"][variant] = {"images": aug, "labels": mixed, **info}
    return out
