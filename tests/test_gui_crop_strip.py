"""The crop strip shows every crop at once, the ground truth included, at the window's sizes."""

import numpy as np
import pytest
from PySide6.QtCore import QPoint

from srviewer.core.images import sample_image
from srviewer.core.methods import BicubicMethod, MethodRegistry
from srviewer.gui.crop_panel import fit_nearest, grid_for


@pytest.fixture
def window(make_window):
    registry = MethodRegistry()
    for i, kernel in enumerate(("matlab", "opencv", "matlab", "opencv")):   # four methods, no TensorFlow
        registry.register(BicubicMethod(kernel, name=f"method{i + 1}"))
    return make_window(registry, registry.names())


def _strip_after_a_run(qtbot, win, size=None):
    if size is not None:
        win.resize(*size)
    win.show()
    with qtbot.waitSignal(win.compare.results_shown, timeout=20000):
        win.open_loaded(sample_image())
    qtbot.waitUntil(lambda: all(t.image.pixmap() is not None and not t.image.pixmap().isNull()
                                for t in win.compare.crops.tiles.values()), timeout=5000)
    return win.compare.crops


@pytest.mark.parametrize("size", [None, (1500, 950), (1100, 700)])
def test_every_crop_the_hr_included_is_in_view_without_a_horizontal_scroll_bar(qtbot, window, size):
    strip = _strip_after_a_run(qtbot, window, size)
    if size is None:
        assert (window.width(), window.height()) == (1500, 950)
    assert list(strip.tiles) == ["LR", "method1", "method2", "method3", "method4", "HR"]
    assert not strip.horizontalScrollBar().isVisible()
    viewport = strip.viewport().rect()
    for key, tile in strip.tiles.items():
        top_left = tile.image.mapTo(strip.viewport(), QPoint(0, 0))
        bottom_right = tile.image.mapTo(strip.viewport(), QPoint(tile.image.width() - 1, tile.image.height() - 1))
        assert viewport.contains(top_left) and viewport.contains(bottom_right), key
    assert strip.grid[2] >= 100   # magnified, not thumbnails


def test_grid_wraps_to_more_rows_when_that_gives_larger_tiles():
    assert grid_for(6, 1200, 250, 1.0, 40)[:2] == (1, 6)        # a wide strip: one row
    rows, cols, width = grid_for(8, 600, 700, 1.0, 40)           # a tall one: several rows, larger tiles
    assert rows > 1 and rows * cols >= 8 and width > 600 / 8
    assert grid_for(3, 900, 150, 2.0, 0) == (1, 3, 284)          # wide crops in a low strip: height-bound, 2:1
    assert grid_for(3, 900, 400, 2.0, 0) == (2, 2, 388)          # ... in a taller one: two rows are larger


def test_tiles_are_resampled_nearest_neighbour_to_their_size():
    crop = np.arange(4 * 6 * 3, dtype=np.uint8).reshape(4, 6, 3)
    assert np.array_equal(fit_nearest(crop, 12, 100), np.repeat(np.repeat(crop, 2, 0), 2, 1))   # x2, width-bound
    assert np.array_equal(fit_nearest(crop, 3, 100), crop[[1, 3]][:, [1, 3, 5]])   # /2: centre samples
