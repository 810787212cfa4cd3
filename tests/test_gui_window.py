"""The comparison window driven as a user would: open, run, zoom, crop, cancel, export."""

import csv
import os
import subprocess
import sys
import threading

import numpy as np
import pytest
from skimage.metrics import peak_signal_noise_ratio, structural_similarity

from srviewer.core.conventions import rgb_to_y
from srviewer.core.images import write_image
from srviewer.core.methods import BicubicMethod, Method, MethodRegistry
from srviewer.gui.app import configure_pyqtgraph
from srviewer.gui.settings import WindowSettings


class Slow(Method):
    """Blocks inside its 'first tile' until cancelled (or 10 s), like a big model on a CPU."""

    def __init__(self, name="slow"):
        self.name, self.label = name, "Slow"
        self.entered = threading.Event()

    def upscale(self, rgb_float, progress=None, cancel=None):
        progress(0.1)
        self.entered.set()
        cancel._event.wait(10)
        cancel.raise_if_cancelled()
        return np.zeros((rgb_float.shape[0] * 4, rgb_float.shape[1] * 4, 3), np.float32)


@pytest.fixture
def settings(tmp_path):
    from PySide6.QtCore import QSettings

    return WindowSettings(QSettings(str(tmp_path / "settings.ini"), QSettings.IniFormat))


@pytest.fixture
def window(qtbot, settings):
    configure_pyqtgraph()
    from srviewer.gui.main_window import MainWindow

    registry = MethodRegistry()
    registry.register(BicubicMethod("matlab"))
    registry.register(BicubicMethod("opencv", name="bicubic_cv"))
    registry.register(Slow())
    win = MainWindow(registry, settings=settings, show_dialogs=False)
    qtbot.addWidget(win)
    win.compare.refresh_methods(["bicubic", "bicubic_cv"])
    win.resize(1200, 800)
    win.show()
    yield win
    win.compare.runner.wait_all(5000)


@pytest.fixture
def photo(tmp_path, smooth_rgb):
    path = tmp_path / "photo.png"
    write_image(path, np.tile(smooth_rgb, (2, 2, 1)))  # 96x128
    return path


def _open_and_wait(qtbot, window, path):
    with qtbot.waitSignal(window.compare.results_shown, timeout=20000):
        assert window.open_path(path)


def test_open_run_and_see_every_result(qtbot, window, photo):
    _open_and_wait(qtbot, window, photo)
    tab = window.compare
    assert set(tab.session.results) == {"bicubic", "bicubic_cv"}
    panels = tab.view.panels
    assert list(panels) == ["LR", "bicubic", "bicubic_cv", "HR"]
    assert panels["LR"].array.shape == (24, 32, 3) and panels["LR"].scale == 4
    assert panels["bicubic"].array.shape == (96, 128, 3) and panels["HR"].array.shape == (96, 128, 3)
    assert "dB" in panels["bicubic"].overlay
    assert tab.controls.bars["bicubic"].value() == 1000
    assert str(photo.resolve()) in window.settings.recent_files()


def test_zoom_is_linked_and_one_panel_can_be_held_out(qtbot, window, photo):
    _open_and_wait(qtbot, window, photo)
    view = window.compare.view
    def centre(key):  # panels of other pixel sizes show more or less around the same centre
        (x0, x1), (y0, y1) = view.view_range(key)
        return (x0 + x1) / 2, (y0 + y1) / 2

    def centred_on(point, *keys):
        return all(centre(k) == pytest.approx(point, abs=1.0) for k in keys)

    view.show_region((10, 30), (10, 30))
    qtbot.waitUntil(lambda: centred_on((20, 20), "bicubic", "HR"), timeout=3000)
    view.toggle_link("HR")
    view.show_region((40, 60), (40, 60))
    qtbot.waitUntil(lambda: centred_on((50, 50), "bicubic"), timeout=3000)
    assert centre("HR") == pytest.approx((20, 20), abs=1.0)
    assert "unlinked" in view.panels["HR"].label_text


def test_crop_box_updates_the_strip_and_overlays(qtbot, window, photo):
    _open_and_wait(qtbot, window, photo)
    tab = window.compare
    tab.view.set_crop((8, 8, 40, 40))
    sr, hr = (x[8:48, 8:48] for x in (tab.session.results["bicubic"].sr, tab.session.prepared.hr))
    y_sr, y_hr = rgb_to_y(sr), rgb_to_y(hr)   # scikit-image on the cropped arrays, no border
    expected_psnr = peak_signal_noise_ratio(y_hr, y_sr, data_range=255)
    expected_ssim = structural_similarity(y_sr, y_hr, gaussian_weights=True, sigma=1.5,
                                          use_sample_covariance=False, data_range=255)
    expected = f"{expected_psnr:.2f} dB / {expected_ssim:.4f}"
    qtbot.waitUntil(lambda: expected in tab.crops.caption("bicubic"), timeout=3000)
    assert f"crop {expected_psnr:.2f} dB / {expected_ssim:.4f}" in tab.view.panels["bicubic"].overlay
    caption = tab.crops.caption("bicubic")
    tile = tab.crops.tiles["bicubic"].image.pixmap()
    assert tile is not None and not tile.isNull()
    assert all(p.roi.isVisible() for p in tab.view.panels.values())
    first = caption
    tab.view.panels["HR"].roi.setPos((50, 40))  # drag the box on another panel
    qtbot.waitUntil(lambda: tab.crops.caption("bicubic") != first, timeout=3000)
    assert tab.view.crop_rect[:2] == (50, 40)


def test_the_tab_draws_what_its_session_holds(qtbot, window, photo):
    _open_and_wait(qtbot, window, photo)
    tab = window.compare
    tab.session.set_crop((100, 0, 64, 20))           # past the 128 px edge: the session clips it
    assert tab.session.crop == (100, 0, 28, 20) and tab.view.crop_rect == (100, 0, 28, 20)
    s = tab.session.crop_scores["bicubic_cv"]
    assert f"{s['psnr_y']:.2f} dB / {s['ssim_y']:.4f}" in tab.crops.caption("bicubic_cv")
    assert f"crop {s['psnr_y']:.2f} dB" in tab.view.panels["bicubic_cv"].overlay
    assert set(s) == {"psnr_y", "ssim_y"}            # Y alone: quick enough to follow a moving box


def test_cancel_stops_a_running_method(qtbot, window, photo):
    window.compare.refresh_methods(["slow", "bicubic"])
    slow = window.registry.get("slow")
    window.open_path(photo)
    assert slow.entered.wait(10)
    with qtbot.waitSignal(window.compare.runner.run_cancelled, timeout=10000):
        window.compare.controls.cancel.click()
    qtbot.waitUntil(lambda: window.compare.controls.bars["slow"].format() == "cancelled", timeout=3000)
    assert "bicubic" not in window.compare.session.results


def test_a_new_request_replaces_a_running_one(qtbot, window, photo):
    window.compare.refresh_methods(["slow"])
    slow = window.registry.get("slow")
    window.open_path(photo)
    assert slow.entered.wait(10)
    window.compare.refresh_methods(["bicubic"])
    with qtbot.waitSignal(window.compare.results_shown, timeout=10000):
        window.compare.run()
    assert set(window.compare.session.results) == {"bicubic"}


def test_unreadable_file_shows_a_message_and_the_window_survives(qtbot, window, tmp_path, photo):
    bad = tmp_path / "notes.png"
    bad.write_text("not an image")
    assert not window.open_path(bad)
    assert "notes.png" in window.last_error
    assert "notes.png" in window.statusBar().currentMessage()
    _open_and_wait(qtbot, window, photo)  # still works afterwards


def test_export_writes_results_and_metrics(qtbot, window, photo, tmp_path):
    _open_and_wait(qtbot, window, photo)
    window.compare.view.set_crop((8, 8, 32, 32))
    out = tmp_path / "export"
    assert window.export_to(out)
    names = {p.name for p in out.iterdir()}
    assert {"bicubic.png", "bicubic_cv.png", "lr.png", "hr.png", "metrics.csv", "manifest.json", "figure.png"} <= names
    rows = {r["method"]: r for r in csv.DictReader((out / "metrics.csv").open())}
    for name in ("bicubic", "bicubic_cv"):  # the crop caption and metrics.csv show the same figures
        psnr_y, ssim_y = float(rows[name]["crop_psnr_y"]), float(rows[name]["crop_ssim_y"])
        qtbot.waitUntil(lambda: f"{psnr_y:.2f} dB / {ssim_y:.4f}" in window.compare.crops.caption(name),
                        timeout=3000)


def test_settings_persist_between_windows(qtbot, window, settings):
    from srviewer.gui.main_window import MainWindow

    controls = window.compare.controls
    controls.select(controls.mode, "blind")
    controls.select(controls.convention, "rgb")
    window.save_settings()
    again = MainWindow(window.registry, settings=settings, show_dialogs=False)
    qtbot.addWidget(again)
    assert again.compare.controls.mode_key() == "blind"
    assert again.compare.controls.convention_key() == "rgb"
    assert again.compare.controls.selected_methods() == controls.selected_methods()


def test_gui_command_saves_a_screenshot_once_results_are_shown(tmp_path, photo):
    shot = tmp_path / "shot.png"
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen", SRVIEWER_SETTINGS_ORG="srviewer-tests-cli")
    proc = subprocess.run([sys.executable, "-m", "srviewer", "gui", str(photo), "--methods", "bicubic",
                           "--weights-dir", str(tmp_path / "no-weights"), "--screenshot", str(shot),
                           "--quit-after-results"], env=env, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    from srviewer.core.images import read_image

    assert read_image(shot).width > 400


def test_inspect_swipe_error_map_and_flicker(qtbot, window, photo):
    _open_and_wait(qtbot, window, photo)
    tab = window.compare
    inspector = tab.inspector
    tab.lower.setCurrentWidget(inspector)
    inspector.a.setCurrentIndex(inspector.a.findData("bicubic"))
    inspector.b.setCurrentIndex(inspector.b.findData("LR"))
    inspector.mode.setCurrentIndex(inspector.mode.findData("swipe"))
    inspector.slider.setValue(250)
    shown = inspector.image.image
    a, b = tab.session.results["bicubic"].sr, inspector.images["LR"]
    split = int(round(0.25 * a.shape[1]))
    assert np.array_equal(shown[:, : split], a[:, : split])
    assert np.array_equal(shown[:, split + 1:], b[:, split + 1:])
    inspector.mode.setCurrentIndex(inspector.mode.findData("error"))
    err = inspector.image.image
    assert err.shape == a.shape[:2] and err.dtype == np.float32
    expected = np.abs(a.astype(np.float32) - tab.session.prepared.hr.astype(np.float32)).mean(axis=2)
    assert np.allclose(err, expected)
    inspector.mode.setCurrentIndex(inspector.mode.findData("flicker"))
    first = inspector.info.text()
    qtbot.waitUntil(lambda: inspector.info.text() != first, timeout=3000)


def test_a_model_file_loads_off_the_gui_thread_and_becomes_a_checked_method(qtbot, window, tmp_path):
    from srviewer.core import models
    from srviewer.core.atomic import atomic_write_json

    kwargs = {"num_filters": 4, "num_res_blocks": 1, "batch_norm": False}
    models.build({"factory": "sr_resnet", "kwargs": kwargs}).save_weights(str(tmp_path / "mine.weights.h5"))
    atomic_write_json(tmp_path / "mine.json", {"factory": "sr_resnet", "kwargs": kwargs, "scale": 4,
                                               "input": "lr", "label": "My model", "format": 1})
    with qtbot.waitSignal(window.model_added, timeout=60_000) as added:
        window.add_model_path(tmp_path / "mine.weights.h5")
        assert "Loading model mine.weights.h5" in window.statusBar().currentMessage()   # returned at once
        assert "mine" not in window.registry.names()
    method = added.args[0]
    assert method.name == "mine" and method.label == "My model" and "mine" in window.registry.names()
    assert "mine" in window.compare.controls.selected_methods()
    assert "Added method mine" in window.statusBar().currentMessage()

    (tmp_path / "broken.keras").write_bytes(b"not a model")
    window.add_model_path(tmp_path / "broken.keras")
    qtbot.waitUntil(lambda: "broken.keras" in window.last_error, timeout=60_000)
    assert "broken" not in window.registry.names()
