"""The SRGAN rows of benchmarks/run.py (issue 18): srviewer's path against a measured conv floor and
against `model.predict`, interleaved in one process so that all three see the same host.

- srgan_ratios: the paper's generator (random weights, 16 blocks) on a 510x339 float32 LR, each
  round timing in turn
  - the conv floor: the model's own convolutions alone, in order, with the same kernels and
    shapes (`tf.nn.conv2d` on the whole image, no bias, activation, skip or pixel shuffle: a
    free reshape stands where the model shuffles pixels), compiled with XLA and without; the
    faster engine of each round is the floor
  - srviewer's path: `ModelMethod.upscale` (tiles, one compiled function, the sr_resnet rewrite)
  - `model.predict` on the whole image (the notebook's way)
  after one warm-up of each. The ratios are medians of the per-round ratios (the host's speed
  drifts within minutes), the seconds medians of the rounds.
"""

from __future__ import annotations

import statistics
import tempfile
import time
from pathlib import Path

import numpy as np

H, W = 339, 510


def conv_chain(model, h: int, w: int, jit_compile: bool):
    """A compiled function running `model`'s Conv2D layers alone, in order, on a 1 x h x w x 3 input."""
    import keras

    from srviewer.core import tf_runtime

    tf = tf_runtime.tf()
    clone = keras.models.clone_model(model, input_tensors=keras.Input(shape=(h, w, 3), batch_size=1))
    steps = [(tuple(layer.input.shape), tf.constant(np.asarray(model.get_layer(layer.name).kernel)))
             for layer in clone.layers if isinstance(layer, keras.layers.Conv2D)]

    def chain(x):
        for shape, kernel in steps:
            x = tf.nn.conv2d(tf.reshape(x, shape), kernel, 1, "SAME")
        return x

    return tf.function(chain, jit_compile=jit_compile), len(steps)


def case_srgan_ratios(quick: bool) -> dict:
    import run   # benchmarks/run.py: the random generator and the LR, as its other SRGAN cases make them

    from srviewer.core import methods, tf_runtime

    tf = tf_runtime.tf()
    with tempfile.TemporaryDirectory() as tmp:
        method = methods.default_registry(weights_dir=run._random_generator(Path(tmp))).get("srgan")
        method.load()
        model = method._loaded.raw.keras_model   # noqa: SLF001
        lr = run._lr(H, W)
        x = tf.constant(lr[None])
        floor_xla, n_convs = conv_chain(model, H, W, True)
        floor_plain, _ = conv_chain(model, H, W, False)
        fns = {"floor_xla": lambda: floor_xla(x).numpy(), "floor_plain": lambda: floor_plain(x).numpy(),
               "srviewer": lambda: method.upscale(lr), "predict": lambda: model.predict(lr[None], verbose=0)}
        for fn in fns.values():
            fn()   # warm-up: tracing, compiling
        times = {name: [] for name in fns}
        for _ in range(2 if quick else 5):
            for name, fn in fns.items():
                t0 = time.perf_counter()
                fn()
                times[name].append(time.perf_counter() - t0)
    floors = [min(a, b) for a, b in zip(times["floor_xla"], times["floor_plain"])]
    med = statistics.median
    return {"times": times, "rounds": len(floors), "convs": n_convs, "size": f"{W}x{H}",
            "xla": tf_runtime.xla_choice(), "device": tf_runtime.device_description(),
            "floor_s": med(floors), "floor_xla_s": med(times["floor_xla"]), "floor_plain_s": med(times["floor_plain"]),
            "srviewer_s": med(times["srviewer"]), "predict_s": med(times["predict"]),
            "srviewer_over_floor": med(s / f for s, f in zip(times["srviewer"], floors)),
            "predict_over_srviewer": med(p / s for p, s in zip(times["predict"], times["srviewer"]))}


def summary(g) -> dict:
    keys = ("rounds", "convs", "size", "floor_s", "floor_xla_s", "floor_plain_s", "srviewer_s", "predict_s",
            "srviewer_over_floor", "predict_over_srviewer", "xla")
    return {k: g("srgan_ratios", k) for k in keys}


def rows(r: dict, fmt, host: str) -> list[tuple[str, str, str]]:
    xla = (r.get("xla") or {}).get("faster")
    return [
        (f"SRGAN {r.get('size') or ''} float32, interleaved", "",
         f"median of {r.get('rounds')} rounds on {host}"),
        ("  conv floor: the model's convolutions alone", f"{fmt(r.get('floor_s'), '.2f')} s",
         f"{r.get('convs')} tf.nn.conv2d in a row, faster engine a round (XLA {fmt(r.get('floor_xla_s'), '.2f')} s, "
         f"plain {fmt(r.get('floor_plain_s'), '.2f')} s)"),
        ("  srviewer (ModelMethod.upscale)", f"{fmt(r.get('srviewer_s'), '.2f')} s",
         f"{fmt(r.get('srviewer_over_floor'), '.2f')}x the floor (aim <= 1.15x); XLA {'on' if xla else 'off'}"),
        ("  model.predict", f"{fmt(r.get('predict_s'), '.2f')} s",
         f"srviewer {fmt(r.get('predict_over_srviewer'), '.2f')}x faster (aim >= 1.5x)"),
    ]
