"""Full-model .h5 files, including tf.keras 2 ones with a `Lambda(depth_to_space)` pixel shuffle.

Such a Lambda stores its function as marshalled bytecode: Keras 3 refuses it in safe mode, and
running it would execute code from the file (and breaks across Python versions anyway). Instead
the architecture is read from the file's `model_config` JSON, each Lambda is replaced by
srviewer's `PixelShuffle(2)` (the only Lambda an SR generator of that era carries; a Lambda that
is not a x2 pixel shuffle makes the rebuilt model's scale check fail loudly), and the weights are
read from `model_weights` by layer order. Nothing stored in the file is executed.
"""

from __future__ import annotations

import json
from pathlib import Path

from srviewer.errors import ModelFileError


def _replace_lambdas(node, replaced: list[str]):
    if isinstance(node, dict):
        if node.get("class_name") == "Lambda":
            cfg = node.get("config", {})
            replaced.append(cfg.get("name", "lambda"))
            return {"class_name": "PixelShuffle", "module": None, "registered_name": "srviewer>PixelShuffle",
                    "config": {"name": cfg.get("name", f"pixel_shuffle_{len(replaced)}"), "scale": 2,
                               "trainable": False, "dtype": cfg.get("dtype", "float32")},
                    **({"inbound_nodes": node["inbound_nodes"]} if "inbound_nodes" in node else {}),
                    **({"name": node["name"]} if "name" in node else {})}
        return {k: _replace_lambdas(v, replaced) for k, v in node.items()}
    if isinstance(node, list):
        return [_replace_lambdas(v, replaced) for v in node]
    return node


def read_model_config(path: Path) -> dict:
    import h5py

    try:
        with h5py.File(path, "r") as f:
            raw = f.attrs.get("model_config")
    except OSError as exc:
        raise ModelFileError(f"{path.name}: not a readable HDF5 file ({str(exc).splitlines()[0][:120]})") from None
    if raw is None:
        raise ModelFileError(f"{path.name}: holds weights only (no architecture); add a .json sidecar "
                             "naming the factory, or save the full model")
    if isinstance(raw, bytes):
        raw = raw.decode("utf-8")
    try:
        return json.loads(raw)
    except json.JSONDecodeError as exc:
        raise ModelFileError(f"{path.name}: its model_config is not valid JSON ({exc})") from None


def load_full_h5(path) -> object:
    """A keras.Model rebuilt from a full-model .h5 without running any code stored in it."""
    import keras

    from srviewer.core.layers import PixelShuffle

    path = Path(path)
    config = read_model_config(path)
    config = _replace_lambdas(config, [])
    try:
        model = keras.models.model_from_json(json.dumps(config), custom_objects={"PixelShuffle": PixelShuffle})
    except Exception as exc:  # noqa: BLE001
        raise ModelFileError(f"{path.name}: its architecture cannot be rebuilt ({type(exc).__name__}: "
                             f"{str(exc).splitlines()[0][:160] if str(exc) else ''})") from None
    try:
        model.load_weights(str(path))
    except Exception as exc:  # noqa: BLE001
        raise ModelFileError(f"{path.name}: the weights do not match its architecture "
                             f"({type(exc).__name__}: {str(exc).splitlines()[0][:160] if str(exc) else ''})") from None
    return model
