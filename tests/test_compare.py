"""The comparison run: event order, scores in the paper convention, failures and cancel."""

import time

import numpy as np
import pytest

from srviewer.core import compare as cmp
from srviewer.core.cancel import CancelToken
from srviewer.core.conventions import downscale, upscale_bicubic
from srviewer.core.images import from_array
from srviewer.core.metrics import score
from srviewer.errors import Cancelled, MethodUnavailable


class Bicubic:
    label = "Bicubic"

    def __init__(self, name="bicubic"):
        self.name = name

    def availability(self):
        return True, ""

    def upscale(self, rgb_float, progress=None, cancel=None):
        for f in (0.5, 1.0):
            if cancel:
                cancel.raise_if_cancelled()
            if progress:
                progress(f)
        return upscale_bicubic(rgb_float, 4, "matlab")


class Missing(Bicubic):
    def availability(self):
        return False, "weights/missing.weights.h5 not found"

    def upscale(self, rgb_float, progress=None, cancel=None):
        raise MethodUnavailable("no")


class Broken(Bicubic):
    def upscale(self, rgb_float, progress=None, cancel=None):
        raise RuntimeError("the model exploded")


class WaitsForCancel(Bicubic):
    """A 'slow' method: after its first tile it waits (up to 5 s) until someone cancels."""

    def upscale(self, rgb_float, progress=None, cancel=None):
        progress(0.5)
        deadline = time.monotonic() + 5
        while not cancel.cancelled and time.monotonic() < deadline:
            time.sleep(0.01)
        cancel.raise_if_cancelled()
        return super().upscale(rgb_float, progress, cancel)


class Registry(dict):
    def get(self, name):
        return self[name]

    def names(self):
        return list(self)


@pytest.fixture
def registry():
    return Registry(bicubic=Bicubic(), missing=Missing("missing"), broken=Broken("broken"),
                    bicubic2=Bicubic("bicubic2"), slow=WaitsForCancel("slow"))


def test_reference_run_yields_events_in_order_with_paper_scores(registry, smooth_rgb):
    req = cmp.CompareRequest(from_array(smooth_rgb), ["bicubic"], mode="reference")
    events = list(cmp.run_comparison(req, registry))
    kinds = [type(e).__name__ for e in events]
    assert kinds[0] == "Prepared" and kinds[1] == "MethodStarted" and kinds[-1] == "RunFinished"
    assert kinds.count("MethodProgress") == 2 and "MethodFinished" in kinds
    prepared, finished = events[0], events[-2]
    assert prepared.lr.shape == (12, 16, 3) and prepared.hr.shape == (48, 64, 3)
    assert finished.sr.shape == (48, 64, 3) and finished.sr.dtype == np.uint8
    expected_sr = upscale_bicubic(downscale(smooth_rgb, 4), 4)
    assert np.abs(finished.sr.astype(int) - expected_sr).max() <= 1
    assert finished.scores == pytest.approx(score(finished.sr, smooth_rgb, border=4))


def test_blind_mode_upscales_the_image_itself_and_scores_nothing(registry, smooth_rgb):
    req = cmp.CompareRequest(from_array(smooth_rgb), ["bicubic"], mode="blind")
    events = list(cmp.run_comparison(req, registry))
    assert events[0].hr is None
    assert events[-1].results["bicubic"].sr.shape == (192, 256, 3)
    assert events[-1].results["bicubic"].scores is None


def test_failures_are_reported_and_the_others_still_run(registry, smooth_rgb):
    req = cmp.CompareRequest(from_array(smooth_rgb), ["missing", "broken", "nope", "bicubic"])
    done = list(cmp.run_comparison(req, registry))[-1]
    assert set(done.results) == {"bicubic"}
    assert "not found" in done.failed["missing"]
    assert "exploded" in done.failed["broken"]
    assert "nope" in done.failed


def test_sixteen_bit_input_gives_sixteen_bit_results(registry, rng):
    img = (rng.random((32, 40, 3)) * 65535).astype(np.uint16)
    req = cmp.CompareRequest(from_array(img), ["bicubic"], mode="blind")
    result = list(cmp.run_comparison(req, registry))[-1].results["bicubic"]
    assert result.sr_native.dtype == np.uint16 and result.sr.dtype == np.uint8


def test_cancel_stops_before_the_next_method(registry, smooth_rgb):
    token = CancelToken()
    req = cmp.CompareRequest(from_array(smooth_rgb), ["bicubic", "bicubic2"])
    seen = []
    with pytest.raises(Cancelled):
        for event in cmp.run_comparison(req, registry, token):
            seen.append(event)
            if isinstance(event, cmp.MethodFinished):
                token.cancel()
    assert [e.name for e in seen if isinstance(e, cmp.MethodStarted)] == ["bicubic"]


def test_cancel_inside_a_method_is_raised(registry, smooth_rgb):
    token = CancelToken()
    req = cmp.CompareRequest(from_array(smooth_rgb), ["slow", "bicubic"])
    with pytest.raises(Cancelled):
        for event in cmp.run_comparison(req, registry, token):
            assert not isinstance(event, cmp.MethodFinished)
            if isinstance(event, cmp.MethodProgress):
                token.cancel()


def test_bad_requests_are_refused(smooth_rgb):
    with pytest.raises(ValueError):
        cmp.CompareRequest(from_array(smooth_rgb), ["bicubic"], mode="sideways")
    with pytest.raises(ValueError):
        cmp.CompareRequest(from_array(smooth_rgb), ["bicubic"], kernel="lanczos")
