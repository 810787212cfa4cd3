"""Validation during training: the paper convention on whole images, and a sample strip.

LR is made from each HR image with the run's kernel (the clean protocol, also for runs trained on
degraded patches), or, when the run's degradation asks for `"val": "degraded"`, with one chain per
image drawn with a fixed seed (train.degrade_spec); the generator's output is clipped and
rounded to uint8 (as published figures do) and scored with `metrics.score` (Y, border = scale).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from srviewer.core.conventions import downscale, mod_crop, upscale_bicubic
from srviewer.core.images import from_float, to_uint8, write_image
from srviewer.core.metrics import score
from srviewer.train.sr_data import find_images


class Validator:
    """Holds the validation images and scores a generator on them."""

    def __init__(self, folder: str | Path, scale: int, kernel: str, input_kind: str, degradation=None, seed: int = 0):
        from srviewer.core.degrade import degrade
        from srviewer.core.images import read_image

        self.scale, self.kernel, self.input_kind = scale, kernel, input_kind
        self.items = []
        self.chains: list[str] = []   # the chain that made each image's LR
        for i, path in enumerate(find_images([folder])):
            loaded = read_image(path)
            hr = mod_crop(to_uint8(loaded.rgb), scale)
            chain = None if degradation is None else degradation.validation_chain(i, seed)
            self.chains.append(f"kernel={kernel}" if chain is None else str(chain))
            lr = downscale(hr, scale, kernel) if chain is None else degrade(hr, chain, scale)
            self.items.append((path.stem, hr, lr, loaded.is_grey))
        self._fn, self._fn_model = None, None   # one traced function per model (it holds the model)

    def _predict(self, model, lr_uint8: np.ndarray) -> np.ndarray:
        import tensorflow as tf

        if self._fn is None or self._fn_model is not model:
            self._fn = tf.function(lambda x: model(x, training=False),
                                   input_signature=[tf.TensorSpec([1, None, None, 3], tf.float32)])
            self._fn_model = model
        x = lr_uint8.astype(np.float32) / 255.0
        if self.input_kind == "bicubic":
            x = upscale_bicubic(x, self.scale, self.kernel)
        return np.asarray(self._fn(x[None]))[0]

    def score_each(self, model) -> tuple[list[dict], list[np.ndarray]]:
        """psnr_y/ssim_y/psnr_rgb/ssim_rgb of each image, and the SR images (uint8), in item order."""
        rows, outputs = [], []
        for _name, hr, lr, is_grey in self.items:
            sr = from_float(self._predict(model, lr), 8)
            outputs.append(sr)
            rows.append(score(sr, hr, border=self.scale, is_grey=is_grey))
        return rows, outputs

    def evaluate(self, model) -> tuple[dict, list[np.ndarray]]:
        """Mean psnr_y/ssim_y/psnr_rgb/ssim_rgb over the images, and the SR images (uint8)."""
        rows, outputs = self.score_each(model)
        mean = {k: float(np.mean([r[k] for r in rows])) for k in rows[0]} if rows else {}
        return mean, outputs

    def write_sample(self, path: Path, sr_images: list[np.ndarray], crop: int = 96) -> None:
        """LR (nearest) | bicubic | SR | HR crops of the first image, side by side, magnified x2."""
        if not self.items:
            return
        _name, hr, lr, _ = self.items[0]
        sr = sr_images[0]
        h, w = hr.shape[:2]
        c = min(crop, h, w) // self.scale * self.scale
        y0, x0 = (h - c) // 2 // self.scale * self.scale, (w - c) // 2 // self.scale * self.scale
        s = self.scale
        lr_crop = np.repeat(np.repeat(lr[y0 // s:(y0 + c) // s, x0 // s:(x0 + c) // s], s, 0), s, 1)
        bic = to_uint8(upscale_bicubic(lr, s, self.kernel))[y0:y0 + c, x0:x0 + c]
        tiles = [lr_crop, bic, sr[y0:y0 + c, x0:x0 + c], hr[y0:y0 + c, x0:x0 + c]]
        gap = np.full((c, 4, 3), 255, np.uint8)
        strip = np.concatenate(sum(([t, gap] for t in tiles), [])[:-1], axis=1)
        strip = np.repeat(np.repeat(strip, 2, 0), 2, 1)
        write_image(path, strip)
