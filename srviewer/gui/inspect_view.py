"""Inspection: error map |method - HR| on one shared scale, SSIM map, swipe and flicker.

All maps come from `core.inspection_images`; this view only picks what to draw. Its view follows the
comparison panels' zoom (one way), so it shows the same part.
"""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt, QTimer
from PySide6.QtWidgets import QComboBox, QHBoxLayout, QLabel, QSlider, QVBoxLayout, QWidget

from srviewer.core import inspection_images

MODES = {"error": "Error map |method - HR|", "ssim": "SSIM map (Y)", "swipe": "Swipe A | B",
         "flicker": "Flicker A / B"}


class InspectView(QWidget):
    def __init__(self, parent=None):
        super().__init__(parent)
        self.mode = QComboBox()
        for key, text in MODES.items():
            self.mode.addItem(text, key)
        self.a, self.b = QComboBox(), QComboBox()
        self.slider = QSlider(Qt.Horizontal)
        self.slider.setRange(0, 1000)
        self.slider.setValue(500)
        self.info = QLabel("")
        top = QHBoxLayout()
        for w in (QLabel("Show"), self.mode, QLabel("A"), self.a, QLabel("B"), self.b, self.slider):
            top.addWidget(w)
        self.graphics = pg.GraphicsLayoutWidget()
        self.graphics.setBackground("w")
        self.view = self.graphics.addViewBox(lockAspect=True, invertY=True, enableMenu=False)
        self.image = pg.ImageItem(axisOrder="row-major")
        self.view.addItem(self.image)
        self.colorbar = None
        layout = QVBoxLayout(self)
        layout.addLayout(top)
        layout.addWidget(self.graphics, 1)
        layout.addWidget(self.info)
        self.images: dict[str, np.ndarray] = {}
        self.hr: np.ndarray | None = None
        self._flip = False
        self.timer = QTimer(self)
        self.timer.setInterval(500)
        self.timer.timeout.connect(self._on_flicker)
        for signal in (self.mode.currentIndexChanged, self.a.currentIndexChanged, self.b.currentIndexChanged,
                       self.slider.valueChanged):
            signal.connect(self.refresh)
        self._error_cache: tuple | None = None

    def link_to(self, view: pg.ViewBox) -> None:
        """Follow the panels' zoom one way: a two-way pyqtgraph link from this view (in a hidden tab,
        of another size) would push its own range back into the panels whenever it is resized."""
        self._master = view
        view.sigRangeChanged.connect(self._follow_master)
        self._follow_master()

    def _follow_master(self, *_args) -> None:
        master = getattr(self, "_master", None)
        if master is None:
            return
        try:
            rect = master.viewRect()
        except RuntimeError:  # the panel was deleted (a new run rebuilt the grid)
            return
        self.view.setRange(rect, padding=0)

    def showEvent(self, event) -> None:  # noqa: N802 - Qt's name
        super().showEvent(event)
        self._follow_master()

    def set_images(self, images: dict[str, np.ndarray], hr: np.ndarray | None) -> None:
        """images: name -> RGB uint8 at output size (LR already enlarged), hr: RGB uint8 or None."""
        self.images, self.hr, self._error_cache = dict(images), hr, None
        for combo, default in ((self.a, 0), (self.b, 1)):
            current = combo.currentData()
            combo.blockSignals(True)
            combo.clear()
            for name in self.images:
                combo.addItem(name, name)
            if current in self.images:
                combo.setCurrentIndex(combo.findData(current))
            elif combo.count() > default:
                combo.setCurrentIndex(default)
            combo.blockSignals(False)
        self.refresh()

    def _methods(self) -> dict[str, np.ndarray]:
        return {k: v for k, v in self.images.items() if k not in ("LR", "HR")}

    def refresh(self) -> None:
        mode = self.mode.currentData()
        if mode == "flicker":
            if not self.timer.isActive():
                self.timer.start()
        else:
            self.timer.stop()
        self.slider.setVisible(mode == "swipe")
        a, b = self.images.get(self.a.currentData()), self.images.get(self.b.currentData())
        if mode in ("error", "ssim"):
            if self.hr is None:
                self.image.clear()
                self.info.setText("Error and SSIM maps need reference mode (a ground truth).")
                return
            name = self.a.currentData()
            if name not in self.images or self.images[name].shape != self.hr.shape:
                self.image.clear()
                return
            if mode == "error":
                if self._error_cache is None:
                    self._error_cache = inspection_images.error_maps(self._methods(), self.hr)
                maps, level = self._error_cache
                m = maps.get(name, inspection_images.error_maps({name: self.images[name]}, self.hr)[0][name])
                self._show_map(m, (0.0, level), "inferno")
                self.info.setText(f"|{name} - HR|, mean over RGB; one scale for every method: 0 .. {level:.1f}")
            else:
                m = inspection_images.ssim_maps({name: self.images[name]}, self.hr)[name]
                self._show_map(m, (0.0, 1.0), "viridis")
                self.info.setText(f"SSIM of {name} against HR on Y, per pixel (1 = identical)")
        elif mode == "swipe" and a is not None and b is not None and a.shape == b.shape:
            self.image.setLookupTable(None)
            self.image.setImage(inspection_images.swipe(a, b, self.slider.value() / 1000), autoLevels=False, levels=(0, 255))
            self.info.setText(f"{self.a.currentData()} left of the line, {self.b.currentData()} right of it")
        elif mode == "flicker" and a is not None and b is not None:
            self._on_flicker()

    def _show_map(self, m: np.ndarray, levels, cmap: str) -> None:
        self.image.setImage(m, autoLevels=False, levels=levels)
        self.image.setColorMap(pg.colormap.get(cmap))

    def _on_flicker(self) -> None:
        if self.mode.currentData() != "flicker":
            return
        self._flip = not self._flip
        name = self.a.currentData() if self._flip else self.b.currentData()
        img = self.images.get(name)
        if img is None:
            return
        self.image.setLookupTable(None)
        self.image.setImage(img, autoLevels=False, levels=(0, 255))
        self.info.setText(f"showing {name} (flicker every {self.timer.interval()} ms)")
