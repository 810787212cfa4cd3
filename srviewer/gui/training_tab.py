"""The training tab: launch `srviewer train ...` runs, watch them live, reopen and resume them.

`TrainingTab(parent=None, settings=None, on_compare_checkpoint=None)`; the main window hosts it
and calls `confirm_close()` from its closeEvent. The tab computes nothing: the child process is
the engine the CLI runs (`sys.executable -m srviewer train KIND ... --out RUN`, see
training_process); the run's progress, curves, status and latest sample are `self.state`, a
Qt-free train.run_state.RunState that polls RUN/events.jsonl every 400 ms and that the tab and its
plots observe; the log comes from RUN/console.txt (the child's stdout+stderr).
`on_compare_checkpoint(path)` receives RUN/best.weights.h5 (or latest.weights.h5, or a kept
RUN/generators/step_N.weights.h5), each with its JSON sidecar, to add as a method in the
comparison window.
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

from PySide6.QtCore import QSettings, Qt, QTimer
from PySide6.QtGui import QFont, QPixmap
from PySide6.QtWidgets import (QComboBox, QFileDialog, QGroupBox, QHBoxLayout, QLabel, QMessageBox,
                               QPlainTextEdit, QProgressBar, QPushButton, QScrollArea, QSizePolicy, QSplitter,
                               QVBoxLayout, QWidget)

from srviewer.errors import SrviewerError
from srviewer.gui import training_form as tf_form
from srviewer.gui.image_label import ImageLabel
from srviewer.gui.training_form import TrainingForm
from srviewer.gui.training_plots import TrainingPlots
from srviewer.gui.training_process import CONSOLE_FILE, STOP_FILE, TrainingProcess
from srviewer.gui.training_runs import RunsPanel
from srviewer.train import log_noise, recipes
from srviewer.train.event_tail import LineTail
from srviewer.train.events import parse_event_line
from srviewer.train.run_index import DEFAULT_RUNS_ROOT
from srviewer.train.run_state import RunState
from srviewer.train.sr_data import is_named_source

POLL_MS = 400


def _settings_object():
    return QSettings(os.environ.get("SRVIEWER_SETTINGS_ORG", "srviewer"), "srviewer")


class TrainingTab(QWidget):
    def __init__(self, parent=None, settings=None, on_compare_checkpoint=None):
        super().__init__(parent)
        self._settings = settings if settings is not None else _settings_object()
        self._on_compare = on_compare_checkpoint
        self.engine: list[str] | None = None  # None: `python -m srviewer`; tests may put a stand-in
        self.process = TrainingProcess(self)
        self.process.exited.connect(self._on_exited)
        self.state = RunState()
        self._console: LineTail | None = None
        self._console_lines: list[str] = []
        self._build()
        events = self.state.events
        events.reset.connect(self._on_state_reset)
        events.started.connect(self._on_started)
        events.progressed.connect(self._on_progressed)
        events.validated.connect(self._on_validated)
        events.checkpointed.connect(lambda _step: self.runs_panel.refresh())
        events.sample_changed.connect(self._on_sample_changed)
        events.finished.connect(self._on_finished)
        self._timer = QTimer(self, interval=POLL_MS)
        self._timer.timeout.connect(self.poll)
        self._timer.start()
        self._refresh_presets()
        last = self._settings.value("training/form")
        restored = False
        if isinstance(last, str):
            try:
                self.form.set_values(json.loads(last))
                restored = True
            except ValueError:
                pass
        if not restored:       # first use: the recipe of the shipped SRResNet, on the offline sample data
            first = next((r for r in self.recipes if r.name == "srresnet"), self.recipes[0] if self.recipes else None)
            if first is not None:
                self.load_recipe(first, keep_data=True)
        self._update_buttons()

    # -- layout -------------------------------------------------------------------------------
    def _build(self) -> None:
        self.form = TrainingForm()
        self.form.kind_changed.connect(lambda _kind: self._update_buttons())
        self.start_button = QPushButton("Start")
        self.stop_button = QPushButton("Stop")
        self.resume_button = QPushButton("Resume…")
        self.preview_button = QPushButton("Preview augmentations")
        self.start_button.clicked.connect(self.start_run)
        self.stop_button.clicked.connect(self.stop_run)
        self.resume_button.clicked.connect(lambda: self.resume_run())
        self.preview_button.clicked.connect(self.show_preview)
        self.presets = QComboBox()
        self.presets.setPlaceholderText("Presets")
        self.presets.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
        self.presets.setMinimumContentsLength(10)
        self.presets.activated.connect(self._on_preset_chosen)
        save_preset, load_preset = QPushButton("Save preset…"), QPushButton("Load preset…")
        save_preset.clicked.connect(self._save_preset_dialog)
        load_preset.clicked.connect(self._load_preset_dialog)
        self.message = QLabel()
        self.message.setWordWrap(True)
        self.message.setStyleSheet("color: #b00020;")
        root = Path(str(self._settings.value("training/runs_root", str(DEFAULT_RUNS_ROOT))))
        self.runs_panel = RunsPanel(root)
        self.runs_panel.run_chosen.connect(self.open_run)
        self.runs_panel.root_changed.connect(lambda p: self._settings.setValue("training/runs_root", str(p)))

        left = QWidget()
        lv = QVBoxLayout(left)
        settings_box = QGroupBox("New run")
        sv = QVBoxLayout(settings_box)
        sv.addWidget(self.form)
        for row_widgets in ((self.presets, save_preset, load_preset),
                            (self.start_button, self.stop_button, self.resume_button), (self.preview_button,)):
            row = QHBoxLayout()
            for widget in row_widgets:
                row.addWidget(widget)
            sv.addLayout(row)
        sv.addWidget(self.message)
        lv.addWidget(settings_box)
        runs_box = QGroupBox("Past runs")
        QVBoxLayout(runs_box).addWidget(self.runs_panel)
        lv.addWidget(runs_box, 1)
        scroll = QScrollArea()
        scroll.setWidgetResizable(True)
        scroll.setWidget(left)
        # as wide as the form needs beside a vertical scroll bar: never a horizontal one
        scroll.setMinimumWidth(max(380, left.minimumSizeHint().width() + scroll.verticalScrollBar().sizeHint().width()
                                   + 2 * scroll.frameWidth()))

        self.run_label = QLabel("No run")
        self.run_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        # a long run path is clipped rather than squeezing the compare buttons out of view
        self.run_label.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        self.progress = QProgressBar()
        self.progress.setFormat("%v / %m")
        self.stats = QLabel("")
        self.devices = QLabel("")     # the run's strategy, replicas and devices (RunState.devices_line)
        self.compare_best = QPushButton("Compare with best checkpoint")
        self.compare_latest = QPushButton("Compare with latest")
        self.compare_best.clicked.connect(lambda: self.compare_checkpoint("best"))
        self.compare_latest.clicked.connect(lambda: self.compare_checkpoint("latest"))
        self.compare_step = QComboBox()   # the generators an SRGAN run kept at each validation
        self.compare_step.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToContents)
        self.compare_step.activated.connect(self._on_step_chosen)
        self.plots = TrainingPlots(self.state)
        self.sample = ImageLabel("No sample yet")
        self.sample_caption = QLabel("")
        self.log_view = QPlainTextEdit(readOnly=True)
        self.log_view.setMaximumBlockCount(500)
        self.log_view.setFont(QFont("monospace", 8))
        self.error_view = QLabel()
        self.error_view.setWordWrap(True)
        self.error_view.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.error_view.setStyleSheet("background: #fdecea; color: #611a15; padding: 6px; font-family: monospace;")
        self.error_view.hide()

        right = QWidget()
        rv = QVBoxLayout(right)
        top = QHBoxLayout()
        top.addWidget(self.run_label, 1)
        top.addWidget(self.compare_best)
        top.addWidget(self.compare_latest)
        top.addWidget(self.compare_step)
        rv.addLayout(top)
        status = QHBoxLayout()
        status.addWidget(self.progress, 1)
        status.addWidget(self.stats)
        rv.addLayout(status)
        rv.addWidget(self.devices)
        rv.addWidget(self.error_view)
        bottom = QSplitter(Qt.Orientation.Horizontal)
        sample_box = QGroupBox("Latest sample")
        sb = QVBoxLayout(sample_box)
        sb.addWidget(self.sample, 1)
        sb.addWidget(self.sample_caption)
        log_box = QGroupBox("Log")
        QVBoxLayout(log_box).addWidget(self.log_view)
        bottom.addWidget(sample_box)
        bottom.addWidget(log_box)
        bottom.setSizes([420, 420])
        vsplit = QSplitter(Qt.Orientation.Vertical)
        vsplit.addWidget(self.plots)
        vsplit.addWidget(bottom)
        vsplit.setSizes([520, 260])
        rv.addWidget(vsplit, 1)

        split = QSplitter(Qt.Orientation.Horizontal)
        split.addWidget(scroll)
        split.addWidget(right)
        split.setStretchFactor(1, 1)
        split.setSizes([400, 900])
        QVBoxLayout(self).addWidget(split)

    # -- buttons ------------------------------------------------------------------------------
    def is_running(self) -> bool:
        """A run started from this tab is still going."""
        return self.process.is_running()

    def _update_buttons(self) -> None:
        running = self.is_running()
        state = self.state
        attached_live = state.attached and state.finished_reason is None and state.kind is not None
        self.start_button.setEnabled(not running)
        self.resume_button.setEnabled(not running)
        self.stop_button.setEnabled(running or attached_live)
        augment = self.form.current_kind() == "augment"
        self.preview_button.setEnabled(augment and not self.form.values()["data"].startswith("tfds:"))
        self.preview_button.setToolTip("" if augment else "for the augmentation experiment, on a folder")
        for which, button in (("best", self.compare_best), ("latest", self.compare_latest)):
            button.setEnabled(self._on_compare is not None and self.state.checkpoint(which) is not None)
        self._refresh_kept_steps()

    def _refresh_kept_steps(self) -> None:
        kept = self.state.kept_generators()
        shown = [self.compare_step.itemData(i) for i in range(1, self.compare_step.count())]
        if self.compare_step.count() and list(kept) == shown:
            return
        self.compare_step.clear()
        self.compare_step.addItem("Compare with step…" if kept else "No kept steps", None)
        for step in kept:
            self.compare_step.addItem(f"step {step}", step)
        self.compare_step.setEnabled(bool(kept) and self._on_compare is not None)
        self.compare_step.setToolTip("the generator kept at a validation step (SRGAN runs keep every one)"
                                     if kept else "this run keeps no generators (SRGAN runs do; --keep-generators)")

    def _on_step_chosen(self, index: int) -> None:
        step = self.compare_step.itemData(index)
        self.compare_step.setCurrentIndex(0)
        if step is not None:
            self.compare_checkpoint(int(step))

    def _show_message(self, text: str) -> None:
        self.message.setText(text)

    # -- actions ------------------------------------------------------------------------------
    def _new_run_dir(self, kind: str) -> Path:
        out = self.form.values()["out"]
        if out:
            return Path(out).expanduser().resolve()
        return (self.runs_panel.root / f"{kind}-{time.strftime('%Y%m%d-%H%M%S')}").resolve()

    def start_run(self) -> bool:
        """Check the form and start a new run; False (with the reason shown) when it cannot."""
        if self.is_running():
            self._show_message("A run is already going: stop it first.")
            return False
        try:
            self.form.validate()
        except SrviewerError as exc:
            self._show_message(str(exc))
            return False
        values = self.form.values()
        run_dir = self._new_run_dir(values["kind"])
        if (run_dir / "events.jsonl").exists():
            self._show_message(f"{run_dir} already holds a run: use Resume, or choose another run folder.")
            return False
        parts = [d.strip() for d in values["data"].split(",") if d.strip()]
        values["data"] = ",".join(d if is_named_source(d) else str(Path(d).expanduser().resolve()) for d in parts)
        args = tf_form.command_args(values, run_dir)
        self._settings.setValue("training/form", json.dumps(self.form.values()))
        self._launch(args, run_dir, values["kind"])
        return True

    def resume_run(self, run_dir: str | os.PathLike | None = None) -> bool:
        """Continue a stopped run to the form's total steps (or epochs); plots reload its events."""
        if self.is_running():
            self._show_message("A run is already going: stop it first.")
            return False
        if run_dir is None:
            start = str(self.state.run_dir or self.runs_panel.selected_run() or self.runs_panel.root)
            chosen = QFileDialog.getExistingDirectory(self, "Run folder to resume", start)
            if not chosen:
                return False
            run_dir = chosen
        run_dir = Path(run_dir).resolve()
        self.open_run(run_dir)
        if self.state.run_dir != run_dir or self.state.kind is None:
            self._show_message(f"{run_dir} is not a run folder (no events.jsonl or config.json).")
            return False
        kind = self.state.kind
        self._launch(tf_form.resume_args(kind, run_dir, self.form.values()), run_dir, kind, reload=False)
        return True

    def _launch(self, args: list[str], run_dir: Path, kind: str, reload: bool = True) -> None:
        if reload:
            self._attach(run_dir, kind)
        self.error_view.hide()
        self._show_message("")
        self.log_view.appendPlainText(f"$ srviewer {' '.join(args)}")
        self.process.start(args, run_dir, engine=self.engine)
        self.run_label.setText(f"Running: {run_dir}")
        self._update_buttons()

    def stop_run(self) -> None:
        """Graceful stop: the engine finishes the step, writes a checkpoint and exits 0."""
        if self.is_running():
            self.process.request_stop()
        elif self.state.run_dir is not None:  # a run left going earlier, reopened here
            from srviewer.core.atomic import atomic_write_text

            atomic_write_text(self.state.run_dir / STOP_FILE, "stop requested by the training tab\n")
        self.run_label.setText(f"Stopping (finishing the step, then a checkpoint): {self.state.run_dir}")

    def open_run(self, run_dir: str | os.PathLike) -> None:
        """Show a run folder: its curves, latest sample and log; keep following it if it grows."""
        run_dir = Path(run_dir)
        if self.is_running() and self.process.run_dir != run_dir:
            self._show_message("A run is going: stop it (or wait) before opening another one.")
            return
        self._attach(run_dir, None)   # the kind comes from its config.json
        self.poll()
        self.plots.flush()  # show the whole history now, not at the next plot tick
        self.run_label.setText(f"{'Running' if self.is_running() else 'Run'}: {run_dir}")

    def _attach(self, run_dir: Path, kind: str | None) -> None:
        self._console = LineTail(Path(run_dir) / CONSOLE_FILE)
        self._console_lines = []
        self.state.attach(run_dir, kind)

    def _on_state_reset(self) -> None:
        self.progress.setRange(0, 1)
        self.progress.setValue(0)
        self.stats.setText("")
        self.stats.setToolTip("")
        self.devices.setText("")
        self.sample.set_picture(None, "No sample yet")
        self.sample_caption.setText("")
        self.log_view.clear()
        self.error_view.hide()

    def compare_checkpoint(self, which: str | int = "best") -> Path | None:
        """Hand RUN/best.weights.h5 (or latest, or the generator kept at step `which`) to the
        comparison window; returns the path given."""
        path = self.state.checkpoint(which)
        if path is not None and self._on_compare is not None:
            self._on_compare(path)
        return path

    def show_preview(self):
        """Open the augmentation preview on the form's data folder (None and a message if it cannot)."""
        from srviewer.gui.training_preview import AugmentPreviewDialog

        values = self.form.values()
        try:
            tf_form.check_data(values["data"], "augment")
            dialog = AugmentPreviewDialog(values["data"], self, variants=values["variants"] or None)
        except SrviewerError as exc:
            self._show_message(str(exc))
            return None
        dialog.show()
        self._preview = dialog
        return dialog

    # -- following a run: the state reads, the tab redraws ---------------------------------------
    def poll(self) -> None:
        """Read what the run wrote since the last poll (the timer calls this)."""
        if not self.state.attached:
            return
        records = self.state.poll()
        if self._console is not None:
            # the engine echoes each event on stdout too: the plots show those, the log the rest
            lines = [line for line in self._console.read_lines() if parse_event_line(line) is None]
            self._console_lines = (self._console_lines + lines)[-200:]
            for line in log_noise.own_lines(lines):    # TensorFlow's own noise stays in console.txt
                self.log_view.appendPlainText(line)
        if records:
            self._update_buttons()

    @property
    def run_dir(self) -> Path | None:
        """The run folder shown (the state's)."""
        return self.state.run_dir

    def _on_started(self, _record: dict) -> None:
        self.devices.setText(self.state.devices_line())
        if self.is_running() and self.process.run_dir == self.state.run_dir:
            self.process.engine_ready = True
            self.runs_panel.refresh()  # the new run folder now holds its config and events

    def _on_progressed(self) -> None:
        state = self.state
        if state.total_steps:
            self.progress.setRange(0, int(state.total_steps))
            self.progress.setValue(min(state.step, int(state.total_steps)))
        self.stats.setText(state.status_line())

    def _on_validated(self, step: int, values: dict) -> None:
        shown = ", ".join(f"{k} {v:.4g}" for k, v in values.items())
        self.stats.setToolTip(f"validation at step {step}: {shown}")
        self.runs_panel.refresh()

    def _on_sample_changed(self, path: Path | None, step: int | None) -> None:
        pixmap = QPixmap(str(path)) if path is not None else None
        if pixmap is not None and not pixmap.isNull():
            self.sample.set_picture(pixmap)
            self.sample_caption.setText(f"step {step}: {path.name}  (LR | bicubic | SR | HR)")

    def _on_finished(self, _reason: str) -> None:
        plot = self.state.plot
        if plot is not None and plot.is_file():  # the augmentation experiment's comparison plot
            self.sample.set_picture(QPixmap(str(plot)))
            self.sample_caption.setText(f"{plot.name}: validation accuracy per variant")

    def _on_exited(self, code: int) -> None:
        self.poll()
        run_dir = self.process.run_dir
        if code != 0:
            reason = log_noise.failure_reason(self._console_lines, self.state.error_message) or "(no output)"
            where = f"\n(everything it wrote: {run_dir / CONSOLE_FILE})" if run_dir is not None else ""
            self.error_view.setText(f"The training process ended with exit status {code}:\n{reason}{where}")
            self.error_view.show()
            self.run_label.setText(f"Failed: {run_dir}")
        else:
            self.run_label.setText(f"{(self.state.finished_reason or 'ended').capitalize()}: {run_dir}")
        self.runs_panel.refresh()
        self._update_buttons()

    # -- presets ------------------------------------------------------------------------------
    def presets_dir(self) -> Path:
        return tf_form.presets_dir(self._settings)

    def save_preset(self, path: str | os.PathLike) -> None:
        tf_form.save_preset(path, self.form.values())
        self._refresh_presets()

    def load_preset(self, path: str | os.PathLike) -> None:
        try:
            self.form.set_values(tf_form.load_preset(path))
        except SrviewerError as exc:
            self._show_message(str(exc))
            return
        self.form.show_preset(Path(path).stem)

    def load_recipe(self, recipe: recipes.Recipe, keep_data: bool = False) -> None:
        """Fill the form with a shipped recipe (configs/NAME.json); `keep_data`: leave the data choice."""
        try:
            values, notes = recipes.form_values(recipe)
        except SrviewerError as exc:
            self._show_message(str(exc))
            return
        if keep_data:
            values.pop("data", None)
            notes.pop("data", None)
        self.form.set_values(values)
        where = f"the settings that trained weights/{recipe.weights.name}" if recipe.weights else "a shipped recipe"
        self.form.show_preset(recipe.label, f"{where} (configs/{recipe.path.name})"
                              + "".join(f"; {n}" for n in notes.values()))
        self.presets.setCurrentIndex(self.presets.findText(recipe.label))

    def _refresh_presets(self) -> None:
        """The shipped recipes first, named after the weights they trained, then the user's presets."""
        self.presets.clear()
        self.recipes = recipes.shipped_recipes()
        for recipe in self.recipes:
            self.presets.addItem(recipe.label, recipe)
            self.presets.setItemData(self.presets.count() - 1, f"{recipe.path}", Qt.ItemDataRole.ToolTipRole)
        folder = self.presets_dir()
        user = sorted(folder.glob("*.json")) if folder.is_dir() else []
        if self.recipes and user:
            self.presets.insertSeparator(self.presets.count())
        for path in user:
            self.presets.addItem(path.stem, str(path))
        self.presets.setCurrentIndex(-1)

    def _on_preset_chosen(self, index: int) -> None:
        chosen = self.presets.itemData(index)
        if isinstance(chosen, recipes.Recipe):
            self.load_recipe(chosen)
        elif chosen:
            self.load_preset(chosen)

    def _save_preset_dialog(self) -> None:
        folder = self.presets_dir()
        folder.mkdir(parents=True, exist_ok=True)
        path, _ = QFileDialog.getSaveFileName(self, "Save preset", str(folder / "preset.json"), "JSON (*.json)")
        if path:
            self.save_preset(path)

    def _load_preset_dialog(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Load preset", str(self.presets_dir()), "JSON (*.json)")
        if path:
            self.load_preset(path)

    # -- closing ------------------------------------------------------------------------------
    def _ask_close_choice(self) -> str:
        """"stop", "leave" or "cancel" (a QMessageBox; tests replace this method)."""
        box = QMessageBox(QMessageBox.Icon.Question, "A training run is going",
                          "A training run is still going. Stop it (a checkpoint is written) or leave it "
                          "running in the background? You can reopen it from the list of past runs.",
                          parent=self)
        stop = box.addButton("Stop the run", QMessageBox.ButtonRole.DestructiveRole)
        leave = box.addButton("Leave it going", QMessageBox.ButtonRole.AcceptRole)
        box.addButton(QMessageBox.StandardButton.Cancel)
        box.exec()
        clicked = box.clickedButton()
        return "stop" if clicked is stop else "leave" if clicked is leave else "cancel"

    def confirm_close(self) -> bool:
        """True when the window may close; asks first while a run is going."""
        if not self.is_running():
            return True
        choice = self._ask_close_choice()
        if choice == "cancel":
            return False
        if choice == "stop":
            self.process.request_stop()  # the engine (its own session) stops on its own
        self._timer.stop()
        self.process.let_go()
        return True
