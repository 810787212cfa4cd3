"""The window's Degradation group: live LR, captions, a run with the chain, the sweep plot."""

import numpy as np
import pytest

from srviewer.core import degrade as dg
from srviewer.core.images import write_image
from test_gui_window import settings, window  # noqa: F401 - the same window (bicubic, bicubic_cv ticked)


@pytest.fixture
def hr(smooth_rgb):
    return np.tile(smooth_rgb, (2, 2, 1))     # 96x128


def _open(qtbot, window, tmp_path, hr):
    path = tmp_path / "photo.png"
    write_image(path, hr)
    with qtbot.waitSignal(window.compare.results_shown, timeout=20000):
        assert window.open_path(path)


def test_settings_update_the_lr_panel_live_without_running_the_methods(qtbot, window, tmp_path, hr):
    _open(qtbot, window, tmp_path, hr)
    tab, lab = window.compare, window.compare.degradation
    panel = lab.panel
    assert panel.isVisible()
    clean_lr = tab.view.panels["LR"].array.copy()
    before = {n: r.sr.copy() for n, r in tab.session.results.items()}
    assert np.array_equal(clean_lr, dg.degrade(hr, dg.CLEAN))
    assert "LR: kernel=matlab" in tab.view.panels["bicubic"].overlay
    panel.noise.setValue(12.0)
    panel.jpeg_on.setChecked(True)
    panel.jpeg.setValue(40)
    expected = dg.degrade(hr, dg.parse_chain("kernel=matlab,noise=12,jpeg=40,seed=0"))
    qtbot.waitUntil(lambda: np.array_equal(tab.view.panels["LR"].array, expected), timeout=5000)
    assert "preview: kernel=matlab,noise=12,jpeg=40,seed=0" in tab.view.panels["LR"].overlay
    assert not tab.session.running                      # no model ran
    assert all(np.array_equal(r.sr, before[n]) for n, r in tab.session.results.items())
    assert "LR: kernel=matlab" in tab.view.panels["bicubic"].overlay and "noise" not in tab.view.panels["bicubic"].overlay
    scores_before = tab.session.results["bicubic"].scores["psnr_y"]
    with qtbot.waitSignal(tab.results_shown, timeout=20000):
        tab.controls.run.click()
    assert np.array_equal(tab.session.prepared.lr, expected)
    assert tab.session.results["bicubic"].scores["psnr_y"] < scores_before - 0.3
    for key in ("LR", "bicubic", "bicubic_cv", "HR"):
        assert "kernel=matlab,noise=12,jpeg=40,seed=0" in tab.view.panels[key].overlay, key
    assert "preview" not in tab.view.panels["LR"].overlay


def test_kernel_follows_the_kernel_control_and_blind_mode_hides_the_group(qtbot, window, tmp_path, hr):
    _open(qtbot, window, tmp_path, hr)
    tab, panel = window.compare, window.compare.degradation.panel
    tab.controls.select(tab.controls.kernel, "opencv")
    assert str(tab.session.chain()) == "kernel=opencv" and tab.session.degradation is None
    panel.kernel.setCurrentIndex(panel.kernel.findData("area"))
    panel.blur.setValue(1.5)
    assert str(tab.session.chain()) == "blur=1.5,kernel=area"
    tab.controls.select(tab.controls.mode, "blind")
    assert not panel.isVisible()
    tab.controls.select(tab.controls.mode, "reference")
    assert panel.isVisible()


def test_sweep_plot_from_the_window(qtbot, window, tmp_path, hr):
    _open(qtbot, window, tmp_path, hr)
    lab = window.compare.degradation
    lab.panel.sweep_key.setCurrentIndex(lab.panel.sweep_key.findData("jpeg"))
    lab.panel.sweep_values.setText("90,50,20")
    with qtbot.waitSignal(lab.runner.finished, timeout=30000):
        lab.panel.sweep_button.click()
    result = lab.last_sweep
    assert result.key == "jpeg" and result.values == [90, 50, 20]
    assert set(result.methods) == {"bicubic", "bicubic_cv"}
    assert result.methods["bicubic"]["psnr_y"][0] > result.methods["bicubic"]["psnr_y"][-1]
    assert window.compare.lower.currentWidget() is lab.sweep_page
    assert lab.sweep_label.pixmap() is not None and lab.sweep_label.pixmap().width() > 600
    messages = []
    window.compare.message.connect(lambda level, text: messages.append((level, text)))
    lab.panel.sweep_values.setText("90,x")
    lab.panel.sweep_button.click()
    assert messages and messages[-1][0] == "error" and "jpeg=x" in messages[-1][1]


def test_gui_bad_degrade_is_one_line_before_any_window(capsys):
    from srviewer.cli import main

    assert main(["gui", "--degrade", "noise=abc"]) == 2
    err = capsys.readouterr().err.strip()
    assert "noise=abc" in err and len(err.splitlines()) == 1


def test_the_chain_is_kept_in_the_settings(qtbot, window, settings):
    from srviewer.gui.main_window import MainWindow

    panel = window.compare.degradation.panel
    panel.blur.setValue(0.8)
    panel.kernel.setCurrentIndex(panel.kernel.findData("area"))
    panel.jpeg_on.setChecked(True)
    window.save_settings()
    again = MainWindow(window.registry, settings=settings, show_dialogs=False)
    qtbot.addWidget(again)
    assert str(again.compare.degradation.chain()) == "blur=0.8,kernel=area,jpeg=75"
    assert not again.compare.degradation.panel.kernel_follows()
