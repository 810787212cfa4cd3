"""The main window: a Compare tab and a Training tab, menus, opening files, export, settings.

It wires parts together and computes nothing. Opening: File > Open, drag-and-drop, recent
files, paste (an image or a path on the clipboard). Errors appear in the status bar and, for
the serious ones, in a message box; the window never dies on them.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np
from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtGui import QAction, QGuiApplication, QKeySequence
from PySide6.QtWidgets import QFileDialog, QMainWindow, QMessageBox, QTabWidget

from srviewer.core.cancel import CancelToken
from srviewer.core.images import from_array, read_image, sample_image
from srviewer.core.preload import start_preload
from srviewer.errors import SrviewerError
from srviewer.gui.compare_tab import CompareTab
from srviewer.gui.settings import WindowSettings
from srviewer.gui.workers import ModelFileLoader

IMAGE_FILTER = "Images (*.png *.jpg *.jpeg *.bmp *.tif *.tiff *.webp *.gif);;All files (*)"


class MainWindow(QMainWindow):
    model_added = Signal(object)    # a method added from a model file, once loaded and registered

    def __init__(self, registry=None, settings: WindowSettings | None = None, show_dialogs: bool = True):
        super().__init__()
        from srviewer.core.methods import default_registry
        from srviewer.core.model_process import ModelProcess

        self.settings = settings or WindowSettings()
        self.show_dialogs = show_dialogs
        self.registry = registry if registry is not None else default_registry(process=ModelProcess())
        self.setWindowTitle("srviewer: compare x4 super-resolution")
        self.setAcceptDrops(True)
        self.tabs = QTabWidget()
        self.compare = CompareTab(self.registry)
        self.tabs.addTab(self.compare, "Compare")
        self.training = self._make_training_tab()
        if self.training is not None:
            self.tabs.addTab(self.training, "Training")
        self.setCentralWidget(self.tabs)
        self.compare.message.connect(self.show_message)
        self.last_error = ""
        self._loaders: list[ModelFileLoader] = []
        self._preload = None                    # the preloading thread, once the window is shown
        self._preload_cancel = CancelToken()
        self._build_menus()
        self._restore_settings()
        self.statusBar().showMessage("Ready")

    def _make_training_tab(self):
        if importlib.util.find_spec("srviewer.gui.training_tab") is None:
            return None
        from srviewer.gui.training_tab import TrainingTab

        return TrainingTab(self, settings=self.settings.q, on_compare_checkpoint=self.add_model_path)

    # -- menus ------------------------------------------------------------------------------
    def _action(self, menu, text, slot, shortcut=None) -> QAction:
        action = QAction(text, self)
        if shortcut:
            action.setShortcut(QKeySequence(shortcut))
        action.triggered.connect(slot)
        menu.addAction(action)
        return action

    def _build_menus(self) -> None:
        file_menu = self.menuBar().addMenu("&File")
        self._action(file_menu, "&Open image…", self.open_dialog, QKeySequence.Open)
        self.recent_menu = file_menu.addMenu("Open &recent")
        self._action(file_menu, "&Paste image", self.paste, QKeySequence.Paste)
        self._action(file_menu, "Open the &sample image", lambda: self.open_loaded(sample_image()))
        self._action(file_menu, "Add &model file…", self.add_model_dialog)
        from srviewer.core.formats import folder_formats

        if folder_formats():         # SavedModel and other formats that are folders
            labels = ", ".join(f.label for f in folder_formats())
            self._action(file_menu, f"Add model &folder ({labels})…", lambda: self.add_model_dialog(folders=True))
        self._action(file_menu, "Add result &image…", self.add_result_dialog)
        self._action(file_menu, "&Export results…", self.export_dialog, "Ctrl+E")
        file_menu.addSeparator()
        self._action(file_menu, "&Quit", self.close, QKeySequence.Quit)
        view_menu = self.menuBar().addMenu("&View")
        self._action(view_menu, "&Fit all panels", self.compare.view.fit, "F")
        self._action(view_menu, "&1:1 pixels", self.compare.view.one_to_one, "1")
        self._action(view_menu, "Hold panel under the mouse out of sync (&U)", self.compare.view.toggle_link, "U")
        self._action(view_menu, "&Run", self.compare.run, "Ctrl+R")
        self._action(view_menu, "&Cancel run", self.compare.runner.cancel, "Esc")
        self.compare.controls.add_model_requested.connect(self.add_model_dialog)
        self.compare.controls.add_result_requested.connect(self.add_result_dialog)
        self.compare.controls.files_dropped.connect(self.add_dropped_methods)
        self._refresh_recent()

    def _refresh_recent(self) -> None:
        self.recent_menu.clear()
        for path in self.settings.recent_files():
            action = QAction(path, self)
            action.triggered.connect(lambda _checked=False, p=path: self.open_path(p))
            self.recent_menu.addAction(action)
        self.recent_menu.setEnabled(bool(self.settings.recent_files()))

    # -- opening ----------------------------------------------------------------------------
    def open_dialog(self) -> None:
        folder = self.settings.get("last_folder", str(Path.home()))
        path, _ = QFileDialog.getOpenFileName(self, "Open image", folder, IMAGE_FILTER)
        if path:
            self.open_path(path)

    def open_path(self, path) -> bool:
        """Open an image file; False (and a message) when it cannot be read."""
        try:
            loaded = read_image(path)
        except SrviewerError as exc:
            self.show_message("error", str(exc))
            return False
        self.settings.set("last_folder", str(Path(path).resolve().parent))
        self.settings.add_recent(str(Path(path).resolve()))
        self._refresh_recent()
        self.open_loaded(loaded)
        return True

    def open_loaded(self, loaded) -> None:
        name = loaded.path.name if loaded.path else "sample / pasted image"
        self.setWindowTitle(f"srviewer: {name} ({loaded.width}x{loaded.height}, {loaded.bit_depth}-bit)")
        self.statusBar().showMessage(f"Opened {name}")
        self.compare.set_image(loaded)

    def paste(self) -> None:
        clipboard = QGuiApplication.clipboard()
        mime = clipboard.mimeData()
        if mime.hasUrls() and mime.urls() and mime.urls()[0].isLocalFile():
            self.open_path(mime.urls()[0].toLocalFile())
            return
        image = clipboard.image()
        if not image.isNull():
            image = image.convertToFormat(image.Format.Format_RGB888)
            arr = np.array(image.constBits(), dtype=np.uint8).reshape(image.height(), image.bytesPerLine())
            arr = arr[:, : image.width() * 3].reshape(image.height(), image.width(), 3).copy()
            self.open_loaded(from_array(arr))
            return
        text = mime.text().strip() if mime.hasText() else ""
        if text and Path(text).is_file():
            self.open_path(text)
            return
        self.show_message("warning", "The clipboard holds no image and no image path.")

    def dragEnterEvent(self, event) -> None:  # noqa: N802
        if event.mimeData().hasUrls():
            event.acceptProposedAction()

    def dropEvent(self, event) -> None:  # noqa: N802
        urls = [u for u in event.mimeData().urls() if u.isLocalFile()]
        if urls:
            self.open_path(urls[0].toLocalFile())

    # -- models and export ------------------------------------------------------------------
    def model_file_dialog(self, folders: bool = False) -> QFileDialog:
        """The *Add model…* dialog: the file filter (or, for folder formats such as SavedModel, a
        folder chooser) comes from the format registry (core/formats)."""
        from srviewer.core import formats

        start = self.settings.get("last_model_folder", str(Path.home()))
        if folders:
            labels = " or ".join(f.label for f in formats.folder_formats())
            dialog = QFileDialog(self, f"Add a model folder ({labels})", start)
            dialog.setFileMode(QFileDialog.FileMode.Directory)
            dialog.setOption(QFileDialog.Option.ShowDirsOnly, True)
        else:
            dialog = QFileDialog(self, "Add a model file", start, formats.file_dialog_filter())
            dialog.setFileMode(QFileDialog.FileMode.ExistingFile)
        return dialog

    def add_model_dialog(self, folders: bool = False) -> None:
        dialog = self.model_file_dialog(folders)
        if dialog.exec() and dialog.selectedFiles():
            path = dialog.selectedFiles()[0]
            self.settings.set("last_model_folder", str(Path(path).parent))
            self.add_model_path(path)

    def add_model_path(self, path, name: str | None = None) -> None:
        """Load a model file as a method, off the GUI thread (the first one starts the model process
        and TensorFlow there: seconds); `model_added` (the method) or an error message follows."""
        loader = ModelFileLoader(self.registry, path, name, parent=self)
        loader.loaded.connect(self._on_model_loaded)
        loader.failed.connect(lambda message: self.show_message("error", message))
        loader.finished.connect(lambda: self._loaders.remove(loader))
        self._loaders.append(loader)
        self.statusBar().showMessage(f"Loading model {Path(path).name}…")
        loader.start()

    def _on_model_loaded(self, method, path: str) -> None:
        method.name = self.registry.unique_name(method.name)   # another load may have taken the name meanwhile
        self.registry.register(method)
        checked = self.compare.controls.selected_methods() + [method.name]
        self.compare.refresh_methods(checked)
        self.tabs.setCurrentWidget(self.compare)
        self.show_message("info", f"Added method {method.name} from {Path(path).name}")
        self.model_added.emit(method)

    def add_result_dialog(self) -> None:
        folder = self.settings.get("last_result_folder", str(Path.home()))
        path, _ = QFileDialog.getOpenFileName(self, "Add a result image made elsewhere", folder, IMAGE_FILTER)
        if path:
            self.settings.set("last_result_folder", str(Path(path).parent))
            self.add_result_path(path)

    def add_result_path(self, path, name: str | None = None):
        """A result image made elsewhere as a ticked method (core.result_images); the method, or None
        and an error message. A size that does not fit the open image is a warning (the next image
        may fit); the run then names both sizes."""
        from srviewer.core.result_images import add_result

        try:
            method = add_result(self.registry, path, name)
        except SrviewerError as exc:
            self.show_message("error", str(exc))
            return None
        self.compare.refresh_methods(self.compare.controls.selected_methods() + [method.name])
        self.tabs.setCurrentWidget(self.compare)
        image = self.compare.session.image
        try:
            if image is not None:
                method.fitted(image.rgb.shape[:2], self.compare.controls.mode_key())
        except SrviewerError as exc:
            self.show_message("warning", f"Added result image {method.name}, but {exc}")
        else:
            self.show_message("info", f"Added result image {method.name} from {Path(path).name}: Run to compare it")
        return method

    def add_dropped_methods(self, paths: list[str]) -> None:
        """Files dropped onto the method list: images become result images, anything else a model."""
        from srviewer.core.result_images import is_image_path

        for path in paths:
            if is_image_path(path):
                self.add_result_path(path)
            else:
                self.add_model_path(path)

    def export_dialog(self) -> None:
        if not self.compare.session.results:
            self.show_message("warning", "Nothing to export yet: run a comparison first.")
            return
        folder = QFileDialog.getExistingDirectory(self, "Export to folder", self.settings.get("last_export", str(Path.home())))
        if folder:
            self.settings.set("last_export", folder)
            self.export_to(folder)

    def export_to(self, folder) -> bool:
        try:
            self.compare.session.export(folder)
        except (SrviewerError, OSError, ValueError) as exc:
            self.show_message("error", f"Export failed: {exc}")
            return False
        self.show_message("info", f"Exported {len(self.compare.session.results)} results, metrics.csv and manifest.json to {folder}")
        return True

    # -- messages ---------------------------------------------------------------------------
    def show_message(self, level: str, text: str) -> None:
        self.statusBar().showMessage(text, 15000)
        if level == "error":
            self.last_error = text
            if self.show_dialogs:
                QTimer.singleShot(0, lambda: QMessageBox.warning(self, "srviewer", text))

    # -- settings ---------------------------------------------------------------------------
    def _restore_settings(self) -> None:
        geometry = self.settings.get("geometry")
        if geometry is not None:
            self.restoreGeometry(geometry)
        else:
            self.resize(1500, 950)
        splitter = self.settings.get("splitter")
        if splitter is not None:
            self.compare.splitter.restoreState(splitter)
        c = self.compare.controls
        c.select(c.mode, self.settings.get("mode", "reference"))
        c.select(c.kernel, self.settings.get("kernel", "matlab"))
        c.select(c.convention, self.settings.get("convention", "y"))
        self.compare.degradation.restore(self.settings)
        methods = self.settings.get_list("methods")
        if methods:
            self.compare.refresh_methods(methods)

    def save_settings(self) -> None:
        c = self.compare.controls
        self.settings.set("geometry", self.saveGeometry())
        self.settings.set("splitter", self.compare.splitter.saveState())
        self.settings.set("mode", c.mode_key())
        self.settings.set("kernel", c.kernel_key())
        self.settings.set("convention", c.convention_key())
        self.compare.degradation.save(self.settings)
        self.settings.set("methods", c.selected_methods())
        self.settings.sync()

    # -- preloading ---------------------------------------------------------------------------
    def showEvent(self, event) -> None:  # noqa: N802
        super().showEvent(event)
        if self._preload is None:
            QTimer.singleShot(0, self.preload_models)    # once the window is on screen

    def preload_models(self) -> None:
        """Start the model process and load the ticked learned models in the background
        (core.preload), so the first Run finds them ready; a Run's own requests go first."""
        process = getattr(self.registry, "process", None)
        if process is None or self._preload is not None:
            return
        names = [n for n in self.compare.controls.selected_methods() if n in self.registry]
        self._preload = start_preload([self.registry.get(n) for n in names], self._preload_cancel, process)

    def closeEvent(self, event) -> None:  # noqa: N802
        if self.training is not None and hasattr(self.training, "confirm_close") and not self.training.confirm_close():
            event.ignore()
            return
        self.save_settings()
        self._preload_cancel.cancel()
        self.compare.runner.wait_all(5000)
        self.compare.degradation.wait_all(5000)
        for loader in list(self._loaders):
            loader.wait(5000)
        if getattr(self.registry, "process", None) is not None:
            self.registry.process.close()
        event.accept()
