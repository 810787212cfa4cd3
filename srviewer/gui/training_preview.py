"""Augmentation preview: a batch of the chosen data as each variant sees it, annotated.

The batch and its draws come from `srviewer.train.augment_preview.preview_batch` (the same
generator training uses); this module only draws: one row per variant, flips and brightness
deltas written under each image, the CutMix box outlined with its lambda, the MixUp lambda and
partner. `render_preview(batch) -> QImage`; `AugmentPreviewDialog(folder)` shows it.
"""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import QRect, Qt
from PySide6.QtGui import QColor, QFont, QImage, QPainter, QPen, QPixmap
from PySide6.QtWidgets import QDialog, QLabel, QScrollArea, QVBoxLayout

_CAPTION = 30
_LEFT = 120
_GAP = 6


def to_qimage(rgb: np.ndarray) -> QImage:
    """HxWx3 RGB, uint8 0..255 or float [0, 1] -> a QImage that owns its pixels."""
    if rgb.dtype != np.uint8:
        rgb = np.clip(np.asarray(rgb, np.float32) * 255.0 + 0.5, 0, 255).astype(np.uint8)
    rgb = np.ascontiguousarray(rgb[..., :3])
    h, w = rgb.shape[:2]
    return QImage(rgb.data, w, h, 3 * w, QImage.Format.Format_RGB888).copy()


def _captions(variant: str, info: dict, i: int, classes: list[str], labels) -> list[str]:
    own = classes[int(labels[i])] if len(classes) > int(labels[i]) else str(labels[i])
    if variant == "flip_brightness":
        return ["flipped" if info["flipped"][i] else "not flipped", f"brightness {info['brightness'][i]:+.2f}"]
    if variant in ("cutmix", "mixup"):
        partner = int(info["partner"][i])
        other = classes[int(labels[partner])] if len(classes) > int(labels[partner]) else str(partner)
        return [f"λ={info['lambda']:.2f} {own}", f"+ {1 - info['lambda']:.2f} {other}"]
    return [own]


def render_preview(batch: dict) -> QImage:
    """One annotated picture of `preview_batch(...)`'s result (see augment_preview for the keys)."""
    variants = batch["variants"]
    n, h, w = batch["images"].shape[:3]
    cell_w, cell_h = w + _GAP, h + _CAPTION + _GAP
    canvas = QImage(_LEFT + n * cell_w, len(variants) * cell_h + _GAP, QImage.Format.Format_RGB32)
    canvas.fill(QColor("white"))
    painter = QPainter(canvas)
    small = QFont(painter.font())
    small.setPointSizeF(7.5)
    for row, (variant, result) in enumerate(variants.items()):
        y0 = _GAP + row * cell_h
        painter.setPen(QColor("black"))
        painter.setFont(QFont(small.family(), 10, QFont.Weight.Bold))
        painter.drawText(QRect(4, y0, _LEFT - 8, h), Qt.AlignmentFlag.AlignVCenter | Qt.TextFlag.TextWordWrap,
                         variant.replace("_", " + "))
        painter.setFont(small)
        for i in range(n):
            x0 = _LEFT + i * cell_w
            painter.drawImage(x0, y0, to_qimage(result["images"][i]))
            if variant == "cutmix":
                y1, y2, x1, x2 = result["box"]
                painter.setPen(QPen(QColor(255, 40, 40), 2))
                painter.drawRect(x0 + x1, y0 + y1, max(x2 - x1 - 1, 1), max(y2 - y1 - 1, 1))
            painter.setPen(QColor("black"))
            for k, line in enumerate(_captions(variant, result, i, batch["classes"], batch["labels"])):
                painter.drawText(QRect(x0, y0 + h + 1 + k * 13, w, 13), Qt.AlignmentFlag.AlignLeft, line)
    painter.end()
    return canvas


class AugmentPreviewDialog(QDialog):
    """Shows the preview of a class folder's first batch for every variant."""

    def __init__(self, data, parent=None, n: int = 6, size: int = 128, seed: int = 0, variants=None):
        super().__init__(parent)
        from srviewer.train.augment_preview import preview_batch  # numpy + Pillow, no TensorFlow

        kwargs = {} if variants is None else {"variants": tuple(variants)}
        self.batch = preview_batch(data, n=n, seed=seed, size=size, **kwargs)
        self.image = render_preview(self.batch)
        self.setWindowTitle("Augmentation preview (training batches only)")
        label = QLabel()
        label.setPixmap(QPixmap.fromImage(self.image))
        scroll = QScrollArea()
        scroll.setWidget(label)
        layout = QVBoxLayout(self)
        layout.addWidget(scroll)
        self.resize(min(self.image.width() + 40, 1400), min(self.image.height() + 40, 900))
