"""The window's result images: *Add result image…*, a file dropped onto the method list, a run."""

import os
import subprocess
import sys

import numpy as np
import pytest
from PySide6.QtCore import QMimeData, QPoint, QPointF, Qt, QUrl
from PySide6.QtGui import QDragEnterEvent, QDropEvent
from PySide6.QtWidgets import QApplication, QFileDialog

from srviewer.core.conventions import downscale, mod_crop
from srviewer.core.images import from_float, read_image, to_float, write_image
from srviewer.core.methods import BicubicMethod
from test_gui_window import settings, window  # noqa: F401 - the window with bicubic, bicubic_cv, slow


@pytest.fixture
def photo(tmp_path, smooth_rgb):
    """A 130x98 HR (not a multiple of 4) and the bicubic method's own result for it, as files."""
    hr = np.pad(np.tile(smooth_rgb, (2, 2, 1)), ((0, 2), (0, 2), (0, 0)), mode="reflect")
    write_image(tmp_path / "photo.png", hr)
    sr = from_float(BicubicMethod("matlab").upscale(to_float(downscale(mod_crop(hr, 4), 4))), 8)
    write_image(tmp_path / "photo_theirs.png", sr)
    return tmp_path / "photo.png", tmp_path / "photo_theirs.png"


def _run(qtbot, window):
    with qtbot.waitSignal(window.compare.results_shown, timeout=20000):
        window.compare.run()


def _drop(widget, paths) -> bool:
    """Drop local files onto `widget` as Qt delivers them; True when the widget accepted the drop."""
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(p)) for p in paths])
    enter = QDragEnterEvent(QPoint(10, 10), Qt.CopyAction, mime, Qt.LeftButton, Qt.NoModifier)
    QApplication.sendEvent(widget, enter)
    drop = QDropEvent(QPointF(10, 10), Qt.CopyAction, mime, Qt.LeftButton, Qt.NoModifier)
    drop.ignore()
    QApplication.sendEvent(widget, drop)
    return enter.isAccepted() and drop.isAccepted()


def test_add_result_image_button_adds_a_ticked_method_scored_like_bicubic(qtbot, window, photo, monkeypatch):
    hr_path, result_path = photo
    window.open_path(hr_path)
    qtbot.waitUntil(lambda: not window.compare.session.running, timeout=20000)
    monkeypatch.setattr(QFileDialog, "getOpenFileName", lambda *a, **k: (str(result_path), ""))
    qtbot.mouseClick(window.compare.controls.add_result, Qt.LeftButton)
    controls = window.compare.controls
    assert "photo_theirs" in controls.checks and controls.checks["photo_theirs"].isChecked()
    assert controls.selected_methods() == ["bicubic", "bicubic_cv", "photo_theirs"]
    assert "Added result image photo_theirs" in window.statusBar().currentMessage()
    _run(qtbot, window)
    session = window.compare.session
    assert session.results["photo_theirs"].scores == session.results["bicubic"].scores
    assert "dB" in window.compare.view.panels["photo_theirs"].overlay
    assert session.crop_scores["photo_theirs"] == session.crop_scores["bicubic"]


def test_a_result_that_does_not_fit_the_open_image_warns_and_its_run_names_both_sizes(qtbot, window, photo, tmp_path):
    hr_path, _ = photo
    window.open_path(hr_path)
    qtbot.waitUntil(lambda: not window.compare.session.running, timeout=20000)
    write_image(tmp_path / "small.png", np.zeros((20, 30, 3), np.uint8))
    assert window.add_result_path(tmp_path / "small.png") is not None
    assert "30x20" in window.statusBar().currentMessage() and "130x98" in window.statusBar().currentMessage()
    _run(qtbot, window)
    assert "30x20" in window.compare.session.failed["small"] and "bicubic" in window.compare.session.results


def test_an_image_dropped_on_the_method_list_is_a_result_and_a_model_file_stays_a_model(
        qtbot, window, photo, tmp_path, monkeypatch):
    _hr_path, result_path = photo
    models = []
    monkeypatch.setattr(window, "add_model_path", lambda path, name=None: models.append(path))
    assert _drop(window.compare.controls.methods_box, [result_path, tmp_path / "net.keras"])
    assert "photo_theirs" in window.compare.controls.checks
    assert window.registry.get("photo_theirs").path == result_path
    assert models == [str(tmp_path / "net.keras")]
    assert window.compare.session.image is None          # the drop did not open the image instead


def test_a_bad_result_file_is_a_message_and_nothing_is_added(qtbot, window, tmp_path):
    (tmp_path / "notes.png").write_text("not a picture")
    assert window.add_result_path(tmp_path / "notes.png") is None
    assert "notes.png" in window.last_error
    assert "notes" not in window.compare.controls.checks


def test_gui_command_result_argument_ticks_it_and_a_bad_one_is_one_line(tmp_path, photo):
    hr_path, result_path = photo
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen", SRVIEWER_SETTINGS_ORG="srviewer-tests-cli")
    base = [sys.executable, "-m", "srviewer", "gui", str(hr_path), "--methods", "bicubic",
            "--weights-dir", str(tmp_path / "no-weights")]
    proc = subprocess.run(base + ["--result", f"theirs={tmp_path / 'missing.png'}"], env=env, capture_output=True,
                          text=True, timeout=120)
    assert proc.returncode == 2 and proc.stderr.strip().splitlines()[-1].startswith("srviewer: error: --result")
    assert "missing.png not found" in proc.stderr
    shot = tmp_path / "shot.png"
    proc = subprocess.run(base + ["--result", f"theirs={result_path}", "--screenshot", str(shot), "--quit-after-results"],
                          env=env, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert read_image(shot).width > 400
