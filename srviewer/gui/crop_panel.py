"""The strip of magnified crops under the panels: the notebook's comparison figure, live.

Each tile shows the crop box's content of one panel, enlarged by pixel repetition, with its
name and (in reference mode) its PSNR/SSIM inside the crop.
"""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import Qt
from PySide6.QtGui import QImage, QPixmap
from PySide6.QtWidgets import QHBoxLayout, QLabel, QScrollArea, QVBoxLayout, QWidget

TILE_SIDE = 200


def to_pixmap(rgb: np.ndarray) -> QPixmap:
    """RGB HWC uint8 -> QPixmap (copied, so the array may change afterwards)."""
    rgb = np.ascontiguousarray(rgb)
    h, w = rgb.shape[:2]
    image = QImage(rgb.data, w, h, 3 * w, QImage.Format_RGB888)
    return QPixmap.fromImage(image.copy())


class _Tile(QWidget):
    def __init__(self, title: str):
        super().__init__()
        self.image = QLabel()
        self.image.setFixedSize(TILE_SIDE, TILE_SIDE)
        self.image.setAlignment(Qt.AlignCenter)
        self.image.setStyleSheet("background: #eee;")
        self.title = QLabel(f"<b>{title}</b>")
        self.caption = QLabel("")
        layout = QVBoxLayout(self)
        layout.setContentsMargins(2, 2, 2, 2)
        layout.addWidget(self.title)
        layout.addWidget(self.image)
        layout.addWidget(self.caption)


class CropPanel(QScrollArea):
    def __init__(self, parent=None):
        super().__init__(parent)
        self.setWidgetResizable(True)
        self._inner = QWidget()
        self._row = QHBoxLayout(self._inner)
        self._row.addStretch(1)
        self.setWidget(self._inner)
        self.tiles: dict[str, _Tile] = {}
        self.hint = QLabel("Drag or resize the yellow crop box on any panel to compare magnified crops here.")
        self._row.insertWidget(0, self.hint)
        self.setMinimumHeight(TILE_SIDE + 70)

    def set_tiles(self, entries: list[tuple[str, str]]) -> None:
        """entries: (key, title) in display order."""
        for tile in self.tiles.values():
            self._row.removeWidget(tile)
            tile.deleteLater()
        self.tiles.clear()
        for i, (key, title) in enumerate(entries):
            tile = _Tile(title)
            self._row.insertWidget(i, tile)
            self.tiles[key] = tile

    def show_crop(self, key: str, crop: np.ndarray | None, caption: str = "") -> None:
        tile = self.tiles.get(key)
        if tile is None:
            return
        self.hint.hide()
        if crop is None or crop.size == 0:
            tile.image.clear()
        else:
            pix = to_pixmap(crop)
            if max(pix.width(), pix.height()) > TILE_SIDE:
                pix = pix.scaled(TILE_SIDE, TILE_SIDE, Qt.KeepAspectRatio, Qt.FastTransformation)
            tile.image.setPixmap(pix)
        tile.caption.setText(caption)

    def caption(self, key: str) -> str:
        return self.tiles[key].caption.text() if key in self.tiles else ""
