"""The window's *Add model…*: the dialog's filter from the format registry, an ONNX file run as a column."""

import onnx_models   # tests/onnx_models.py (the onnx package, a test dependency)
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QDialog, QFileDialog

from srviewer.core import formats
from srviewer.core.images import sample_image, write_image
from test_gui_window import settings, window  # noqa: F401 - the window with bicubic, bicubic_cv, slow


def test_add_model_dialog_filters_come_from_the_registry(window):
    dialog = window.model_file_dialog()
    filters = dialog.nameFilters()
    assert filters[0].startswith("Model files (") and "*.onnx" in filters[0] and "*.keras" in filters[0]
    assert [f.split(" (")[0] for f in filters[1:-1]] == [f.label for f in formats.formats() if not f.folder]
    assert dialog.fileMode() == QFileDialog.FileMode.ExistingFile
    folders = [f.label for f in formats.folder_formats()]          # SavedModel: a folder chooser of its own
    assert folders and window.model_file_dialog(folders=True).fileMode() == QFileDialog.FileMode.Directory
    entries = [a.text() for a in window.menuBar().actions()[0].menu().actions()]
    assert any("folder" in e and folders[0] in e for e in entries), entries


def test_add_model_button_adds_an_onnx_model_that_runs_as_a_column(qtbot, window, tmp_path, monkeypatch):
    model = onnx_models.build(tmp_path / "theirs.onnx", bgr=True, value_range="0..255")
    write_image(tmp_path / "photo.png", sample_image().rgb[80:200, 120:280])   # a photo: blue under red, as BGR models expect
    window.open_path(tmp_path / "photo.png")
    qtbot.waitUntil(lambda: not window.compare.session.running, timeout=20000)

    def chosen(dialog):
        dialog.selectFile(str(model))
        return QDialog.DialogCode.Accepted

    monkeypatch.setattr(QFileDialog, "exec", chosen)
    with qtbot.waitSignal(window.model_added, timeout=60000) as added:
        qtbot.mouseClick(window.compare.controls.add_model, Qt.LeftButton)
    method = added.args[0]
    assert method.name == "theirs" and window.compare.controls.checks["theirs"].isChecked()
    assert method._loaded.convention.channels == "bgr" and method._loaded.convention.range == "0..255"
    with qtbot.waitSignal(window.compare.results_shown, timeout=60000):
        window.compare.run()
    session = window.compare.session
    ours, bicubic = session.results["theirs"].scores, session.results["bicubic"].scores
    assert abs(ours["psnr_y"] - bicubic["psnr_y"]) < 1.5          # a lightly smoothed bicubic, in the right convention
    assert session.results["theirs"].device.startswith("CPU (onnxruntime")
