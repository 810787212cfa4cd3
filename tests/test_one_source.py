"""One place each: the out-of-memory test and message, and the tile budget."""

import numpy as np
import pytest

from srviewer.core import compare as cmp
from srviewer.core import methods, oom, tiling
from srviewer.core.cancel import CancelToken
from srviewer.core.images import from_array

OOM_FAILURES = [MemoryError(), RuntimeError("OOM when allocating tensor with shape[1,64,512,512]"),
                type("ResourceExhaustedError", (Exception,), {})("failed to allocate")]


class RunsOutOfMemory:
    label = "Greedy"

    def __init__(self, exc, name="greedy"):
        self.name, self.exc = name, exc

    def availability(self):
        return True, ""

    def upscale(self, rgb_float, progress=None, cancel=None):
        raise self.exc


class Registry(dict):
    def get(self, name):
        return self[name]


@pytest.mark.parametrize("exc", OOM_FAILURES, ids=["MemoryError", "OOM message", "ResourceExhaustedError"])
def test_every_kind_of_oom_gives_the_one_message_in_a_comparison(exc, smooth_rgb):
    assert oom.is_oom(exc)
    request = cmp.CompareRequest(image=from_array(smooth_rgb), methods=["greedy"])
    events = list(cmp.run_comparison(request, Registry(greedy=RunsOutOfMemory(exc))))
    assert events[-1].failed == {"greedy": oom.OOM_MESSAGE}
    assert not oom.is_oom(ValueError("bad shape"))


@pytest.mark.parametrize("exc", OOM_FAILURES, ids=["MemoryError", "OOM message", "ResourceExhaustedError"])
def test_the_window_worker_reports_an_oom_outside_the_methods_with_the_same_message(qtbot, exc, monkeypatch):
    from srviewer.gui import workers

    def fails_to_prepare(*args, **kwargs):
        raise exc
        yield  # a generator, like run_comparison

    monkeypatch.setattr(cmp, "run_comparison", fails_to_prepare)
    thread = workers._CompareThread(7, None, None, CancelToken())
    with qtbot.waitSignal(thread.job_ended, timeout=10_000) as ended:
        thread.start()
    thread.wait(10_000)
    assert ended.args == [7, "error", oom.OOM_MESSAGE]


def test_one_budget_sets_the_first_tile_of_models_tiling_and_the_oom_retry(monkeypatch):
    monkeypatch.setattr(tiling, "MAX_TILE_PIXELS", 100 * 100)
    first = 100 - 2 * tiling.OVERLAP
    assert methods.tile_sizes() == tiling.tile_sizes() == (first, first // 2)   # halving down to 32
    tried = []

    def fn(tile):
        tried.append(tile)
        raise MemoryError()

    with pytest.raises(oom.OutOfMemoryError):
        oom.run_with_oom_retry(fn)
    assert tried == [first, first // 2]
    calls = []
    tiling.run_tiled(lambda t: calls.append(t.shape) or t.repeat(2, 0).repeat(2, 1), np.zeros((150, 150, 3), np.float32),
                     scale=2)
    assert max(s[0] * s[1] for s in calls) <= 100 * 100 and len(calls) == 9   # 3x3 tiles of 68-px cores
