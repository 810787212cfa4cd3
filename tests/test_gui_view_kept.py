"""A re-layout (a method added, Run again) keeps every panel on the region the user zoomed to."""

import numpy as np
import pytest

from srviewer.core.images import write_image
from srviewer.core.methods import BicubicMethod, MethodRegistry

REGION = ((40.0, 80.0), (30.0, 60.0))     # output pixels: x from 40 to 80, y from 30 to 60


@pytest.fixture
def window(make_window):
    registry = MethodRegistry()
    registry.register(BicubicMethod("matlab"))
    registry.register(BicubicMethod("opencv", name="bicubic_cv"))
    win = make_window(registry, ["bicubic"])
    win.resize(1200, 800)
    win.show()
    return win


def _shows_region(view, key) -> bool:
    """The panel's range holds the region, centred on it, at about its size (aspect lock widens one axis)."""
    (x0, x1), (y0, y1) = view.view_range(key)
    (rx0, rx1), (ry0, ry1) = REGION
    centred = abs((x0 + x1) / 2 - (rx0 + rx1) / 2) < 1 and abs((y0 + y1) / 2 - (ry0 + ry1) / 2) < 1
    holds = x0 <= rx0 + 0.5 and x1 >= rx1 - 0.5 and y0 <= ry0 + 0.5 and y1 >= ry1 - 0.5
    tight = (x1 - x0) <= 3 * (rx1 - rx0) or (y1 - y0) <= 3 * (ry1 - ry0)
    return centred and holds and tight


def test_adding_a_method_and_running_again_keeps_the_zoomed_region(qtbot, window, tmp_path, smooth_rgb):
    path = tmp_path / "photo.png"
    write_image(path, np.tile(smooth_rgb, (3, 3, 1)))        # 144x192
    tab = window.compare
    with qtbot.waitSignal(tab.results_shown, timeout=20000):
        window.open_path(path)
    tab.view.show_region(*REGION)
    qtbot.waitUntil(lambda: all(_shows_region(tab.view, k) for k in tab.view.panels), timeout=3000)
    before = len(tab.view.panels)

    tab.refresh_methods(["bicubic", "bicubic_cv"])           # a column more: the grid is rebuilt
    with qtbot.waitSignal(tab.results_shown, timeout=20000):
        tab.run()
    assert len(tab.view.panels) == before + 1
    qtbot.wait(50)                                            # let the layout give the new views their size
    qtbot.waitUntil(lambda: all(_shows_region(tab.view, k) for k in tab.view.panels), timeout=3000)

    with qtbot.waitSignal(tab.results_shown, timeout=20000):  # and a plain second Run
        tab.run()
    qtbot.wait(50)
    qtbot.waitUntil(lambda: all(_shows_region(tab.view, k) for k in tab.view.panels), timeout=3000)


def test_a_new_image_is_shown_whole(qtbot, window, tmp_path, smooth_rgb):
    path = tmp_path / "photo.png"
    write_image(path, np.tile(smooth_rgb, (3, 3, 1)))
    with qtbot.waitSignal(window.compare.results_shown, timeout=20000):
        window.open_path(path)
    window.compare.view.show_region(*REGION)
    with qtbot.waitSignal(window.compare.results_shown, timeout=20000):
        window.open_path(path)                                # opened again: a new LoadedImage
    view = window.compare.view
    qtbot.waitUntil(lambda: view.view_range("HR")[0][1] - view.view_range("HR")[0][0] >= 192, timeout=3000)
