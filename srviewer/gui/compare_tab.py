"""The Compare tab: controls on the left, linked panels, the crop strip and the inspection view.

Layout and wiring only. The comparison's state lives in `self.session` (a Qt-free
core.session.ComparisonSession): the tab forwards what the user does to it (Run, the crop box),
hands it the events the `CompareRunner` relays from its worker thread, and redraws on the
session's events. Scores and maps come from the core.
"""

from __future__ import annotations

import math

import numpy as np
from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtWidgets import (QFrame, QHBoxLayout, QLabel, QScrollArea, QSplitter, QTabWidget, QVBoxLayout,
                               QWidget)

from srviewer.core import inspection_images
from srviewer.core.lineage import caption, default_ticks
from srviewer.core.result_cache import ResultCache
from srviewer.core.session import ComparisonSession
from srviewer.gui.compare_view import CompareView
from srviewer.gui.controls_panel import ControlsPanel
from srviewer.gui.crop_panel import CropPanel
from srviewer.gui.degradation_lab import DegradationLab
from srviewer.gui.inspect_view import InspectView
from srviewer.gui.workers import CompareRunner

MAGNIFY = 3


def _fmt(v: float | None, digits: int) -> str:
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return "–"
    return "∞" if math.isinf(v) else f"{v:.{digits}f}"


class CompareTab(QWidget):
    message = Signal(str, str)        # level ("info" | "warning" | "error"), text
    results_shown = Signal()          # every requested method has finished or failed

    def __init__(self, registry, parent=None):
        super().__init__(parent)
        self.runner = CompareRunner(self)
        self.controls = ControlsPanel()
        self.view = CompareView()
        self.crops = CropPanel()
        self.inspector = InspectView()
        self.readout = QLabel("Move the mouse over a panel to read pixel values.")
        self.readout.setTextInteractionFlags(Qt.TextSelectableByMouse)
        self.lower = QTabWidget()
        self.lower.addTab(self.crops, "Crops")
        self.lower.addTab(self.inspector, "Inspect")
        right = QSplitter(Qt.Vertical)
        right.addWidget(self.view)
        right.addWidget(self.lower)
        right.setStretchFactor(0, 2)       # the crop strip (the notebook's figure) gets a third
        right.setStretchFactor(1, 1)
        self.splitter = right
        column = QVBoxLayout()
        column.addWidget(right, 1)
        column.addWidget(self.readout)
        side = QScrollArea()            # the controls scroll rather than hold the window taller than the screen
        side.setWidget(self.controls)
        side.setWidgetResizable(True)
        side.setFrameShape(QFrame.NoFrame)
        side.setHorizontalScrollBarPolicy(Qt.ScrollBarAlwaysOff)
        side.setMinimumWidth(self.controls.sizeHint().width() + side.verticalScrollBar().sizeHint().width())
        layout = QHBoxLayout(self)
        layout.addWidget(side)
        layout.addLayout(column, 1)

        self.session = ComparisonSession(registry, default_crop=True, blind_when_small=True, crop_y_only=True)
        self.session.cache = ResultCache()      # a second Run on the same image shows the kept results at once
        self._crop_timer = QTimer(self)
        self._crop_timer.setSingleShot(True)
        self._crop_timer.setInterval(60)
        self._crop_timer.timeout.connect(self._forward_crop)

        self.controls.run_requested.connect(self.run)
        self.controls.cancel_requested.connect(self.runner.cancel)
        self.controls.convention_changed.connect(lambda _k: self._refresh_overlays())
        self.runner.event_received.connect(self.session.apply)
        self.runner.run_cancelled.connect(self.session.mark_cancelled)
        self.runner.run_failed.connect(self.session.mark_failed)
        self.runner.busy_changed.connect(self.controls.set_busy)
        self.view.crop_changed.connect(lambda _r: self._crop_timer.start())
        self.view.cursor_moved.connect(self._on_cursor_moved)
        events = self.session.events
        events.message.connect(self.message.emit)
        events.mode_changed.connect(lambda mode: self.controls.select(self.controls.mode, mode))
        events.run_started.connect(lambda request: self.controls.reset_progress(request.methods))
        events.prepared.connect(self._on_prepared)
        events.method_started.connect(self._on_method_started)
        events.method_progress.connect(self._on_method_progress)
        events.method_finished.connect(self._on_method_finished)
        events.method_failed.connect(self._on_method_failed)
        events.run_finished.connect(lambda _finished: self.results_shown.emit())
        events.run_cancelled.connect(self._on_run_cancelled)
        events.run_failed.connect(lambda text: self.message.emit("error", text))
        events.crop_changed.connect(self._on_crop_changed)
        self.degradation = DegradationLab(self)   # the Degradation group, live LR, the Sweep page
        self.refresh_methods()

    # -- methods ----------------------------------------------------------------------------
    def refresh_methods(self, checked: list[str] | None = None) -> None:
        """The method list in registry (lineage) order, each with its year; `checked` None ticks the
        defaults (bicubic, SRCNN, SRResNet, SRGAN and any added model)."""
        entries = []
        for method in self.session.registry:
            ok, reason = method.availability()
            hint = getattr(method, "train_hint", lambda: "")()      # shipped weights missing: how to train them
            entries.append((method.name, caption(method.name, getattr(method, "label", method.name)), ok, reason,
                            hint or reason))
        self.controls.set_methods(entries, default_ticks(self.session.registry.names()) if checked is None else checked)

    # -- user actions, forwarded to the session ---------------------------------------------
    def set_image(self, loaded, run: bool = True) -> None:
        if loaded is not self.session.image:
            self.view.fit()          # a new image is shown whole; a re-run keeps the region in view
        self.session.set_image(loaded)
        if run:
            self.run()

    def run(self) -> None:
        """Run the ticked methods with the chosen mode and kernel (the latest request wins)."""
        self.session.set_methods(self.controls.selected_methods())
        self.session.set_mode(self.controls.mode_key())
        self.session.set_kernel(self.controls.kernel_key())
        request = self.session.start()
        if request is not None:
            self.runner.start(request, self.session.registry, cache=self.session.cache)

    def _forward_crop(self) -> None:
        try:
            self.session.set_crop(self.view.crop_rect)
        except ValueError:   # the box was dragged off the image: keep the last scores
            pass

    # -- redrawing on the session's events ----------------------------------------------------
    def _keys(self) -> list[tuple[str, str]]:
        entries = [("LR", "LR input (nearest x4)")]
        for name in self.session.request.methods:
            method = self.session.registry.get(name)
            entries.append((name, getattr(method, "label", name)))
        if self.session.prepared is not None and self.session.prepared.hr is not None:
            entries.append(("HR", "HR (ground truth)"))
        return entries

    def _on_prepared(self, prepared) -> None:
        keys = self._keys()
        self.view.set_panels(keys, aspect=prepared.lr.shape[1] / max(prepared.lr.shape[0], 1))
        self.crops.set_tiles(keys)
        self.view.set_image("LR", prepared.lr, scale=self.session.scale)
        if prepared.hr is not None:
            self.view.set_image("HR", prepared.hr)
        self.view.set_crop(self.session.crop, emit=False)
        self._refresh_overlays()
        self._show_crop()
        self.inspector.link_to(self.view.panels["LR"].view)

    def _on_method_started(self, name: str) -> None:
        self.controls.set_progress(name, 0.0, "running…")
        self.view.set_caption(name, "running…")

    def _on_method_progress(self, name: str, fraction: float) -> None:
        self.controls.set_progress(name, fraction)
        self.view.set_caption(name, f"running… {fraction * 100:.0f}%")

    def _on_method_finished(self, result) -> None:
        self.controls.set_progress(result.name, 1.0, f"{result.seconds:.1f} s")
        self.view.set_image(result.name, result.sr)
        self._show_crop()
        self._update_inspector()
        if result.device and result.device != "CPU (NumPy)":   # a learned method's device: GPU or CPU threads
            self.controls.device.setText(f"Device: {result.device}")

    def _on_method_failed(self, name: str, message: str) -> None:
        self.controls.set_progress(name, 0.0, "failed")
        self.view.set_caption(name, f"<span style='color:#ff7070'>failed: {message[:80]}</span>")
        self.message.emit("error", f"{name}: {message}")

    def _on_run_cancelled(self) -> None:
        for name, state in self.session.status.items():
            if state == "cancelled":
                self.controls.set_progress(name, 0.0, "cancelled")
                self.view.set_caption(name, "cancelled")
        self.message.emit("info", "Run cancelled.")

    # -- overlays, crops, inspection ----------------------------------------------------------
    def convention(self) -> str:
        return self.controls.convention_key()

    def _refresh_overlays(self) -> None:
        suffix = "y" if self.convention() == "y" else "rgb"
        for name, result in self.session.results.items():
            s = result.scores
            if s is None:     # blind mode: the time, the size and the detail added (core.blind_detail)
                h, w = result.sr.shape[:2]
                text = f"{result.seconds:.1f} s, {w}x{h} px"
                if result.detail is not None:
                    text += f"<br>Laplacian detail vs bicubic: image {_fmt(result.detail, 2)}x"
                    crop = self.session.crop_detail.get(name)
                    text += f", crop {_fmt(crop, 2)}x" if crop is not None else ""
            else:
                text = f"image {_fmt(s['psnr_' + suffix], 2)} dB / {_fmt(s['ssim_' + suffix], 4)} ({suffix.upper()})"
                crop = self.session.crop_scores.get(name)
                if crop:
                    text += f"<br>crop {_fmt(crop['psnr_y'], 2)} dB / {_fmt(crop['ssim_y'], 4)} (Y)"
            self.view.set_caption(name, text + self.degradation.caption_line())
        self.degradation.caption_inputs()

    def _on_crop_changed(self, rect) -> None:
        if rect != self.view.crop_rect:   # set by someone else, or clipped to the image
            self.view.set_crop(rect, emit=False)
        self._show_crop()

    def _show_crop(self) -> None:
        """The crop strip (magnified crops with their scores) and the panels' captions."""
        session, prepared = self.session, self.session.prepared
        if session.crop is not None and prepared is not None:
            self.crops.show_crop("LR", inspection_images.magnified(prepared.lr, session.crop_in_lr(), session.scale * MAGNIFY),
                                 "input, nearest")
            for name, result in session.results.items():
                s, detail = session.crop_scores.get(name), session.crop_detail.get(name)
                caption = f"{_fmt(s['psnr_y'], 2)} dB / {_fmt(s['ssim_y'], 4)} (Y, crop)" if s else (
                    f"detail {_fmt(detail, 2)}x bicubic (crop)" if detail is not None else "")
                self.crops.show_crop(name, inspection_images.magnified(result.sr, session.crop, MAGNIFY), caption)
            if prepared.hr is not None:
                self.crops.show_crop("HR", inspection_images.magnified(prepared.hr, session.crop, MAGNIFY), "ground truth")
        self._refresh_overlays()

    def _update_inspector(self) -> None:
        session = self.session
        images = {k: r.sr for k, r in session.results.items()}
        if session.prepared is not None:
            images["LR"] = np.repeat(np.repeat(session.prepared.lr, session.scale, 0), session.scale, 1)
        self.inspector.set_images(images, session.prepared.hr if session.prepared else None)

    def _on_cursor_moved(self, x: float, y: float) -> None:
        values = self.view.values_at(x, y)
        parts = [f"x {int(x)}, y {int(y)}"]
        for key, value in values.items():
            if value is not None:
                parts.append(f"{key}: {tuple(int(v) for v in np.atleast_1d(value))}")
        self.readout.setText("   ".join(parts))
