"""The Qt-free comparison session: what it holds after each event, the events it emits, its crop box."""

import numpy as np
import pytest
from skimage.metrics import peak_signal_noise_ratio

from srviewer.core import compare as cmp
from srviewer.core.cancel import CancelToken
from srviewer.core.images import from_array
from srviewer.core.methods import Method
from srviewer.core.observable import Emitter, Events
from srviewer.core.session import EVENT_NAMES, ComparisonSession
from srviewer.errors import Cancelled, SrviewerError


class Failing(Method):
    def __init__(self):
        self.name, self.label = "failing", "Failing"

    def upscale(self, rgb_float, progress=None, cancel=None):
        raise RuntimeError("the model exploded")


def _recording(session):
    """Every event the session emits, as (name, args), in order."""
    seen = []
    for name in EVENT_NAMES:
        getattr(session.events, name).connect(lambda *args, n=name: seen.append((n, args)))
    return seen


def _session(registry, image, methods=("bicubic", "bicubic_cv"), **kwargs):
    session = ComparisonSession(registry, **kwargs)
    session.set_image(from_array(image))
    session.set_methods(methods)
    return session


def test_emitter_calls_callbacks_in_order_once_each_until_disconnected():
    calls = []
    emitter = Emitter("x")
    first = emitter.connect(lambda v: calls.append(("first", v)))
    emitter.connect(lambda v: calls.append(("second", v)))
    emitter.connect(first)                      # connecting twice still calls it once
    emitter.emit(1)
    emitter.disconnect(first)
    emitter.emit(2)
    assert calls == [("first", 1), ("second", 1), ("second", 2)]
    events = Events("a", "b")
    assert events.names == ("a", "b") and isinstance(events.b, Emitter)
    with pytest.raises(AttributeError):
        events.c.connect(print)


def test_a_run_fills_the_session_and_emits_events_in_order(registry, smooth_rgb):
    session = _session(registry, smooth_rgb)
    seen = _recording(session)
    finished = session.run()
    names = [n for n, _ in seen]
    assert names[:2] == ["run_started", "prepared"] and names[-1] == "run_finished"
    assert names.count("method_started") == 2 and names.count("method_finished") == 2
    assert set(session.results) == {"bicubic", "bicubic_cv"} and finished.results == session.results
    assert session.status == {"bicubic": "done", "bicubic_cv": "done"} and not session.running
    assert session.progress == {"bicubic": 1.0, "bicubic_cv": 1.0}
    assert session.prepared.hr.shape == (48, 64, 3) and session.prepared.lr.shape == (12, 16, 3)
    # the same numbers as the engine gives on its own
    alone = list(cmp.run_comparison(cmp.CompareRequest(from_array(smooth_rgb), ["bicubic"]), registry))[-1]
    assert session.results["bicubic"].scores == pytest.approx(alone.results["bicubic"].scores)
    np.testing.assert_array_equal(session.results["bicubic"].sr, alone.results["bicubic"].sr)
    assert session.crop is None and session.crop_scores == {}   # no box asked for: none made


def test_crop_scores_follow_the_box_and_equal_an_independent_psnr(registry, smooth_rgb):
    session = _session(registry, smooth_rgb, default_crop=True)
    crops = []
    session.events.crop_changed.connect(crops.append)
    session.run()
    x, y, w, h = session.crop                                  # a centre box was made for the image
    assert 0 <= x and 0 <= y and x + w <= 64 and y + h <= 48 and w >= 8
    assert set(session.crop_scores) == {"bicubic", "bicubic_cv"}
    session.set_crop((40, 20, 40, 40))                         # reaches past the right edge: clipped
    assert session.crop == (40, 20, 24, 28) and crops[-1] == (40, 20, 24, 28)
    sr, hr = session.results["bicubic"].sr, session.prepared.hr

    def luma(img):  # BT.601 as MATLAB's rgb2ycbcr, written out here
        img = img.astype(np.float64)
        return 16 + (65.481 * img[..., 0] + 128.553 * img[..., 1] + 24.966 * img[..., 2]) / 255

    expected = peak_signal_noise_ratio(luma(hr[20:48, 40:64]), luma(sr[20:48, 40:64]), data_range=255)
    assert session.crop_scores["bicubic"]["psnr_y"] == pytest.approx(expected, abs=1e-6)
    before = dict(session.crop_scores["bicubic"])
    session.set_crop((0, 0, 16, 16))
    assert session.crop_scores["bicubic"]["psnr_y"] != pytest.approx(before["psnr_y"])
    with pytest.raises(ValueError):
        session.set_crop((500, 500, 8, 8))                     # nothing of it is on the image


def test_a_box_that_does_not_fit_the_next_image_is_replaced(registry, smooth_rgb):
    session = _session(registry, np.tile(smooth_rgb, (2, 2, 1)), methods=["bicubic"], default_crop=True)
    session.run()
    session.set_crop((80, 60, 40, 30))                         # fits the 128x96 image
    session.set_image(from_array(smooth_rgb))                  # 64x48: it does not fit any more
    session.run()
    x, y, w, h = session.crop
    assert x + w <= 64 and y + h <= 48
    assert set(session.crop_scores) == {"bicubic"}


def test_nothing_to_run_is_a_message_not_a_run(registry, smooth_rgb):
    session = ComparisonSession(registry)
    seen = _recording(session)
    assert session.start() is None and session.run() is None
    assert seen[0] == ("message", ("warning", "Open an image first."))
    session.set_image(from_array(smooth_rgb))
    assert session.start() is None and seen[-1][1][1] == "Tick at least one method."
    assert not session.running and session.request is None


def test_an_image_too_small_for_reference_mode_switches_to_blind_in_the_window(registry, smooth_rgb):
    session = _session(registry, smooth_rgb[:12, :12], methods=["bicubic"], blind_when_small=True)
    seen = _recording(session)
    finished = session.run()
    assert session.mode == "blind" and ("mode_changed", ("blind",)) in seen
    assert finished.results["bicubic"].sr.shape == (48, 48, 3) and session.prepared.hr is None
    strict = _session(registry, smooth_rgb[:8, :8], methods=["bicubic"])   # the CLI's: refused
    with pytest.raises(SrviewerError, match="blind mode"):
        strict.run()
    assert strict.mode == "reference" and not strict.running


def test_failures_and_a_cancel_are_marked_per_method(registry, smooth_rgb):
    registry.register(Failing())
    session = _session(registry, smooth_rgb, methods=["failing", "bicubic", "bicubic_cv"])
    token = CancelToken()
    session.events.method_finished.connect(lambda _r: token.cancel())   # cancel after the first result
    cancelled = []
    session.events.run_cancelled.connect(lambda: cancelled.append(True))
    with pytest.raises(Cancelled):
        session.run(token)
    assert session.status == {"failing": "failed", "bicubic": "done", "bicubic_cv": "cancelled"}
    assert "exploded" in session.failed["failing"] and cancelled == [True] and not session.running


def test_events_fed_one_by_one_as_the_window_does(registry, smooth_rgb):
    """The window's worker thread hands the engine's events to `apply`; `start` first."""
    session = _session(registry, smooth_rgb, methods=["bicubic"])
    request = session.start()
    assert session.status == {"bicubic": "queued"} and session.running
    stream = cmp.run_comparison(request, registry)
    session.apply(next(stream))                                # Prepared
    assert session.prepared is not None and session.results == {}
    session.apply(next(stream))                                # MethodStarted
    assert session.status["bicubic"] == "running"
    for event in stream:
        session.apply(event)
    assert session.status["bicubic"] == "done" and not session.running
    failures = []
    session.events.run_failed.connect(failures.append)
    session.start()
    session.mark_failed("the image is too small")
    assert failures == ["the image is too small"] and not session.running and session.results == {}


def test_export_needs_results_and_says_what_it_wrote(registry, smooth_rgb, tmp_path):
    session = _session(registry, smooth_rgb, methods=["bicubic"])
    with pytest.raises(ValueError, match="nothing to export"):
        session.export(tmp_path / "out")
    session.run()
    written = []
    session.events.exported.connect(written.append)
    files = session.export(tmp_path / "out")
    assert written == [files] and session.exported == files
    assert {p.name for p in files} >= {"bicubic.png", "lr.png", "hr.png", "metrics.csv", "manifest.json"}


def test_quick_crop_scores_are_the_y_figures_of_the_full_ones(registry, smooth_rgb):
    full = _session(registry, smooth_rgb, methods=["bicubic"])
    quick = _session(registry, smooth_rgb, methods=["bicubic"], crop_y_only=True)
    for session in (full, quick):
        session.run()
        session.set_crop((4, 4, 40, 30))
    assert set(quick.crop_scores["bicubic"]) == {"psnr_y", "ssim_y"}
    assert set(full.crop_scores["bicubic"]) == {"psnr_y", "ssim_y", "psnr_rgb", "ssim_rgb"}
    for key in ("psnr_y", "ssim_y"):
        assert quick.crop_scores["bicubic"][key] == full.crop_scores["bicubic"][key]
