"""The formats rows of benchmarks/run.py: one random-weight SRResNet as Keras, ONNX, SavedModel,
frozen graph and TFLite.

`export_all(folder)` (run in a child with TensorFlow) writes the paper's SRResNet (16 blocks, 64
filters, random weights, seed 0) five ways: `srgan.weights.h5` + sidecar, `srgan.onnx` (NCHW,
sr_resnet_onnx.py), the SavedModel folder `srgan_saved/` (`model.export`), the frozen GraphDef
`srgan_graph.pb` and the TFLite file `srgan_lite.tflite` (TFLiteConverter, float32), each with a
sidecar stating its convention (random weights give detection nothing to agree on).
`run_format(name, folder, quick)` (one child per format, so peak RSS is that format's alone)
loads the file through srviewer's seam (registry.add_model_file) and times ModelMethod.upscale
on a 510x339 LR (128x128 with --quick); it saves its output on a 48x40 LR so the parent can say
how far the formats are apart.
"""

from __future__ import annotations

import resource
import statistics
import time
from pathlib import Path

import numpy as np

FILES = {"keras": "srgan.weights.h5", "onnx": "srgan.onnx", "saved_model": "srgan_saved",
         "tf_graph": "srgan_graph.pb", "tflite": "srgan_lite.tflite"}
_NHWC_RGB_01 = {"format": 1, "scale": 4, "input": "lr", "layout": "nhwc", "channels": "rgb", "range": "0..1"}


def export_all(folder: Path) -> None:
    import keras

    import sr_resnet_onnx
    from srviewer.core import models
    from srviewer.core.atomic import atomic_write_json

    keras.utils.set_random_seed(0)
    kwargs = {"num_filters": 64, "num_res_blocks": 16}
    model = models.build({"factory": "sr_resnet", "kwargs": kwargs})
    model.save_weights(str(folder / FILES["keras"]))
    atomic_write_json(folder / "srgan.json", {"factory": "sr_resnet", "kwargs": kwargs, "scale": 4, "input": "lr",
                                              "label": "SRResNet (random)", "format": 1})
    model.export(str(folder / FILES["saved_model"]), verbose=False)
    _export_tf_graph_and_tflite(model, folder)
    atomic_write_json(folder / "srgan_saved.json", {"format": 1, "model_format": "saved_model", "scale": 4,
                                                    "input": "lr", "layout": "nhwc", "channels": "rgb", "range": "0..1"})
    # srgan.onnx would share the sidecar srgan.json with the Keras pair: it gets a folder of its own
    (folder / "onnx").mkdir()
    sr_resnet_onnx.export(model, _path("onnx", folder))
    atomic_write_json(folder / "onnx" / "srgan.json", {"format": 1, "model_format": "onnx", "scale": 4, "input": "lr",
                                                       "layout": "nchw", "channels": "rgb", "range": "0..1"})


def _path(name: str, folder: Path) -> Path:
    return folder / "onnx" / FILES["onnx"] if name == "onnx" else folder / FILES[name]


def run_format(name: str, folder: Path, quick: bool) -> dict:
    from srviewer.core.methods import MethodRegistry

    rng = np.random.default_rng(0)
    t0 = time.perf_counter()
    method = MethodRegistry().add_model_file(_path(name, folder))
    load_s = time.perf_counter() - t0
    h, w = (128, 128) if quick else (339, 510)
    lr = rng.random((h, w, 3), dtype=np.float32)
    method.upscale(lr)                       # warm-up: tracing, compiling, first allocations
    times = []
    for _ in range(2 if quick else 3):
        t0 = time.perf_counter()
        method.upscale(lr)
        times.append(time.perf_counter() - t0)
    np.save(folder / f"out_{name}.npy", method.upscale(rng.random((40, 48, 3), dtype=np.float32)))
    return {"seconds": statistics.median(times), "times": times, "size": f"{w}x{h}", "load_s": load_s,
            "device": method.device_description(), "format": method._loaded.format,   # noqa: SLF001
            "peak_rss_gib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024 / 2**30}


def max_diffs(folder: Path) -> dict:
    """Largest |difference| of each format's output from the Keras one (same weights, same LR)."""
    ref = folder / "out_keras.npy"
    if not ref.exists():
        return {}
    keras_out = np.load(ref)
    return {name: float(np.abs(np.load(folder / f"out_{name}.npy") - keras_out).max())
            for name in FILES if name != "keras" and (folder / f"out_{name}.npy").exists()}


def _export_tf_graph_and_tflite(model, folder: Path) -> None:
    """The same model as a frozen GraphDef and as a TFLite file (float32), each with its sidecar."""
    import tensorflow as tf
    from tensorflow.python.framework.convert_to_constants import convert_variables_to_constants_v2

    from srviewer.core.atomic import atomic_write_bytes, atomic_write_json

    spec = tf.TensorSpec([1, None, None, 3], tf.float32, name="lr")
    frozen = convert_variables_to_constants_v2(tf.function(lambda x: model(x, training=False)).get_concrete_function(spec))
    atomic_write_bytes(folder / FILES["tf_graph"], frozen.graph.as_graph_def().SerializeToString())
    atomic_write_json(folder / "srgan_graph.json", _NHWC_RGB_01 | {"model_format": "tf_graph"})
    atomic_write_bytes(folder / FILES["tflite"], tf.lite.TFLiteConverter.from_keras_model(model).convert())
    atomic_write_json(folder / "srgan_lite.json", _NHWC_RGB_01 | {"model_format": "tflite"})
