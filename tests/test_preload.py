"""Preloading: the window starts the model process and loads the ticked models once it is shown,
before any Run; preloading gives way to a run's own requests."""

import threading
import time

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
