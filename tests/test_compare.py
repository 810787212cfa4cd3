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


# -- with the project's own registry and Method base class ---------------------------------------

from srviewer.core.methods import Method, MethodRegistry  # noqa: E402


class Nearest(Method):
    """A real method on the contract: LR float [0,1] in, x4 float [0,1] out (nearest neighbour)."""

    name, label = "nearest", "Nearest"

    def availability(self):
        return True, ""

    def upscale(self, rgb_float, progress=None, cancel=None):
        return np.repeat(np.repeat(rgb_float, 4, 0), 4, 1)


class OutOfMemory(Nearest):
    name = "oom"

    def upscale(self, rgb_float, progress=None, cancel=None):
        raise MemoryError()


class Endless(Nearest):
    """Reports progress until cancelled (a method with very many tiles)."""

    name = "endless"
    stopped = None

    def upscale(self, rgb_float, progress=None, cancel=None):
        deadline = time.monotonic() + 5  # so a broken cancel fails the test instead of hanging it
        while time.monotonic() < deadline:
            progress(0.1)
            time.sleep(0.005)
            if cancel.cancelled:
                Endless.stopped = True
                cancel.raise_if_cancelled()
        Endless.stopped = False
        return super().upscale(rgb_float)


@pytest.fixture
def real_registry():
    r = MethodRegistry()
    for m in (Nearest(), OutOfMemory(), Endless()):
        r.register(m)
    return r


def test_registry_methods_run_with_uint8_float_and_score_ranges(real_registry, smooth_rgb):
    req = cmp.CompareRequest(from_array(smooth_rgb), ["nearest"])
    events = list(cmp.run_comparison(req, real_registry))
    prepared, result = events[0], events[-1].results["nearest"]
    assert prepared.lr.dtype == np.uint8 and prepared.hr.dtype == np.uint8
    assert result.sr.dtype == np.uint8 and result.sr.shape == (48, 64, 3)
    assert result.sr_float.dtype == np.float32 and 0 <= result.sr_float.min() and result.sr_float.max() <= 1
    nearest = np.repeat(np.repeat(prepared.lr, 4, 0), 4, 1)
    np.testing.assert_array_equal(result.sr, nearest)
    assert result.scores == pytest.approx(score(nearest, smooth_rgb, border=4))
    assert result.label == "Nearest" and result.device


def test_sixteen_bit_reference_is_scored_on_0_255_values(real_registry, rng):
    img16 = (rng.random((32, 40, 3)) * 65535).astype(np.uint16)
    req = cmp.CompareRequest(from_array(img16), ["nearest"])
    events = list(cmp.run_comparison(req, real_registry))
    prepared, result = events[0], events[-1].results["nearest"]
    assert prepared.lr_native.dtype == np.uint16 and result.sr_native.dtype == np.uint16
    expected = score(result.sr_native / 257.0, img16 / 257.0, border=4)
    assert result.scores == pytest.approx(expected)


def test_out_of_memory_is_a_clear_failure_and_the_others_continue(real_registry, smooth_rgb):
    req = cmp.CompareRequest(from_array(smooth_rgb), ["oom", "nearest"])
    done = list(cmp.run_comparison(req, real_registry))[-1]
    assert "out of memory" in done.failed["oom"] and "nearest" in done.results


def test_closing_the_run_mid_method_stops_its_worker(real_registry, smooth_rgb):
    Endless.stopped = None
    run = cmp.run_comparison(cmp.CompareRequest(from_array(smooth_rgb), ["endless"]), real_registry)
    for event in run:
        if isinstance(event, cmp.MethodProgress):
            break
    run.close()  # a newer request replaced this one: nobody listens any more
    assert Endless.stopped is True


def test_a_tiny_real_keras_model_runs_through_the_comparison(tmp_path, smooth_rgb):
    import keras
    inp = keras.Input((None, None, 3))
    x = keras.layers.Conv2D(3 * 16, 3, padding="same")(inp)
    from srviewer.core.layers import PixelShuffle

    model = keras.Model(inp, PixelShuffle(4)(x))
    model.save(tmp_path / "tiny.keras")
    registry = MethodRegistry()
    method = registry.add_model_file(tmp_path / "tiny.keras")
    req = cmp.CompareRequest(from_array(smooth_rgb), [method.name])
    events = list(cmp.run_comparison(req, registry))
    result = events[-1].results[method.name]
    lr_float = events[0].lr_native.astype(np.float32) / 255
    expected = np.clip(np.asarray(model(lr_float[None]))[0], 0, 1)
    assert result.sr.shape == (48, 64, 3)
    assert np.abs(result.sr_float - expected).max() < 1e-3
    assert set(result.scores) == {"psnr_y", "ssim_y", "psnr_rgb", "ssim_rgb"}
