"""Results kept between runs: the same image, settings and method give the kept result without
running the method again; anything that changes the result runs it again."""

import os

import numpy as np

from srviewer.core import compare as cmp
from srviewer.core.degrade import Chain
from srviewer.core.images import from_array
from srviewer.core.methods import BicubicMethod, Method, MethodRegistry
from srviewer.core.result_cache import ResultCache


class Counting(Method):
    """Nearest-neighbour x4 that counts its calls; `path` stands for a model file."""

    def __init__(self, name="counting", path=None):
        self.name, self.label, self.calls, self.path = name, "Counting", 0, path

    def upscale(self, rgb_float, progress=None, cancel=None):
        self.calls += 1
        return np.repeat(np.repeat(rgb_float, 4, 0), 4, 1)


def _run(registry, image, cache, methods=("counting", "bicubic"), **kw):
    events = list(cmp.run_comparison(cmp.CompareRequest(image=image, methods=list(methods), **kw), registry,
                                     cache=cache))
    return events[-1]


def test_a_second_run_reuses_every_result_and_the_prepared_images(smooth_rgb):
    registry = MethodRegistry()
    counting = registry.register(Counting())
    registry.register(BicubicMethod("matlab"))
    image, cache = from_array(smooth_rgb), ResultCache()
    first = _run(registry, image, cache)
    second = _run(registry, from_array(smooth_rgb.copy()), cache)       # same pixels, another object
    assert counting.calls == 1 and cache.hits == 3                       # prepared + two results
    for name in ("counting", "bicubic"):
        assert np.array_equal(first.results[name].sr, second.results[name].sr)
        assert first.results[name].scores == second.results[name].scores
    fresh = _run(registry, image, None)                                  # without a cache: computed again
    assert counting.calls == 2 and np.array_equal(fresh.results["bicubic"].sr, first.results["bicubic"].sr)


def test_what_changes_the_result_runs_the_method_again(tmp_path, smooth_rgb):
    model = tmp_path / "model.weights.h5"
    model.write_bytes(b"v1")
    registry = MethodRegistry()
    counting = registry.register(Counting(path=model))
    image, cache = from_array(smooth_rgb), ResultCache()
    _run(registry, image, cache, methods=["counting"])
    _run(registry, image, cache, methods=["counting"], kernel="opencv")  # another LR
    _run(registry, image, cache, methods=["counting"], mode="blind")     # the image is the LR
    _run(registry, image, cache, methods=["counting"], degradation=Chain(noise=2.0, seed=1))
    _run(registry, image, cache, methods=["counting"], degradation=Chain(noise=2.0, seed=2))
    other = smooth_rgb.copy()
    other[0, 0] ^= 1
    _run(registry, from_array(other), cache, methods=["counting"])       # one pixel differs
    assert counting.calls == 6
    os.utime(model, ns=(1, 1))                                           # the model file changed
    _run(registry, image, cache, methods=["counting"])
    assert counting.calls == 7
    replaced = MethodRegistry()
    again = replaced.register(Counting(path=model))                      # a new method under the same name
    _run(replaced, image, cache, methods=["counting"])
    assert again.calls == 1


def test_the_cache_keeps_within_its_byte_budget(smooth_rgb):
    registry = MethodRegistry()
    counting = registry.register(Counting())
    one_result = smooth_rgb.size * (1 + 1 + 4)                           # sr, sr_native (uint8), sr_float at HR size
    cache = ResultCache(max_bytes=one_result + smooth_rgb.size * 3)      # and the prepared HR + LR, twice each
    first, second = from_array(smooth_rgb), from_array(255 - smooth_rgb)
    _run(registry, first, cache, methods=["counting"])
    _run(registry, second, cache, methods=["counting"])                  # pushes the first out
    _run(registry, first, cache, methods=["counting"])
    assert counting.calls == 3
    assert ResultCache(max_bytes=10).put(("x",), cmp.Prepared(smooth_rgb, None, smooth_rgb, None, False)) is None
