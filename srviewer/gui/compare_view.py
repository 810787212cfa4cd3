"""Synchronised zoomable panels: LR, each method, HR; a crop box mirrored on all of them.

Pan and zoom are linked with pyqtgraph's own view links (`setXLink` / `setYLink`); every panel
shows its image in output pixels (the LR through a x`scale` transform, nearest neighbour), so
the same (x, y) is the same place everywhere. A rebuilt grid (a method added, a new run) keeps
the region the user was looking at; only a fit (F, a new image) shows the whole image. `U` holds
the panel under the mouse out of sync (and back). `F` fits, `1` shows one image pixel per screen
pixel.
"""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QPointF, Qt, QTimer, Signal
from PySide6.QtGui import QTransform
from PySide6.QtWidgets import QVBoxLayout, QWidget

_ROI_PEN = pg.mkPen((255, 200, 0), width=2)


class Panel:
    """One view: a ViewBox with an ImageItem, a crop box and a title/score overlay in its corner."""

    def __init__(self, layout: pg.GraphicsLayout, row: int, col: int, key: str, title: str):
        self.key, self.title = key, title
        self.view: pg.ViewBox = layout.addViewBox(row=row, col=col, lockAspect=True, invertY=True,
                                                  enableMenu=False)
        self.view.setBorder(pg.mkPen("#808080"))
        # A child of the ViewBox itself (not of its image group): pinned to the corner in screen
        # pixels while the image pans and zooms under it.
        self.label = pg.TextItem(anchor=(0, 0), fill=pg.mkBrush(0, 0, 0, 170))
        self.label.setParentItem(self.view)
        self.label.setPos(3, 3)
        self.label.setZValue(20)
        self.label_text = ""
        self.image = pg.ImageItem(axisOrder="row-major")
        self.view.addItem(self.image)
        self.roi = pg.RectROI([0, 0], [64, 64], pen=_ROI_PEN, movable=True, resizable=True, rotatable=False)
        self.roi.setZValue(10)
        self.roi.hide()
        self.view.addItem(self.roi, ignoreBounds=True)
        self.view.disableAutoRange()  # F fits explicitly; an auto range would re-fit at each paint
        self.array: np.ndarray | None = None
        self.scale = 1
        self.linked = True
        self.overlay = ""

    def set_array(self, array: np.ndarray | None, scale: int = 1) -> None:
        self.array, self.scale = array, scale
        if array is None:
            self.image.clear()
            return
        self.image.setImage(array, autoLevels=False, levels=(0, 255))
        self.image.setTransform(QTransform.fromScale(scale, scale))

    def set_caption(self, overlay: str) -> None:
        self.overlay = overlay
        sync = "" if self.linked else "  [unlinked]"
        text = f"<b>{self.title}</b>{sync}" + (f"<br>{overlay}" if overlay else "")
        self.label_text = text
        self.label.setHtml(f"<div style='color:#ffffff; font-size:9pt'>{text}</div>")

    def value_at(self, x: float, y: float):
        """The pixel value at output coordinates (x, y), or None outside the image."""
        if self.array is None:
            return None
        col, row = int(x // self.scale), int(y // self.scale)
        if 0 <= row < self.array.shape[0] and 0 <= col < self.array.shape[1]:
            return self.array[row, col]
        return None


class CompareView(QWidget):
    crop_changed = Signal(object)           # (x, y, w, h) in output pixels
    cursor_moved = Signal(float, float)     # output pixel coordinates

    def __init__(self, parent=None):
        super().__init__(parent)
        self.graphics = pg.GraphicsLayoutWidget()
        self.graphics.setBackground("#303030")
        self.layout_ = self.graphics.ci
        box = QVBoxLayout(self)
        box.setContentsMargins(0, 0, 0, 0)
        box.addWidget(self.graphics)
        self.panels: dict[str, Panel] = {}
        self._order: list[str] = []
        self._syncing = False
        self.crop_rect: tuple[int, int, int, int] | None = None
        self.graphics.scene().sigMouseMoved.connect(self._on_mouse_moved)
        self._hover: str | None = None
        self.auto_fit = True   # keep fitting on resize until the user pans or zooms
        self.held_region = None  # (x_range, y_range) kept through re-layouts while not fitting
        self.setFocusPolicy(Qt.StrongFocus)

    # -- building ---------------------------------------------------------------------------
    def best_columns(self, n: int, aspect: float) -> int:
        """The column count that shows n panels of width/height `aspect` the largest."""
        width, height = max(self.graphics.width(), 1), max(self.graphics.height(), 1)

        def panel_scale(cols: int) -> float:
            rows = -(-n // cols)
            return min(width / cols / aspect, height / rows)

        return max(range(1, n + 1), key=panel_scale)

    def set_panels(self, entries: list[tuple[str, str]], columns: int | None = None,
                   aspect: float | None = None) -> None:
        """Rebuild the grid: entries are (key, title) in display order; aspect = image width/height.
        The region shown stays (unless the view is fitting the image)."""
        if not self.auto_fit and self.panels:
            self.held_region = tuple(tuple(r) for r in self.panels[self._order[0]].view.viewRange())
        self.layout_.clear()
        self.panels.clear()
        self._order = [k for k, _ in entries]
        n = len(entries)
        if columns is None and aspect:
            columns = self.best_columns(n, aspect)
        columns = columns or (n if n <= 4 else (3 if n <= 6 else 4))
        master = None
        for i, (key, title) in enumerate(entries):
            panel = Panel(self.layout_, i // columns, i % columns, key, title)
            if master is None:
                master = panel.view
            else:
                panel.view.setXLink(master)
                panel.view.setYLink(master)
            panel.roi.sigRegionChanged.connect(lambda roi, k=key: self._on_roi_moved(k))
            panel.view.sigRangeChangedManually.connect(self._on_user_zoomed)
            panel.view.sigResized.connect(lambda _vb: QTimer.singleShot(0, self, self._auto_refit))
            if master is panel.view:
                panel.view.sigResized.connect(lambda _vb: QTimer.singleShot(0, self, self._hold_region))
            self.panels[key] = panel
            panel.set_caption("")
        # Equal cells, so linked views (same range per pixel) show the same part of the image.
        grid = self.layout_.layout
        for col in range(columns):
            grid.setColumnStretchFactor(col, 1)
        for row in range(-(-n // columns)):
            grid.setRowStretchFactor(row, 1)
        if self.crop_rect is not None:
            self.set_crop(self.crop_rect, emit=False)
        self._hold_region()
        QTimer.singleShot(0, self, self._hold_region)   # again once the layout has given the views their size

    def _hold_region(self) -> None:
        """Show the held region again (new views start elsewhere; resized ones keep their old scale)."""
        if self.auto_fit or self.held_region is None or not self.panels:
            return
        (x0, x1), (y0, y1) = self.held_region
        view = self.panels[self._order[0]].view
        view.setRange(xRange=(x0, x1), yRange=(y0, y1), padding=0)

    def set_image(self, key: str, array: np.ndarray | None, scale: int = 1) -> None:
        panel = self.panels[key]
        panel.set_array(array, scale)
        if self.auto_fit and array is not None:
            self.fit()
            QTimer.singleShot(0, self, self._auto_refit)  # again once the layout has given the views their size

    def _on_user_zoomed(self, *_args) -> None:
        self.auto_fit = False
        self.held_region = None     # the user's own range from now on

    def _auto_refit(self) -> None:
        if self.auto_fit:
            self.fit()

    def resizeEvent(self, event) -> None:  # noqa: N802 - Qt's name
        super().resizeEvent(event)
        QTimer.singleShot(0, self, self._auto_refit)

    def set_caption(self, key: str, text: str) -> None:
        if key in self.panels:
            self.panels[key].set_caption(text)

    # -- view control -----------------------------------------------------------------------
    def _extent(self) -> tuple[float, float]:
        sizes = [(p.array.shape[1] * p.scale, p.array.shape[0] * p.scale) for p in self.panels.values()
                 if p.array is not None]
        return max(sizes) if sizes else (1.0, 1.0)

    def fit(self) -> None:
        """Show the whole image in every panel (the F key); panels stay linked."""
        self.auto_fit = True
        self.held_region = None
        w, h = self._extent()
        # The first panel and any held out of sync; linked panels follow the first by their link.
        for i, panel in enumerate(self.panels.values()):
            if i == 0 or not panel.linked:
                panel.view.setRange(xRange=(0, w), yRange=(0, h), padding=0.02)

    def one_to_one(self) -> None:
        """One image pixel per screen pixel, centred on the current view."""
        if not self.panels:
            return
        self.auto_fit, self.held_region = False, None     # kept until the user or F changes it
        view = self.panels[self._order[0]].view
        rect = view.viewRect()
        screen = view.screenGeometry() if hasattr(view, "screenGeometry") else None
        width_px = view.width() if screen is None else screen.width()
        height_px = view.height() if screen is None else screen.height()
        cx, cy = rect.center().x(), rect.center().y()
        view.setRange(xRange=(cx - width_px / 2, cx + width_px / 2), yRange=(cy - height_px / 2, cy + height_px / 2),
                      padding=0)

    def show_region(self, x_range, y_range, key: str | None = None) -> None:
        """Zoom to a region (output pixels) as a user would; linked panels follow."""
        self.auto_fit, self.held_region = False, None
        self.panels[key or self._order[0]].view.setRange(xRange=x_range, yRange=y_range, padding=0)

    def view_range(self, key: str):
        return self.panels[key].view.viewRange()

    def toggle_link(self, key: str | None = None) -> None:
        """Hold one panel out of sync (or put it back), the one under the mouse by default."""
        key = key or self._hover
        if key is None or key not in self.panels or key == self._order[0]:
            return
        panel = self.panels[key]
        master = self.panels[self._order[0]].view
        panel.linked = not panel.linked
        panel.view.setXLink(master if panel.linked else None)
        panel.view.setYLink(master if panel.linked else None)
        if panel.linked:
            xr, yr = master.viewRange()
            panel.view.setRange(xRange=xr, yRange=yr, padding=0)
        panel.set_caption(panel.overlay)

    def keyPressEvent(self, event) -> None:  # noqa: N802 - Qt's name
        key = event.key()
        if key == Qt.Key_F:
            self.fit()
        elif key == Qt.Key_1:
            self.one_to_one()
        elif key == Qt.Key_U:
            self.toggle_link()
        else:
            super().keyPressEvent(event)

    # -- crop box ---------------------------------------------------------------------------
    def set_crop(self, rect, emit: bool = True) -> None:
        self.crop_rect = None if rect is None else tuple(int(round(v)) for v in rect)
        self._syncing = True
        try:
            for panel in self.panels.values():
                if self.crop_rect is None:
                    panel.roi.hide()
                    continue
                x, y, w, h = self.crop_rect
                panel.roi.setPos(QPointF(x, y), update=False, finish=False)
                panel.roi.setSize(QPointF(w, h), update=False, finish=False)
                panel.roi.stateChanged(finish=False)
                panel.roi.show()
        finally:
            self._syncing = False
        if emit:
            self.crop_changed.emit(self.crop_rect)

    def _on_roi_moved(self, key: str) -> None:
        if self._syncing:
            return
        roi = self.panels[key].roi
        pos, size = roi.pos(), roi.size()
        self.set_crop((pos.x(), pos.y(), max(1.0, size.x()), max(1.0, size.y())))

    # -- cursor -----------------------------------------------------------------------------
    def _on_mouse_moved(self, scene_pos) -> None:
        for key, panel in self.panels.items():
            if panel.view.sceneBoundingRect().contains(scene_pos):
                self._hover = key
                point = panel.view.mapSceneToView(scene_pos)
                self.cursor_moved.emit(point.x(), point.y())
                return

    def values_at(self, x: float, y: float) -> dict[str, object]:
        return {key: panel.value_at(x, y) for key, panel in self.panels.items()}
