"""Keras files: `.keras`, full-model `.h5` (old tf.keras 2 files too) and `.weights.h5` + sidecar.

Loading (and its safety rules) lives in model_files.py / legacy_h5.py; this module wraps the model
as a RawModel. A Keras file is taken in srviewer's own convention (NHWC, RGB, [0, 1]) unless its
sidecar or an override says otherwise: that is what srviewer exports and what Keras SR code uses.
"""

from __future__ import annotations

from pathlib import Path

from srviewer.core.formats import ModelFormat
from srviewer.core.formats.raw import LoadOptions, RawModel, TensorInfo

SUFFIXES = (".keras", ".h5", ".hdf5", ".weights.h5")


def _matches(path: Path) -> bool:
    return path.name.lower().endswith(SUFFIXES)


def _info(tensors) -> list[TensorInfo]:
    out = []
    for i, t in enumerate(tensors):
        shape = tuple(None if d is None else int(d) for d in t.shape)
        out.append(TensorInfo(getattr(t, "name", f"t{i}") or f"t{i}", shape, str(getattr(t, "dtype", "float32"))))
    return out


def load(path: Path, options: LoadOptions) -> RawModel:
    import numpy as np

    from srviewer.core.model_files import load_model_file
    from srviewer.core.tf_runtime import device_description

    loaded = load_model_file(path, trust_code=options.trust_code)
    model = loaded.model

    def run(x):
        y = model(np.asarray(x, np.float32), training=False)
        ys = y if isinstance(y, (list, tuple)) else [y]
        return [np.asarray(v, np.float32) for v in ys]

    try:
        params = int(model.count_params())
    except Exception:  # noqa: BLE001 - an unbuilt subclassed model: unknown
        params = None
    return RawModel(format="keras", run=run, inputs=_info(model.inputs), outputs=_info(model.outputs),
                    device=device_description(), params=params, keras_model=model,
                    declared={"layout": "nhwc", "channels": "rgb", "range": "0..1", "scale": loaded.scale,
                              "input_kind": loaded.input_kind, "label": loaded.label})


FORMAT = ModelFormat(name="keras", label="Keras", suffixes=SUFFIXES, folder=False, matches=_matches, load=load)
