"""Keras files: `.keras`, full-model `.h5` (old tf.keras 2 files too) and `.weights.h5` + sidecar.

Loading (and its safety rules) lives in model_files.py / legacy_h5.py; this module wraps the model
as a RawModel. A Keras file is taken in srviewer's own convention (NHWC, RGB, [0, 1]) unless its
sidecar or an override says otherwise: that is what srviewer exports and what Keras SR code uses.
An sr_resnet in srviewer's `.weights.h5` format is folded for the fast path and the checked fold
kept (folded_store.py): the next load of the same file runs it without building the model.
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

    from srviewer.core import folded_store
    from srviewer.core.model_files import load_model_file
    from srviewer.core.tf_runtime import device_description

    key = _folded_key(path)
    kept = folded_store.load(key) if key else None
    if kept is not None:
        return _folded_raw(path, *kept)
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
    declared = {"layout": "nhwc", "channels": "rgb", "range": "0..1", "scale": loaded.scale,
                "input_kind": loaded.input_kind, "label": loaded.label}
    folded = None
    if key:
        from srviewer.core.sr_resnet_inference import fold

        folded = fold(model)
        if folded is not None:
            folded_store.save(key, folded, {"params": params, "declared": declared})
    return RawModel(format="keras", run=run, inputs=_info(model.inputs), outputs=_info(model.outputs),
                    device=device_description(), params=params, keras_model=model, folded=folded, declared=declared)


def _folded_key(path: Path) -> str | None:
    """folded_store's key for srviewer's own weights files; None for others or an unreadable file
    (which the long way then reports)."""
    from srviewer.core import folded_store

    if not folded_store.wanted(path):
        return None
    try:
        return folded_store.key_for(path)
    except OSError:
        return None


def _folded_raw(path: Path, folded, meta: dict) -> RawModel:
    """A RawModel for kept folded weights: the same file, run by the checked fast path, no Keras model."""
    import numpy as np

    from srviewer.core import timeline
    from srviewer.core.sr_resnet_inference import fast_call
    from srviewer.core.tf_runtime import device_description

    call = fast_call(folded)
    timeline.mark(f"{path.name}: folded weights kept from an earlier load")

    def run(x):
        return [np.asarray(call(np.asarray(x, np.float32)), np.float32)]

    tensor = [TensorInfo("lr", (None, None, None, 3), "float32")]
    return RawModel(format="keras", run=run, inputs=tensor, outputs=tensor, device=device_description(),
                    params=meta.get("params"), folded=folded, declared=dict(meta["declared"]))


FORMAT = ModelFormat(name="keras", label="Keras", suffixes=SUFFIXES, folder=False, matches=_matches, load=load)
