"""The Compare tab: controls on the left, linked panels, the crop strip and the inspection view.

It holds the current image, the methods registry and the results of the last run, starts runs
on the `CompareRunner` and shows their events as they arrive. Scores and maps come from the core.
"""

from __future__ import annotations

import math

import numpy as np
from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtWidgets import QHBoxLayout, QLabel, QSplitter, QTabWidget, QVBoxLayout, QWidget

from srviewer.core import compare as cmp
from srviewer.core import inspection_images
from srviewer.core.lineage import caption, default_ticks
from srviewer.core.metrics import score_region
from srviewer.gui.compare_view import CompareView
from srviewer.gui.controls_panel import ControlsPanel
from srviewer.gui.crop_panel import CropPanel
from srviewer.gui.inspect_view import InspectView
from srviewer.gui.workers import CompareRunner

MAGNIFY = 3


def _fmt(v: float | None, digits: int) -> str:
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return "–"
    return "∞" if math.isinf(v) else f"{v:.{digits}f}"


def crop_caption_scores(sr, hr, rect, is_grey: bool) -> dict[str, float]:
    """The crop caption's psnr_y/ssim_y: `metrics.score_region` (what metrics.csv holds); nan outside."""
    try:
        return score_region(sr, hr, rect, is_grey=is_grey, y_only=True)
    except ValueError:
        return {"psnr_y": math.nan, "ssim_y": math.nan}


class CompareTab(QWidget):
    message = Signal(str, str)        # level ("info" | "warning" | "error"), text
    results_shown = Signal()          # every requested method has finished or failed

    def __init__(self, registry, parent=None):
        super().__init__(parent)
        self.registry = registry
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
        right.setStretchFactor(0, 3)
        right.setStretchFactor(1, 1)
        self.splitter = right
        column = QVBoxLayout()
        column.addWidget(right, 1)
        column.addWidget(self.readout)
        layout = QHBoxLayout(self)
        layout.addWidget(self.controls)
        layout.addLayout(column, 1)

        self.image = None               # core.images.LoadedImage
        self.prepared: cmp.Prepared | None = None
        self.results: dict[str, cmp.MethodFinished] = {}
        self.failed: dict[str, str] = {}
        self.request: cmp.CompareRequest | None = None
        self._crop_timer = QTimer(self)
        self._crop_timer.setSingleShot(True)
        self._crop_timer.setInterval(60)
        self._crop_timer.timeout.connect(self._update_crop)

        self.controls.run_requested.connect(self.run)
        self.controls.cancel_requested.connect(self.runner.cancel)
        self.controls.convention_changed.connect(lambda _k: self._refresh_overlays())
        self.runner.prepared.connect(self._on_prepared)
        self.runner.method_started.connect(self._on_method_started)
        self.runner.method_progress.connect(self._on_method_progress)
        self.runner.method_finished.connect(self._on_method_finished)
        self.runner.method_failed.connect(self._on_method_failed)
        self.runner.run_finished.connect(self._on_run_finished)
        self.runner.run_cancelled.connect(self._on_run_cancelled)
        self.runner.run_failed.connect(self._on_run_failed)
        self.runner.busy_changed.connect(self.controls.set_busy)
        self.view.crop_changed.connect(lambda _r: self._crop_timer.start())
        self.view.cursor_moved.connect(self._on_cursor_moved)
        self.refresh_methods()

    # -- methods ----------------------------------------------------------------------------
    def refresh_methods(self, checked: list[str] | None = None) -> None:
        """The method list in registry (lineage) order, each with its year; `checked` None ticks the
        defaults (bicubic, SRCNN, SRResNet, SRGAN and any added model)."""
        entries = []
        for method in self.registry:
            ok, reason = method.availability()
            entries.append((method.name, caption(method.name, getattr(method, "label", method.name)), ok, reason))
        self.controls.set_methods(entries, default_ticks(self.registry.names()) if checked is None else checked)

    # -- running ----------------------------------------------------------------------------
    def set_image(self, loaded, run: bool = True) -> None:
        self.image = loaded
        if run:
            self.run()

    def run(self) -> None:
        if self.image is None:
            self.message.emit("warning", "Open an image first.")
            return
        names = self.controls.selected_methods()
        if not names:
            self.message.emit("warning", "Tick at least one method.")
            return
        mode = self.controls.mode_key()
        if mode == "reference" and min(self.image.height, self.image.width) < 4 * 4:
            self.message.emit("warning", "This image is too small for reference mode: switching to blind mode.")
            self.controls.select(self.controls.mode, "blind")
            mode = "blind"
        self.request = cmp.CompareRequest(image=self.image, methods=names, mode=mode, kernel=self.controls.kernel_key())
        self.results, self.failed, self.prepared = {}, {}, None
        self.controls.reset_progress(names)
        self.runner.start(self.request, self.registry)

    def _keys(self) -> list[tuple[str, str]]:
        entries = [("LR", "LR input (nearest x4)")]
        for name in self.request.methods:
            method = self.registry.get(name)
            entries.append((name, getattr(method, "label", name)))
        if self.prepared is not None and self.prepared.hr is not None:
            entries.append(("HR", "HR (ground truth)"))
        return entries

    def _on_prepared(self, prepared: cmp.Prepared) -> None:
        self.prepared = prepared
        keys = self._keys()
        self.view.set_panels(keys, aspect=prepared.lr.shape[1] / max(prepared.lr.shape[0], 1))
        self.crops.set_tiles(keys)
        self.view.set_image("LR", prepared.lr, scale=self.request.scale)
        if prepared.hr is not None:
            self.view.set_image("HR", prepared.hr)
        if self.view.crop_rect is None or not self._crop_fits(self.view.crop_rect):
            h, w = prepared.lr.shape[0] * self.request.scale, prepared.lr.shape[1] * self.request.scale
            side = max(8, min(h, w) // 5)
            self.view.set_crop(((w - side) // 2, (h - side) // 2, side, side), emit=False)
        else:
            self.view.set_crop(self.view.crop_rect, emit=False)
        for note in prepared.notes:
            self.message.emit("info", note)
        self._refresh_overlays()
        self._update_crop()
        self.inspector.link_to(self.view.panels["LR"].view)

    def _crop_fits(self, rect) -> bool:
        h, w = self.prepared.lr.shape[0] * self.request.scale, self.prepared.lr.shape[1] * self.request.scale
        x, y, cw, ch = rect
        return x >= 0 and y >= 0 and x + cw <= w and y + ch <= h

    def _on_method_started(self, name: str) -> None:
        self.controls.set_progress(name, 0.0, "running…")
        self.view.set_caption(name, "running…")

    def _on_method_progress(self, name: str, fraction: float) -> None:
        self.controls.set_progress(name, fraction)
        self.view.set_caption(name, f"running… {fraction * 100:.0f}%")

    def _on_method_finished(self, result: cmp.MethodFinished) -> None:
        self.results[result.name] = result
        self.controls.set_progress(result.name, 1.0, f"{result.seconds:.1f} s")
        self.view.set_image(result.name, result.sr)
        self._refresh_overlays()
        self._update_crop()
        self._update_inspector()
        self._update_device(result.device)

    def _on_method_failed(self, name: str, message: str) -> None:
        self.failed[name] = message
        self.controls.set_progress(name, 0.0, "failed")
        self.view.set_caption(name, f"<span style='color:#ff7070'>failed: {message[:80]}</span>")
        self.message.emit("error", f"{name}: {message}")

    def _on_run_finished(self, _event) -> None:
        self.results_shown.emit()

    def _on_run_cancelled(self) -> None:
        for name in self.request.methods if self.request else []:
            if name not in self.results and name not in self.failed:
                self.controls.set_progress(name, 0.0, "cancelled")
                self.view.set_caption(name, "cancelled")
        self.message.emit("info", "Run cancelled.")

    def _on_run_failed(self, message: str) -> None:
        self.message.emit("error", message)

    def _update_device(self, device: str) -> None:
        if device and device != "CPU (NumPy)":          # a learned method's device: GPU name or CPU threads
            self.controls.device.setText(f"Device: {device}")

    # -- overlays, crops, inspection ----------------------------------------------------------
    def convention(self) -> str:
        return self.controls.convention_key()

    def _refresh_overlays(self) -> None:
        suffix = "y" if self.convention() == "y" else "rgb"
        for name, result in self.results.items():
            s = result.scores
            text = f"{result.seconds:.1f} s" if s is None else (
                f"image {_fmt(s['psnr_' + suffix], 2)} dB / {_fmt(s['ssim_' + suffix], 4)} ({suffix.upper()})")
            crop = self._crop_scores.get(name) if hasattr(self, "_crop_scores") else None
            if crop:
                text += f"<br>crop {_fmt(crop['psnr_y'], 2)} dB / {_fmt(crop['ssim_y'], 4)} (Y)"
            self.view.set_caption(name, text)

    def _update_crop(self) -> None:
        rect = self.view.crop_rect
        self._crop_scores = {}
        if rect is None or self.prepared is None:
            return
        scale = self.request.scale
        panels = {"LR": None, **{k: r.sr for k, r in self.results.items()}}
        if self.prepared.hr is not None:
            panels["HR"] = self.prepared.hr
        for key, img in panels.items():
            if key == "LR":
                x, y, w, h = rect
                lr_rect = (x // scale, y // scale, max(1, -(-w // scale)), max(1, -(-h // scale)))
                crop = inspection_images.magnified(self.prepared.lr, lr_rect, scale * MAGNIFY)
                self.crops.show_crop("LR", crop, "input, nearest")
                continue
            caption = ""
            if key != "HR" and self.prepared.hr is not None:
                s = crop_caption_scores(img, self.prepared.hr, rect, self.prepared.is_grey)
                self._crop_scores[key] = s
                caption = f"{_fmt(s['psnr_y'], 2)} dB / {_fmt(s['ssim_y'], 4)} (Y, crop)"
            elif key == "HR":
                caption = "ground truth"
            self.crops.show_crop(key, inspection_images.magnified(img, rect, MAGNIFY), caption)
        self._refresh_overlays()

    def _update_inspector(self) -> None:
        images = {k: r.sr for k, r in self.results.items()}
        if self.prepared is not None:
            images["LR"] = np.repeat(np.repeat(self.prepared.lr, self.request.scale, 0), self.request.scale, 1)
        self.inspector.set_images(images, self.prepared.hr if self.prepared else None)

    def _on_cursor_moved(self, x: float, y: float) -> None:
        values = self.view.values_at(x, y)
        parts = [f"x {int(x)}, y {int(y)}"]
        for key, value in values.items():
            if value is not None:
                parts.append(f"{key}: {tuple(int(v) for v in np.atleast_1d(value))}")
        self.readout.setText("   ".join(parts))
