"""Preloading: the window starts the model process and loads the ticked models once it is shown,
before any Run; preloading gives way to a run's own requests."""

import threading
import time

import numpy as np
import pytest

from srviewer.core import methods
from srviewer.core.cancel import CancelToken
from srviewer.core.model_process import ModelProcess
from srviewer.core.preload import preload, preloadable

KWARGS = {"num_filters": 4, "num_res_blocks": 1, "batch_norm": False}


@pytest.fixture(scope="module")
def weights(tmp_path_factory):
    """A weights folder with a tiny srresnet (srcnn and srgan missing: unavailable)."""
    from srviewer.core import models
    from srviewer.core.atomic import atomic_write_json

    folder = tmp_path_factory.mktemp("weights")
    models.build({"factory": "sr_resnet", "kwargs": KWARGS}).save_weights(str(folder / "srresnet.weights.h5"))
    atomic_write_json(folder / "srresnet.json", {"factory": "sr_resnet", "kwargs": KWARGS, "scale": 4,
                                                 "input": "lr", "label": "SRResNet (tiny)", "format": 1})
    return folder


def _until(condition, seconds=10.0):
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline
        time.sleep(0.01)


def test_a_background_request_gives_way_to_a_waiting_run(monkeypatch):
    process = ModelProcess()
    order = []
    monkeypatch.setattr(process, "_request", lambda op, *args: order.append(op) or op)
    process._lock.acquire()                                   # a request in flight
    background = threading.Thread(target=process.request, args=("load",), kwargs={"background": True})
    background.start()
    foreground = threading.Thread(target=process.request, args=("upscale",))
    foreground.start()
    _until(lambda: process._waiting == 1)
    process._lock.release()
    foreground.join(10)
    background.join(10)
    assert order == ["upscale", "load"]


def test_preload_skips_what_cannot_or_need_not_load(weights, model_process):
    registry = methods.default_registry(weights_dir=weights, process=model_process)
    chosen = preloadable(registry)
    assert [m.name for m in chosen] == ["srresnet"]           # bicubic: no process; srcnn, srgan: no weights
    assert preload(registry, CancelToken()) == {}
    assert registry.get("srresnet")._loaded.label == "SRResNet (tiny)"
    assert preloadable(registry) == []                         # loaded now
    cancelled = CancelToken()
    cancelled.cancel()
    fresh = methods.default_registry(weights_dir=weights, process=model_process)
    assert preload(fresh, cancelled) == {} and fresh.get("srresnet")._loaded is None


def test_the_window_loads_the_ticked_models_once_shown_without_a_run(qtbot, make_window, weights):
    registry = methods.default_registry(weights_dir=weights, process=ModelProcess())
    win = make_window(registry, ["bicubic", "srresnet"])
    method = registry.get("srresnet")
    assert registry.process.pid is None and method._loaded is None
    win.show()
    qtbot.waitUntil(lambda: method._loaded is not None, timeout=120000)
    assert registry.process.pid is not None and win.compare.session.request is None   # no Run was pressed
    win.close()
    assert registry.process.pid is None


def test_a_run_of_a_method_being_preloaded_goes_before_the_next_preload(tmp_path, monkeypatch):
    """The preload of srresnet is in flight when the run asks for srresnet's result: the run is
    served next, before the preload of srgan (which the window shows after srresnet)."""
    for name in ("srresnet", "srgan"):
        (tmp_path / f"{name}.weights.h5").write_bytes(b"x")
        (tmp_path / f"{name}.json").write_text("{}")
    process = ModelProcess()
    order, first_load_may_end = [], threading.Event()

    def request(op, spec, *args):
        order.append(f"{op} {spec['name']}")
        if len(order) == 1:
            first_load_may_end.wait(10)
        return op

    monkeypatch.setattr(process, "_request", request)
    ahead = [methods.ModelMethod(name, tmp_path / f"{name}.weights.h5", process=process) for name in ("srresnet", "srgan")]
    preloading = threading.Thread(target=preload, args=(ahead,))
    preloading.start()
    _until(lambda: order == ["load srresnet"])
    run = threading.Thread(target=ahead[0].upscale, args=(np.zeros((4, 4, 3), np.float32),))
    run.start()
    _until(lambda: process._waiting == 1)
    first_load_may_end.set()
    run.join(10)
    preloading.join(10)
    assert order == ["load srresnet", "upscale srresnet", "load srgan"]


def test_preloaded_results_equal_a_run_without_preloading(qtbot, make_window, weights, monkeypatch):
    from srviewer.core.compare import CompareRequest, RunFinished, run_comparison
    from srviewer.core.images import from_array

    monkeypatch.setenv("SRVIEWER_XLA", "off")     # one engine in both processes (auto measures each time)
    registry = methods.default_registry(weights_dir=weights, process=ModelProcess())
    win = make_window(registry, ["bicubic", "srresnet"])
    win.show()
    qtbot.waitUntil(lambda: registry.get("srresnet")._loaded is not None, timeout=120000)   # preloaded
    image = from_array((np.random.default_rng(5).random((40, 56, 3)) * 255).astype(np.uint8))
    with qtbot.waitSignal(win.compare.results_shown, timeout=120000):
        win.compare.set_image(image)
    shown = win.compare.session.results
    plain = methods.default_registry(weights_dir=weights)          # in this process, nothing loaded ahead
    finished = [e for e in run_comparison(CompareRequest(image, ["bicubic", "srresnet"]), plain)
                if isinstance(e, RunFinished)][0]
    for name in ("bicubic", "srresnet"):
        assert np.array_equal(shown[name].sr, finished.results[name].sr), name
        assert shown[name].scores == finished.results[name].scores
    win.close()
