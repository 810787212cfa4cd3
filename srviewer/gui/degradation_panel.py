"""The *Degradation* group (reference mode): a control per step of core.degrade's chain, and the sweep.

Widgets only. It reports `chain_changed()` whenever a control moves and `sweep_requested(text)`
("noise=0,5,10,20") when *Plot sweep* is pressed; `chain(default_kernel)` reads the controls into a
core.degrade.Chain and `set_chain(chain)` shows one.
"""

from __future__ import annotations

from PySide6.QtCore import Signal
from PySide6.QtWidgets import (QCheckBox, QComboBox, QDoubleSpinBox, QFormLayout, QGroupBox, QHBoxLayout,
                               QLineEdit, QPushButton, QSpinBox)

from srviewer.core.degrade import CLEAN, Chain

KERNEL_LABELS = {None: "as Kernel above", "matlab": "MATLAB bicubic", "opencv": "OpenCV bicubic",
                 "bilinear": "bilinear", "nearest": "nearest", "area": "area (box)"}
SWEEP_DEFAULTS = {"noise": "0,5,10,20", "blur": "0,0.5,1,1.5,2", "jpeg": "100,80,60,40,20"}


def _spin(low: float, high: float, step: float, decimals: int = 1, suffix: str = "") -> QDoubleSpinBox:
    spin = QDoubleSpinBox()
    spin.setRange(low, high)
    spin.setSingleStep(step)
    spin.setDecimals(decimals)
    spin.setSuffix(suffix)
    spin.setKeyboardTracking(False)   # typed numbers count once complete
    return spin


def _row(*widgets) -> QHBoxLayout:
    row = QHBoxLayout()
    for widget in widgets:
        row.addWidget(widget)
    return row


class DegradationPanel(QGroupBox):
    chain_changed = Signal()
    sweep_requested = Signal(str)

    def __init__(self, parent=None):
        super().__init__("Degradation (reference mode)", parent)
        self.setToolTip("How the LR is made from the ground truth: blur -> downscale -> noise -> JPEG")
        self.blur = _spin(0.0, 20.0, 0.1, 2, " px")
        self.blur.setToolTip("Gaussian blur sigma in HR pixels (0: none)")
        self.anisotropic = QCheckBox("anisotropic")
        self.blur_minor = _spin(0.0, 20.0, 0.1, 2, " px")
        self.blur_minor.setToolTip("sigma across the angle")
        self.angle = _spin(-180.0, 180.0, 15.0, 0, "°")
        self.kernel = QComboBox()
        for key, label in KERNEL_LABELS.items():
            self.kernel.addItem(label, key)
        self.noise = _spin(0.0, 100.0, 1.0, 1)
        self.noise.setToolTip("Gaussian noise sigma in 0..255 units (0: none)")
        self.noise_grey = QCheckBox("grey")
        self.noise_grey.setToolTip("one noise plane on all channels instead of one per channel")
        self.jpeg_on = QCheckBox("JPEG")
        self.jpeg = QSpinBox()
        self.jpeg.setRange(1, 100)
        self.jpeg.setValue(75)
        self.jpeg.setKeyboardTracking(False)
        self.seed = QSpinBox()
        self.seed.setRange(0, 2**31 - 1)
        self.seed.setKeyboardTracking(False)
        self.sweep_key = QComboBox()
        for key in SWEEP_DEFAULTS:
            self.sweep_key.addItem(key, key)
        self.sweep_values = QLineEdit(SWEEP_DEFAULTS["noise"])
        self.sweep_key.currentIndexChanged.connect(
            lambda _i: self.sweep_values.setText(SWEEP_DEFAULTS[self.sweep_key.currentData()]))
        self.sweep_button = QPushButton("Plot sweep")
        self.sweep_button.setToolTip("PSNR-Y / SSIM-Y of the ticked methods against the value, on this image")
        self.sweep_button.clicked.connect(
            lambda: self.sweep_requested.emit(f"{self.sweep_key.currentData()}={self.sweep_values.text()}"))

        sweep_row = _row(self.sweep_key, self.sweep_values)
        sweep_row.setStretch(1, 1)
        form = QFormLayout(self)
        form.addRow("Blur σ", _row(self.blur, self.anisotropic))
        form.addRow("across, angle", _row(self.blur_minor, self.angle))
        form.addRow("Downscale", self.kernel)
        form.addRow("Noise σ", _row(self.noise, self.noise_grey))
        form.addRow("Compress", _row(self.jpeg_on, self.jpeg))
        form.addRow("Seed", self.seed)
        form.addRow("Sweep", sweep_row)
        form.addRow("", self.sweep_button)
        for spin in (self.blur, self.blur_minor, self.angle, self.noise):
            spin.valueChanged.connect(self._changed)
        for spin in (self.jpeg, self.seed):
            spin.valueChanged.connect(self._changed)
        for box in (self.anisotropic, self.noise_grey, self.jpeg_on):
            box.toggled.connect(self._changed)
        self.kernel.currentIndexChanged.connect(self._changed)
        self._update_enabled()

    def _changed(self, *_args) -> None:
        self._update_enabled()
        self.chain_changed.emit()

    def _update_enabled(self) -> None:
        self.blur_minor.setEnabled(self.anisotropic.isChecked())
        self.angle.setEnabled(self.anisotropic.isChecked())
        self.jpeg.setEnabled(self.jpeg_on.isChecked())
        self.noise_grey.setEnabled(self.noise.value() > 0)
        self.seed.setEnabled(self.noise.value() > 0)

    def chain(self, default_kernel: str = "matlab") -> Chain:
        """The controls as a Chain; "as Kernel above" takes `default_kernel`."""
        return Chain(blur=self.blur.value(),
                     blur_minor=self.blur_minor.value() if self.anisotropic.isChecked() else None,
                     angle=self.angle.value() if self.anisotropic.isChecked() else 0.0,
                     kernel=self.kernel.currentData() or default_kernel, noise=self.noise.value(),
                     noise_mode="grey" if self.noise_grey.isChecked() else "rgb",
                     jpeg=self.jpeg.value() if self.jpeg_on.isChecked() else None, seed=self.seed.value())

    def kernel_follows(self) -> bool:
        return self.kernel.currentData() is None

    def set_chain(self, chain: Chain = CLEAN, kernel_follows: bool = False) -> None:
        """Show `chain` (one chain_changed at the end); kernel_follows keeps "as Kernel above"."""
        widgets = (self.blur, self.anisotropic, self.blur_minor, self.angle, self.kernel, self.noise,
                   self.noise_grey, self.jpeg_on, self.jpeg, self.seed)
        for w in widgets:
            w.blockSignals(True)
        try:
            self.blur.setValue(chain.blur)
            self.anisotropic.setChecked(chain.blur_minor is not None)
            self.blur_minor.setValue(chain.blur_minor or 0.0)
            self.angle.setValue(chain.angle)
            self.kernel.setCurrentIndex(self.kernel.findData(None if kernel_follows else chain.kernel))
            self.noise.setValue(chain.noise)
            self.noise_grey.setChecked(chain.noise_mode == "grey")
            self.jpeg_on.setChecked(chain.jpeg is not None)
            self.jpeg.setValue(chain.jpeg or 75)
            self.seed.setValue(min(chain.seed, self.seed.maximum()))
        finally:
            for w in widgets:
                w.blockSignals(False)
        self._changed()
