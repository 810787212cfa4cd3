"""The window's *Add model file…* and *Add model folder…* with a .pb, a SavedModel and a .tflite."""

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QDialog, QFileDialog

from srviewer.core.images import sample_image, write_image
from test_gui_window import settings, window  # noqa: F401 - the window with bicubic, bicubic_cv, slow
from tf_format_models import export_saved_model, save_frozen_graph, save_tflite, sr_model


def test_tensorflow_formats_are_added_from_the_dialogs_and_run_as_columns(qtbot, window, tmp_path, monkeypatch):
    files = {"graph": save_frozen_graph(sr_model(scales=(4,), seed=1), tmp_path / "graph.pb"),
             "saved": export_saved_model(sr_model(scales=(4,), layout="nchw", value_max=255.0, seed=2),
                                         tmp_path / "saved"),
             "lite": save_tflite(sr_model(scales=(4,), fixed=(24, 24), seed=3), tmp_path / "lite.tflite")}
    write_image(tmp_path / "photo.png", sample_image().rgb[80:200, 120:280])
    window.open_path(tmp_path / "photo.png")
    qtbot.waitUntil(lambda: not window.compare.session.running, timeout=20000)

    chosen_path = {}

    def chosen(dialog):
        dialog.selectFile(str(chosen_path["path"]))
        return QDialog.DialogCode.Accepted

    monkeypatch.setattr(QFileDialog, "exec", chosen)
    for name, path in files.items():
        chosen_path["path"] = path
        with qtbot.waitSignal(window.model_added, timeout=120000) as added:
            if path.is_dir():
                window.add_model_dialog(folders=True)       # File > Add model folder (SavedModel)…
            else:
                qtbot.mouseClick(window.compare.controls.add_model, Qt.LeftButton)
        assert added.args[0].name == name and window.compare.controls.checks[name].isChecked()
    with qtbot.waitSignal(window.compare.results_shown, timeout=120000):
        window.compare.run()
    results = window.compare.session.results
    bicubic = results["bicubic"].scores["psnr_y"]
    for name in files:                      # nearest + a small random residual: near bicubic, in its convention
        assert bicubic - 6 < results[name].scores["psnr_y"] < bicubic + 1, name
    assert "LiteRT" in results["lite"].device
