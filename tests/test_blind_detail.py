"""Blind mode's captions: the fine detail each result adds over bicubic (whole image and crop) and
its size, computed in the core."""

import math

import numpy as np
import pytest

from srviewer.core import compare as cmp
from srviewer.core.blind_detail import bicubic, bicubic_region, crop_detail, detail_ratio
from srviewer.core.conventions import rgb_to_y, upscale_bicubic
from srviewer.core.images import from_array, from_float, to_float
from srviewer.core.methods import BicubicMethod, Method, MethodRegistry
from srviewer.core.session import ComparisonSession


def _energy_by_hand(img):
    """Mean squared 4-neighbour Laplacian of the luma over the interior pixels (numpy slicing)."""
    y = rgb_to_y(img)
    lap = y[:-2, 1:-1] + y[2:, 1:-1] + y[1:-1, :-2] + y[1:-1, 2:] - 4 * y[1:-1, 1:-1]
    return float(np.mean(lap ** 2))


class Sharpened(Method):
    """Bicubic then an unsharp mask: more fine detail than bicubic."""

    def __init__(self):
        self.name, self.label = "sharp", "Sharpened"

    def upscale(self, rgb_float, progress=None, cancel=None):
        up = upscale_bicubic(rgb_float, 4, "matlab")
        blurred = (np.roll(up, 1, 0) + np.roll(up, -1, 0) + np.roll(up, 1, 1) + np.roll(up, -1, 1)) / 4
        return np.clip(up + 1.5 * (up - blurred), 0, 1)


@pytest.fixture
def lr(smooth_rgb):
    return np.tile(smooth_rgb, (2, 2, 1))            # 96x128 LR


@pytest.mark.parametrize("kernel", ["matlab", "opencv"])
def test_the_bicubic_of_a_region_equals_the_same_region_of_the_whole_upscale(lr, kernel):
    whole = bicubic(lr, 4, kernel)
    assert np.array_equal(whole, from_float(BicubicMethod(kernel).upscale(to_float(lr)), 8))   # the method's own
    for x, y, w, h in [(0, 0, 37, 21), (100, 80, 64, 64), (512 - 30, 384 - 17, 30, 17), (0, 0, 512, 384), (5, 3, 7, 9)]:
        assert np.array_equal(bicubic_region(lr, (x, y, w, h), 4, kernel), whole[y:y + h, x:x + w])


def test_a_blind_run_reports_each_results_detail_over_bicubic(lr):
    registry = MethodRegistry()
    registry.register(BicubicMethod("matlab"))
    registry.register(Sharpened())
    request = cmp.CompareRequest(image=from_array(lr), methods=["bicubic", "sharp"], mode="blind")
    finished = list(cmp.run_comparison(request, registry))[-1].results
    assert finished["bicubic"].detail == pytest.approx(1.0)
    baseline = finished["bicubic"].sr
    assert finished["sharp"].detail == pytest.approx(_energy_by_hand(finished["sharp"].sr) / _energy_by_hand(baseline))
    assert finished["sharp"].detail > 1.5
    reference = cmp.CompareRequest(image=from_array(lr), methods=["bicubic"], mode="reference")
    assert list(cmp.run_comparison(reference, registry))[-1].results["bicubic"].detail is None


def test_the_session_follows_the_crop_with_the_detail_inside_it(lr):
    registry = MethodRegistry()
    registry.register(BicubicMethod("matlab"))
    registry.register(Sharpened())
    session = ComparisonSession(registry, mode="blind")
    session.set_image(from_array(lr))
    session.set_methods(["bicubic", "sharp"])
    session.run()
    rect = (120, 40, 96, 64)
    session.set_crop(rect)
    x, y, w, h = rect
    sharp = session.results["sharp"].sr[y:y + h, x:x + w]
    plain = session.results["bicubic"].sr[y:y + h, x:x + w]
    assert session.crop_detail["sharp"] == pytest.approx(_energy_by_hand(sharp) / _energy_by_hand(plain))
    assert session.crop_detail["bicubic"] == pytest.approx(1.0)
    assert session.crop_scores == {}
    assert math.isnan(detail_ratio(sharp, np.full_like(sharp, 7)))      # a flat baseline: no ratio
    assert crop_detail(session.results["sharp"].sr, lr, rect, 4, "matlab") == session.crop_detail["sharp"]


def test_blind_mode_panels_and_crops_show_size_and_detail(qtbot, make_window, lr):
    registry = MethodRegistry()
    registry.register(BicubicMethod("matlab"))
    registry.register(Sharpened())
    win = make_window(registry, ["bicubic", "sharp"])
    win.compare.controls.select(win.compare.controls.mode, "blind")
    win.show()
    with qtbot.waitSignal(win.compare.results_shown, timeout=20000):
        win.open_loaded(from_array(lr))
    session = win.compare.session
    qtbot.waitUntil(lambda: "sharp" in session.crop_detail, timeout=3000)
    caption = win.compare.view.panels["sharp"].overlay
    assert "512x384 px" in caption
    assert f"image {session.results['sharp'].detail:.2f}x" in caption
    assert f"crop {session.crop_detail['sharp']:.2f}x" in caption
    assert "1.00x bicubic (crop)" in win.compare.crops.caption("bicubic")
