"""The strip of magnified crops under the panels: the notebook's comparison figure, live.

Each tile shows the crop box's content of one panel, enlarged (nearest neighbour), with its name
and (in reference mode) its PSNR/SSIM inside the crop. Every tile is shown at once, the HR one
included: the tiles share one size, the largest that fits the strip, in as many rows as give
them the most room (`grid_for`); a scroll bar appears only when even the smallest tiles do not fit.
"""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import Qt
from PySide6.QtGui import QImage, QPixmap
from PySide6.QtWidgets import QGridLayout, QLabel, QScrollArea, QSizePolicy, QVBoxLayout, QWidget

MIN_SIDE = 64          # the smallest tile image side before a scroll bar is allowed
MAX_SIDE = 480         # larger tiles only spread a few pixels further
SPACING = 4


def to_pixmap(rgb: np.ndarray) -> QPixmap:
    """RGB HWC uint8 -> QPixmap (copied, so the array may change afterwards)."""
    rgb = np.ascontiguousarray(rgb)
    h, w = rgb.shape[:2]
    image = QImage(rgb.data, w, h, 3 * w, QImage.Format_RGB888)
    return QPixmap.fromImage(image.copy())


def fit_nearest(rgb: np.ndarray, width: int, height: int) -> np.ndarray:
    """rgb resampled (nearest neighbour) to the largest size within width x height, aspect kept:
    only the pixels shown are converted for Qt (a magnified crop can be a few megapixels)."""
    h, w = rgb.shape[:2]
    factor = min(width / w, height / h)
    tw, th = max(1, round(w * factor)), max(1, round(h * factor))
    rows = np.minimum((np.arange(th) + 0.5) * h / th, h - 1).astype(np.intp)
    cols = np.minimum((np.arange(tw) + 0.5) * w / tw, w - 1).astype(np.intp)
    return rgb[rows[:, None], cols[None, :]]


def grid_for(n: int, width: float, height: float, aspect: float, text_height: float) -> tuple[int, int, int]:
    """(rows, columns, image width) that show n tiles of width/height `aspect` the largest in a
    width x height area, each tile with `text_height` pixels of title and caption."""
    best = (1, max(n, 1), 0)
    for rows in range(1, max(n, 1) + 1):
        cols = -(-n // rows)
        w = min((width - SPACING * (cols + 1)) / cols,
                ((height - SPACING * (rows + 1)) / rows - text_height) * aspect)
        if w > best[2]:
            best = (rows, cols, int(w))
    return best


class _Tile(QWidget):
    def __init__(self, title: str):
        super().__init__()
        self.image = QLabel()
        self.image.setAlignment(Qt.AlignCenter)
        self.image.setStyleSheet("background: #eee;")
        self.title_text = title
        self.title = QLabel()
        self.title.setToolTip(title)
        font = self.title.font()
        font.setBold(True)
        self.title.setFont(font)
        self.caption = QLabel("")
        self.caption_text = ""
        for label in (self.title, self.caption):
            label.setSizePolicy(QSizePolicy.Ignored, QSizePolicy.Fixed)   # long text never widens a tile
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(1)
        layout.addWidget(self.title)
        layout.addWidget(self.image)
        layout.addWidget(self.caption)
        self.crop: np.ndarray | None = None

    def set_image_size(self, w: int, h: int) -> None:
        self.image.setFixedSize(w, h)
        self.setFixedWidth(w)
        self._render()
        self._elide()

    def set_caption(self, text: str) -> None:
        self.caption_text = text
        self.caption.setToolTip(text)
        self._elide()

    def _elide(self) -> None:
        """Titles and captions cut with an ellipsis to the tile's width (the whole text is the tooltip)."""
        width = self.image.width()
        self.title.setText(self.title.fontMetrics().elidedText(self.title_text, Qt.ElideRight, width))
        self.caption.setText(self.caption.fontMetrics().elidedText(self.caption_text, Qt.ElideRight, width))

    def set_crop(self, crop: np.ndarray | None) -> None:
        self.crop = None if crop is None or crop.size == 0 else crop
        self._render()

    def _render(self) -> None:
        if self.crop is None:
            self.image.clear()
            return
        self.image.setPixmap(to_pixmap(fit_nearest(self.crop, self.image.width(), self.image.height())))


class CropPanel(QScrollArea):
    def __init__(self, parent=None):
        super().__init__(parent)
        self.setWidgetResizable(True)
        self.setHorizontalScrollBarPolicy(Qt.ScrollBarAsNeeded)
        self._inner = QWidget()
        self._grid = QGridLayout(self._inner)
        self._grid.setContentsMargins(SPACING, SPACING, SPACING, SPACING)
        self._grid.setSpacing(SPACING)
        self._grid.setAlignment(Qt.AlignLeft | Qt.AlignTop)   # tiles side by side, the spare room to the right
        self.setWidget(self._inner)
        self.tiles: dict[str, _Tile] = {}
        self.aspect = 1.0                     # the crop box's width / height
        self.grid = (1, 1, 0)                 # rows, columns, image width (see grid_for)
        self.hint = QLabel("Drag or resize the yellow crop box on any panel to compare magnified crops here.")
        self._grid.addWidget(self.hint, 0, 0)
        self.setMinimumHeight(MIN_SIDE + 3 * self.fontMetrics().height())

    def _text_height(self) -> int:
        return 2 * self.fontMetrics().height() + 6

    def set_tiles(self, entries: list[tuple[str, str]]) -> None:
        """entries: (key, title) in display order."""
        for tile in self.tiles.values():
            self._grid.removeWidget(tile)
            tile.deleteLater()
        self.tiles = {key: _Tile(title) for key, title in entries}
        self.hint.setVisible(not self.tiles)
        self._relayout()

    def _relayout(self) -> None:
        if not self.tiles:
            return
        area = self.viewport().size()
        rows, cols, width = grid_for(len(self.tiles), area.width(), area.height(), self.aspect, self._text_height())
        width = max(MIN_SIDE, min(MAX_SIDE, width))
        self.grid = (rows, cols, width)
        for tile in self.tiles.values():
            self._grid.removeWidget(tile)
        for i, tile in enumerate(self.tiles.values()):
            self._grid.addWidget(tile, i // cols, i % cols)
            tile.set_image_size(width, max(1, round(width / self.aspect)))

    def resizeEvent(self, event) -> None:  # noqa: N802 - Qt's name
        super().resizeEvent(event)
        self._relayout()

    def show_crop(self, key: str, crop: np.ndarray | None, caption: str = "") -> None:
        tile = self.tiles.get(key)
        if tile is None:
            return
        self.hint.hide()
        if crop is not None and crop.size:
            aspect = crop.shape[1] / crop.shape[0]
            if abs(aspect - self.aspect) > 1e-3:
                self.aspect = aspect
                self._relayout()
        tile.set_crop(crop)
        tile.set_caption(caption)

    def caption(self, key: str) -> str:
        """The tile's whole caption (the label may show it cut to the tile's width)."""
        return self.tiles[key].caption_text if key in self.tiles else ""
