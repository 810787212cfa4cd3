"""The degradation lab in the Compare tab: wiring only.

`DegradationLab(tab)` puts a `DegradationPanel` under the tab's Mode/Kernel controls (shown in
reference mode only) and a *Sweep* page next to Crops/Inspect. Each change of the panel goes to
the tab's core.session.ComparisonSession (`set_degradation`), and, a moment later, the LR panel
shows the session's `preview_lr()` (the core makes it; no method runs until Run). Captions name
the chain that made each result's LR. *Plot sweep* runs core.sweep.sweep_image on the current
image in a `LatestRunner` thread (the live LR is made in another) and shows core.sweep.sweep_plot's figure.
"""

from __future__ import annotations

import traceback

from PySide6.QtCore import QObject, Qt, QThread, QTimer, Signal, Slot
from PySide6.QtWidgets import QLabel, QScrollArea

from srviewer.core import inspection_images
from srviewer.core.cancel import CancelToken
from srviewer.core.degrade import parse_chain
from srviewer.core.sweep import SweepResult, parse_sweep, sweep_image, sweep_plot
from srviewer.errors import Cancelled, SrviewerError
from srviewer.gui.crop_panel import to_pixmap
from srviewer.gui.degradation_panel import DegradationPanel
from srviewer.gui.workers import reap_finished

PREVIEW_DELAY_MS = 80


class _JobThread(QThread):
    progressed = Signal(int, str)
    ended = Signal(int, object, str)     # job id, the result or None, error message ("cancelled")

    def __init__(self, job_id, fn, token: CancelToken):
        super().__init__()
        self.job_id, self.fn, self.token = job_id, fn, token

    def run(self) -> None:
        try:
            result = self.fn(self.token, lambda text: self.progressed.emit(self.job_id, text))
            self.ended.emit(self.job_id, result, "")
        except Cancelled:
            self.ended.emit(self.job_id, None, "cancelled")
        except SrviewerError as exc:
            self.ended.emit(self.job_id, None, str(exc))
        except Exception as exc:  # noqa: BLE001 - reported in the window, never a crash
            traceback.print_exc()
            self.ended.emit(self.job_id, None, f"{type(exc).__name__}: {exc}")


class LatestRunner(QObject):
    """Runs fn(cancel_token, progress(text)) -> result off the GUI thread, one job at a time: a new
    job cancels the last, whose outcome is then dropped. Signals arrive in the GUI thread."""

    progressed = Signal(str)
    finished = Signal(object)
    failed = Signal(str)

    def __init__(self, parent=None):
        super().__init__(parent)
        self._job, self._token, self._threads = 0, None, {}

    @property
    def busy(self) -> bool:
        return self._token is not None

    def start(self, fn) -> None:
        self.cancel()
        self._job += 1
        self._token = CancelToken()
        thread = _JobThread(self._job, fn, self._token)
        thread.progressed.connect(self._on_progressed)
        thread.ended.connect(self._on_ended)
        thread.finished.connect(self._on_thread_finished)
        self._threads[self._job] = thread
        thread.start()

    def cancel(self) -> None:
        if self._token is not None:
            self._token.cancel()
            self._token = None

    def wait_all(self, ms: int = 30000) -> None:
        self.cancel()
        for thread in list(self._threads.values()):
            thread.wait(ms)

    @Slot(int, str)
    def _on_progressed(self, job: int, text: str) -> None:
        if job == self._job and self._token is not None:
            self.progressed.emit(text)

    @Slot(int, object, str)
    def _on_ended(self, job: int, result, message: str) -> None:
        if job != self._job or self._token is None:
            return
        self._token = None
        if message:
            self.failed.emit(message)
        else:
            self.finished.emit(result)

    @Slot()
    def _on_thread_finished(self) -> None:
        reap_finished(self._threads)


class DegradationLab(QObject):
    def __init__(self, tab):
        super().__init__(tab)
        self.tab, self.session = tab, tab.session
        self.panel = DegradationPanel()
        tab.controls.layout().insertWidget(1, self.panel)   # under Mode / Kernel / Metrics
        self.sweep_label = QLabel("Set a key and values, then Plot sweep: PSNR-Y and SSIM-Y of the ticked "
                                  "methods against the value, on this image.")
        self.sweep_label.setAlignment(Qt.AlignCenter)
        self.sweep_label.setWordWrap(True)
        self.sweep_page = QScrollArea()
        self.sweep_page.setWidget(self.sweep_label)
        self.sweep_page.setWidgetResizable(True)
        tab.lower.addTab(self.sweep_page, "Sweep")
        self.last_sweep: SweepResult | None = None
        self.previewing = False          # the LR panel shows a chain the results were not made with
        self.runner = LatestRunner(self)           # the sweep
        self.previewer = LatestRunner(self)        # the live LR
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setInterval(PREVIEW_DELAY_MS)
        self._timer.timeout.connect(self.preview)
        self.previewer.finished.connect(self._on_preview_ready)
        controls = tab.controls
        self.panel.chain_changed.connect(self._on_chain_changed)
        self.panel.sweep_requested.connect(self.start_sweep)
        controls.kernel.currentIndexChanged.connect(lambda _i: self._on_chain_changed())
        controls.mode.currentIndexChanged.connect(lambda _i: self._show_for_mode())
        self.session.events.prepared.connect(lambda _p: self._on_prepared())
        self.session.events.crop_changed.connect(lambda _r: self.previewing and self._timer.start())
        self.runner.progressed.connect(lambda text: self.sweep_label.setText(f"Sweeping… {text}"))
        self.runner.finished.connect(self._on_sweep_finished)
        self.runner.failed.connect(self._on_sweep_failed)
        self._show_for_mode()

    def chain(self):
        """The panel's chain, its kernel following the Kernel control when so set."""
        return self.panel.chain(self.tab.controls.kernel_key())

    def _show_for_mode(self) -> None:
        self.panel.setVisible(self.tab.controls.mode_key() == "reference")

    def _on_chain_changed(self) -> None:
        chain = self.chain()
        self.session.set_kernel(self.tab.controls.kernel_key())
        self.session.set_degradation(None if chain.is_clean and self.panel.kernel_follows() else chain)
        self._timer.start()

    # -- the LR panel, live --------------------------------------------------------------------
    def preview(self) -> None:
        """Make the LR the next run will see (the core, in a worker thread); the results stay until Run."""
        session = self.session
        prepared = session.prepared
        if prepared is None or prepared.hr is None or "LR" not in self.tab.view.panels or session.running:
            return
        chain = session.chain()
        self.previewer.start(lambda _token, _progress: (chain, session.preview_lr(chain)))

    def _on_preview_ready(self, outcome) -> None:
        chain, lr = outcome
        session, view = self.session, self.tab.view
        prepared = session.prepared
        if (lr is None or prepared is None or lr.shape != prepared.lr.shape or chain != session.chain()
                or "LR" not in view.panels or session.running):
            return   # stale: the image, the settings or the run moved on
        view.set_image("LR", lr, scale=session.scale)
        self.previewing = str(chain) != prepared.degradation
        if session.crop is not None:
            self.tab.crops.show_crop("LR", inspection_images.magnified(lr, session.crop_in_lr(), session.scale * 3),
                                     "input, nearest" + (" (preview)" if self.previewing else ""))
        self.caption_inputs()

    def _on_prepared(self) -> None:
        self.previewing = False
        self.caption_inputs()

    # -- captions ------------------------------------------------------------------------------
    def caption_line(self) -> str:
        """The chain that made the shown results' LR, as a caption line ("" in blind mode)."""
        prepared = self.session.prepared
        if prepared is None or prepared.hr is None or not prepared.degradation:
            return ""
        return f"<br>LR: {prepared.degradation}"

    def caption_inputs(self) -> None:
        prepared, view = self.session.prepared, self.tab.view
        if prepared is None or prepared.hr is None:
            return
        if self.previewing:
            view.set_caption("LR", f"<span style='color:#ffd060'>preview: {self.session.chain()}</span>"
                                   "<br>Run to re-score")
        else:
            view.set_caption("LR", prepared.degradation)
        view.set_caption("HR", f"ground truth{self.caption_line()}")

    # -- the sweep -----------------------------------------------------------------------------
    def start_sweep(self, text: str) -> bool:
        session, message = self.session, self.tab.message
        if session.image is None:
            message.emit("warning", "Open an image first.")
            return False
        if self.tab.controls.mode_key() != "reference":
            message.emit("warning", "A sweep needs reference mode (the image is the ground truth).")
            return False
        methods = self.tab.controls.selected_methods()
        if not methods:
            message.emit("warning", "Tick at least one method.")
            return False
        try:
            sweep = parse_sweep(text, self.chain())
        except SrviewerError as exc:
            message.emit("error", str(exc))
            return False
        self.sweep_label.setText(f"Sweeping {sweep.key} over {', '.join(f'{v:g}' for v in sweep.values)}…")
        self.tab.lower.setCurrentWidget(self.sweep_page)
        image, registry, scale = session.image, session.registry, session.scale
        self.runner.start(lambda token, progress: sweep_image(
            sweep, image.rgb, methods, registry, scale, image.is_grey, cancel=token,
            progress=lambda done, total, text: progress(f"{done}/{total}: {text}")))
        return True

    def _on_sweep_finished(self, result: SweepResult) -> None:
        self.last_sweep = result
        labels = {n: getattr(self.session.registry.get(n), "label", "") or n for n in result.methods}
        self.sweep_label.setPixmap(to_pixmap(sweep_plot(result, labels=labels)))
        self.tab.message.emit("info", f"Sweep of {result.key} done: {len(result.methods)} methods, "
                                      f"{len(result.values)} values.")

    def _on_sweep_failed(self, text: str) -> None:
        self.sweep_label.setText(f"Sweep {text}" if text == "cancelled" else f"Sweep failed: {text}")
        if text != "cancelled":
            self.tab.message.emit("error", f"sweep: {text}")

    # -- settings ------------------------------------------------------------------------------
    def save(self, settings) -> None:
        """Keep the panel's chain in the window's settings (gui.settings.WindowSettings)."""
        settings.set("degradation", str(self.chain()))
        settings.set("degradation_kernel_follows", "yes" if self.panel.kernel_follows() else "no")

    def restore(self, settings) -> None:
        text = settings.get("degradation")
        if not text:
            return
        try:
            chain = parse_chain(str(text))
        except SrviewerError:   # a chain an older or newer srviewer wrote: start clean
            return
        self.panel.set_chain(chain, kernel_follows=settings.get("degradation_kernel_follows", "yes") == "yes")

    def wait_all(self, ms: int = 5000) -> None:
        self.runner.wait_all(ms)
        self.previewer.wait_all(ms)
