"""The comparison controls: mode, methods, kernel, metric convention, device, run and cancel.

A progress bar per method shows where the worker is. The panel only reports what the user
chose (`run_requested`, `cancel_requested`, `add_model_requested`, `add_result_requested`, files
dropped onto the method list: `files_dropped`); the main window acts.
"""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (QCheckBox, QComboBox, QFormLayout, QHBoxLayout, QLabel, QProgressBar,
                               QPushButton, QVBoxLayout, QWidget)

from srviewer.gui.drop_box import FileDropBox

CONVENTIONS = {"y": "Y channel, border = scale (papers)", "rgb": "RGB, border = scale"}


class ControlsPanel(QWidget):
    run_requested = Signal()
    cancel_requested = Signal()
    add_model_requested = Signal()
    add_result_requested = Signal()
    files_dropped = Signal(list)      # paths dropped onto the method list
    convention_changed = Signal(str)

    def __init__(self, parent=None):
        super().__init__(parent)
        self.mode = QComboBox()
        self.mode.addItem("Reference: image is ground truth", "reference")
        self.mode.addItem("Blind: image is the LR input", "blind")
        self.kernel = QComboBox()
        self.kernel.addItem("MATLAB bicubic (papers)", "matlab")
        self.kernel.addItem("OpenCV INTER_CUBIC (notebook)", "opencv")
        self.convention = QComboBox()
        for key, text in CONVENTIONS.items():
            self.convention.addItem(text, key)
        self.convention.currentIndexChanged.connect(lambda _i: self.convention_changed.emit(self.convention_key()))
        form = QFormLayout()
        form.addRow("Mode", self.mode)
        form.addRow("Kernel", self.kernel)
        form.addRow("Metrics", self.convention)
        self.device = QLabel("Device: not loaded yet (TensorFlow starts with the first learned method)")
        self.device.setWordWrap(True)
        self.methods_box = FileDropBox("Methods")
        self.methods_box.setToolTip("Drop a model file or a result image here to add it as a method")
        self.methods_box.files_dropped.connect(self.files_dropped)
        self.methods_layout = QVBoxLayout(self.methods_box)
        self.checks: dict[str, QCheckBox] = {}
        self.bars: dict[str, QProgressBar] = {}
        self.notes: dict[str, QLabel] = {}           # why a method is unavailable (greyed)
        self.add_model = QPushButton("Add model file…")
        self.add_model.clicked.connect(self.add_model_requested)
        self.add_result = QPushButton("Add result image…")
        self.add_result.setToolTip("An image made elsewhere (your own model's output) as a method")
        self.add_result.clicked.connect(self.add_result_requested)
        adding = QHBoxLayout()
        adding.addWidget(self.add_model)
        adding.addWidget(self.add_result)
        self.run = QPushButton("Run")
        self.run.setDefault(True)
        self.cancel = QPushButton("Cancel")
        self.cancel.setEnabled(False)
        self.run.clicked.connect(self.run_requested)
        self.cancel.clicked.connect(self.cancel_requested)
        buttons = QHBoxLayout()
        buttons.addWidget(self.run)
        buttons.addWidget(self.cancel)
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(self.methods_box)
        layout.addLayout(adding)
        layout.addLayout(buttons)
        layout.addWidget(self.device)
        layout.addStretch(1)
        self.setMaximumWidth(340)

    def set_methods(self, methods: list[tuple[str, str, bool, str]], checked: list[str] | None = None) -> None:
        """methods: (name, label, available, reason[, note]). Unavailable ones are greyed, the reason
        as their tooltip and the note (default: the reason; for missing shipped weights the command
        that trains them) under them in place of the progress bar."""
        for widget in list(self.checks.values()) + list(self.bars.values()) + list(self.notes.values()):
            self.methods_layout.removeWidget(widget)
            widget.deleteLater()
        self.checks.clear()
        self.bars.clear()
        self.notes.clear()
        for name, label, available, reason, *note in methods:
            box = QCheckBox(label)
            box.setEnabled(available)
            box.setChecked(available and (checked is None or name in checked))
            box.setToolTip(reason if not available else f"method '{name}'")
            bar = QProgressBar()
            bar.setRange(0, 1000)
            bar.setValue(0)
            bar.setTextVisible(True)
            bar.setFormat("" if available else "unavailable")
            bar.setMaximumHeight(12)
            self.methods_layout.addWidget(box)
            self.checks[name], self.bars[name] = box, bar
            if available:
                self.methods_layout.addWidget(bar)
                continue
            text = QLabel(note[0] if note else reason)
            text.setWordWrap(True)
            text.setToolTip(reason)
            text.setTextInteractionFlags(Qt.TextSelectableByMouse)     # the train command can be copied
            text.setStyleSheet("color: palette(mid); font-size: 7pt; margin-left: 4px;")
            text.setEnabled(False)
            self.methods_layout.addWidget(text)
            self.notes[name] = text

    def selected_methods(self) -> list[str]:
        return [name for name, box in self.checks.items() if box.isChecked() and box.isEnabled()]

    def mode_key(self) -> str:
        return self.mode.currentData()

    def kernel_key(self) -> str:
        return self.kernel.currentData()

    def convention_key(self) -> str:
        return self.convention.currentData()

    def select(self, combo: QComboBox, key: str) -> None:
        index = combo.findData(key)
        if index >= 0:
            combo.setCurrentIndex(index)

    def set_busy(self, busy: bool) -> None:
        self.run.setText("Run again" if busy else "Run")
        self.cancel.setEnabled(busy)

    def reset_progress(self, names: list[str]) -> None:
        for name, bar in self.bars.items():
            bar.setValue(0)
            bar.setFormat("queued" if name in names else bar.format() if not self.checks[name].isEnabled() else "")

    def set_progress(self, name: str, fraction: float, text: str | None = None) -> None:
        bar = self.bars.get(name)
        if bar is not None:
            bar.setValue(int(round(fraction * 1000)))
            bar.setFormat(text if text is not None else f"{fraction * 100:.0f}%")
