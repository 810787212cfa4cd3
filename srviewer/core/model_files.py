"""Loading Keras super-resolution models from files, safely. Imports Keras: import lazily.

Accepted:
- `NAME.weights.h5` + `NAME.json` sidecar ({"factory", "kwargs", "scale", "input", "label"}):
  srviewer's own format; the architecture is rebuilt from our factories, no code is loaded.
- `.keras`: loaded with Keras' safe mode on (a Lambda layer is refused unless the user opts in
  with `trust_code`, `--trust-model-code`).
- full-model `.h5`, including old tf.keras 2 files whose pixel shuffle is a
  `Lambda(depth_to_space)`: the architecture is read from the file's `model_config` JSON, every
  Lambda is replaced by srviewer's PixelShuffle, and the weights are loaded by layer order, so no
  code stored in the file is ever run (see legacy_h5.py).
Every failure raises ModelFileError with one clear line.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from srviewer.core import sidecar, timeline
from srviewer.core.sidecar import sidecar_path
from srviewer.errors import ModelFileError


@dataclass
class LoadedModel:
    model: object          # keras.Model: float32 NHWC RGB [0, 1] in and out
    scale: int
    input_kind: str        # "lr" (the model upscales) or "bicubic" (fed the bicubic-upscaled image)
    label: str


def read_sidecar(weights_path: Path) -> dict:
    spec = sidecar.read(weights_path, required=True)
    if "factory" not in spec:
        raise ModelFileError(f"{sidecar_path(weights_path)}: the sidecar names no 'factory'")
    return spec


def _probe_size(model) -> tuple[int, int]:
    """16x16, or the model's own input size where it declares one (a fixed-size model)."""
    try:
        shape = tuple(model.inputs[0].shape)
    except (AttributeError, IndexError, TypeError):
        return 16, 16
    if len(shape) == 4 and isinstance(shape[1], int) and isinstance(shape[2], int):
        return shape[1], shape[2]
    return 16, 16


def probe(model, scale_hint: int | None = None) -> tuple[int, str]:
    """Run a 16x16 input (or the model's fixed size): (scale, input kind). Output size == input
    size means a 'bicubic' model."""
    h, w = _probe_size(model)
    x = np.zeros((1, h, w, 3), np.float32)
    try:
        y = np.asarray(model(x, training=False))
    except Exception as exc:  # noqa: BLE001
        raise ModelFileError(f"the model does not run on an RGB image ({type(exc).__name__}: {str(exc)[:120]})") from None
    if y.ndim != 4 or y.shape[-1] != 3:
        raise ModelFileError(f"the model returns shape {y.shape[1:]}, not an RGB image")
    if y.shape[1] == h and y.shape[2] == w:
        return (scale_hint or 4), "bicubic"
    if y.shape[1] % h or y.shape[2] % w or y.shape[1] // h != y.shape[2] // w:
        raise ModelFileError(f"the model maps {w}x{h} to {y.shape[2]}x{y.shape[1]}: not an integer upscale")
    return y.shape[1] // h, "lr"


def _import_tensorflow() -> None:
    """TensorFlow through tf_runtime before Keras imports it: the one import whose start-up lines are
    caught. Called after the cheap checks, so a damaged file is refused without it."""
    from srviewer.core.tf_runtime import tf

    tf()


def _check_hdf5(path: Path) -> None:
    import h5py

    try:
        with h5py.File(path, "r"):
            pass
    except OSError as exc:
        raise ModelFileError(f"{path.name}: not a readable HDF5 file (truncated or corrupt: "
                             f"{str(exc).splitlines()[0][:120]})") from None


def _load_weights_with_sidecar(path: Path) -> LoadedModel:
    spec = read_sidecar(path)
    if spec.get("input", "lr") not in ("lr", "bicubic"):
        raise ModelFileError(f"{sidecar_path(path).name}: 'input' must be \"lr\" or \"bicubic\", not {spec['input']!r}")
    _check_hdf5(path)
    _import_tensorflow()
    from srviewer.core import models

    model = models.build(spec)
    timeline.mark(f"{path.name}: model built")
    try:
        model.load_weights(str(path))
    except Exception as exc:  # noqa: BLE001 - h5py/keras raise many types
        raise ModelFileError(f"{path.name}: the weights do not fit a {spec['factory']} {spec.get('kwargs', {})} "
                             f"({type(exc).__name__}: {str(exc).splitlines()[0][:160]})") from None
    timeline.mark(f"{path.name}: weights loaded")
    scale, kind = int(spec.get("scale", 4)), spec.get("input", "lr")
    return LoadedModel(model, scale, kind, spec.get("label", path.name))


def _load_keras(path: Path, trust_code: bool) -> LoadedModel:
    import zipfile

    if not zipfile.is_zipfile(path):   # Keras says "File not found" of a truncated archive
        raise ModelFileError(f"{path.name}: not a readable .keras file (a .keras file is a zip archive; "
                             "this one is not: truncated, corrupt, or another kind of file)")
    _import_tensorflow()
    import keras

    import srviewer.core.layers  # noqa: F401 - registers PixelShuffle & co.

    try:
        model = keras.saving.load_model(str(path), safe_mode=True, compile=False)
    except Exception as exc:  # noqa: BLE001
        text = str(exc)
        if "safe_mode" in text or "Lambda" in text or "unsafe" in text.lower():
            if trust_code:
                from srviewer.core.legacy_h5 import load_trusted

                model = load_trusted(path)
                scale, kind = probe(model)
                return LoadedModel(model, scale, kind, path.stem)
            raise ModelFileError(f"{path.name} holds code (a Lambda layer) and safe mode refuses to run it; "
                                 "if you trust the file, pass --trust-model-code") from None
        raise ModelFileError(f"{path.name}: not a loadable .keras model ({type(exc).__name__}: "
                             f"{text.splitlines()[0][:160] if text else ''})") from None
    scale, kind = probe(model)
    return LoadedModel(model, scale, kind, path.stem)


def load_model_file(path, trust_code: bool = False) -> LoadedModel:
    """Load a model file (see the module docstring); every failure raises ModelFileError.

    The model takes float32 NHWC RGB [0, 1]: the LR image (input_kind "lr") or the
    bicubic-upscaled one ("bicubic", output size == input size), and returns RGB [0, 1].
    """
    path = Path(path)
    if not path.exists():
        raise ModelFileError(f"{path}: no such model file")
    if path.stat().st_size == 0:
        raise ModelFileError(f"{path}: the model file is empty")
    name = path.name.lower()
    if name.endswith(".weights.h5"):
        loaded = _load_weights_with_sidecar(path)
    elif name.endswith(".keras"):
        loaded = _load_keras(path, trust_code)
    elif name.endswith((".h5", ".hdf5")):
        _import_tensorflow()
        from srviewer.core.legacy_h5 import load_full_h5

        model = load_full_h5(path, trust_code=trust_code)
        scale, kind = probe(model)
        loaded = LoadedModel(model, scale, kind, path.stem)
    else:
        raise ModelFileError(f"{path.name}: unknown model format (use .keras, .h5, or .weights.h5 with a .json)")
    scale, kind = probe(loaded.model, loaded.scale)
    timeline.mark(f"{path.name}: probed (16x16 eager call)")
    if kind != loaded.input_kind:
        raise ModelFileError(f"{path.name}: stated input {loaded.input_kind!r}, but the model "
                             + ("keeps the image size (a 'bicubic'-input model)" if kind == "bicubic" else f"upscales x{scale}"))
    if scale != loaded.scale:
        raise ModelFileError(f"{path.name} upscales x{scale}, but x{loaded.scale} was stated")
    return loaded
