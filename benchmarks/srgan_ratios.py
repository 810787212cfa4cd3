"""The SRGAN rows of benchmarks/run.py (issue 18): srviewer's path against a measured conv floor and
against `model.predict`, interleaved in one process so that all three see the same host.

- srgan_ratios: the paper's generator (random weights, 16 blocks) on a 510x339 float32 LR, each
  round timing in turn
  - the conv floor: the model's own convolutions alone, in order, with the same kernels and
    shapes (`tf.nn.conv2d` on the whole image, no bias, activation, skip or pixel shuffle: a
    free reshape stands where the model shuffles pixels), compiled with XLA and without; the
    faster engine of each round is the floor
  - the convolutions srviewer's rewrite runs, alone in the same way (its engine): what is left
    of srviewer's time beyond them is the rest (bias, PReLU, skips, shuffles, tiles)
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


def model_convs(model, h: int, w: int) -> list[tuple[tuple, np.ndarray]]:
    """(input shape, kernel) of each of `model`'s Conv2D layers, in order, on a 1 x h x w x 3 input."""
    import keras

    clone = keras.models.clone_model(model, input_tensors=keras.Input(shape=(h, w, 3), batch_size=1))
    return [(tuple(layer.input.shape), np.asarray(model.get_layer(layer.name).kernel))
            for layer in clone.layers if isinstance(layer, keras.layers.Conv2D)]


def fast_path_convs(model, h: int, w: int) -> list[tuple[tuple, np.ndarray]]:
    """The same for the convolutions srviewer's sr_resnet rewrite runs (BN folded, the 9x9 tail as a
    5x5 polyphase one at half the output's resolution: core/sr_resnet_inference.py)."""
    from srviewer.core.sr_resnet_inference import _read, polyphase_kernel

    parts = _read(model)
    lr = lambda c: (1, h, w, c)   # noqa: E731
    convs = [(lr(3), parts["head"][0])] + [(lr(64), conv[0]) for c1, _, c2 in parts["blocks"] for conv in (c1, c2)]
    convs.append((lr(64), parts["body"][0]))
    for u, (conv, _) in enumerate(parts["ups"]):
        convs.append(((1, h << u, w << u, conv[0].shape[2]), conv[0]))
    tail = polyphase_kernel(*parts["tail"], 2)[0] if parts["ups"] else parts["tail"][0]
    last = convs[-1][0]
    convs.append(((1, last[1], last[2], tail.shape[2]), tail))
    return convs


def conv_chain(convs: list[tuple[tuple, np.ndarray]], jit_compile: bool):
    """A compiled function running the convolutions alone, one after the other (`tf.nn.conv2d`,
    'same', no bias); a reshape, free, gives each its input shape where a model shuffles pixels."""
    from srviewer.core import tf_runtime

    tf = tf_runtime.tf()
    steps = [(shape, tf.constant(kernel)) for shape, kernel in convs]

    def chain(x):
        for shape, kernel in steps:
            x = tf.nn.conv2d(tf.reshape(x, shape), kernel, 1, "SAME")
        return x

    return tf.function(chain, jit_compile=jit_compile)


def case_srgan_ratios(quick: bool) -> dict:
    import run   # benchmarks/run.py: the random generator and the LR, as its other SRGAN cases make them

    from srviewer.core import methods, tf_runtime

    tf = tf_runtime.tf()
    with tempfile.TemporaryDirectory() as tmp:
        method = methods.default_registry(weights_dir=run._random_generator(Path(tmp))).get("srgan")
        method.load()
        model = method._loaded.raw.keras_model   # noqa: SLF001 (random weights: never a kept fold)
        lr = run._lr(H, W)
        x = tf.constant(lr[None])
        convs = model_convs(model, H, W)
        floor_xla, floor_plain = conv_chain(convs, True), conv_chain(convs, False)
        own = conv_chain(fast_path_convs(model, H, W),   # the engine srviewer runs this size on
                         method._loaded.run.predict.engine_for((1, H, W, 3)) == "xla")   # noqa: SLF001
        fns = {"floor_xla": lambda: floor_xla(x).numpy(), "floor_plain": lambda: floor_plain(x).numpy(),
               "own_convs": lambda: own(x).numpy(),
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
    return {"times": times, "rounds": len(floors), "convs": len(convs), "size": f"{W}x{H}",
            "xla": tf_runtime.xla_choice(), "device": tf_runtime.device_description(),
            "floor_s": med(floors), "floor_xla_s": med(times["floor_xla"]), "floor_plain_s": med(times["floor_plain"]),
            "srviewer_s": med(times["srviewer"]), "predict_s": med(times["predict"]), "own_convs_s": med(times["own_convs"]),
            "srviewer_over_own_convs": med(s / f for s, f in zip(times["srviewer"], times["own_convs"])),
            "srviewer_over_floor": med(s / f for s, f in zip(times["srviewer"], floors)),
            "predict_over_srviewer": med(p / s for p, s in zip(times["predict"], times["srviewer"]))}


def summary(g) -> dict:
    keys = ("rounds", "convs", "size", "floor_s", "floor_xla_s", "floor_plain_s", "srviewer_s", "predict_s",
            "srviewer_over_floor", "predict_over_srviewer", "xla", "own_convs_s", "srviewer_over_own_convs")
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
        ("  the convolutions srviewer runs, alone", f"{fmt(r.get('own_convs_s'), '.2f')} s",
         f"srviewer {fmt(r.get('srviewer_over_own_convs'), '.2f')}x these (its tail: 5x5 at half resolution "
         "instead of the model's 9x9 at full)"),
        ("  model.predict", f"{fmt(r.get('predict_s'), '.2f')} s",
         f"srviewer {fmt(r.get('predict_over_srviewer'), '.2f')}x faster (aim >= 1.5x)"),
    ]
