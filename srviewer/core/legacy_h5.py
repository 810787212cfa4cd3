"""Full-model .h5 files, including tf.keras 2 ones with a `Lambda(depth_to_space)` pixel shuffle.

Such a Lambda stores its function as marshalled bytecode: Keras 3 refuses it in safe mode, and
running it would execute code from the file (bytecode from another Python version can even
crash the interpreter). Instead the architecture is read from the file's `model_config` JSON;
each Lambda that is exactly `depth_to_space(input, N)` (decided by `lambda_bytecode` from its
bytecode's names, constants and instructions, read in pure Python: nothing is unmarshalled or
run) is replaced by srviewer's `PixelShuffle(N)`, and Keras loads the rewritten file in safe
mode, weights by layer order.

Any other Lambda (`relu(depth_to_space(t, 2)) - 0.3` included) is refused unless the user opts
in (`--trust-model-code`): the file is run exactly or not at all, never approximated. Even then
the file is first loaded in a separate Python process, so a crash there cannot take the
application down.
"""

from __future__ import annotations

import base64
import contextlib
import binascii
import json
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from srviewer.core.lambda_bytecode import depth_to_space_block
from srviewer.errors import ModelFileError

TRUST_HINT = "if you trust the file, pass --trust-model-code"


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return f"{type(exc).__name__}: {text.splitlines()[0][:160]}" if text else type(exc).__name__


def _lambda_bytecode(cfg: dict) -> bytes:
    fn = cfg.get("function")
    code = fn[0] if isinstance(fn, (list, tuple)) and fn else fn
    if isinstance(code, dict):                      # Keras 3 style {"class_name": "__lambda__", "config": {"code": ..}}
        code = code.get("config", {}).get("code")
    if not isinstance(code, str):
        return b""
    try:
        return base64.b64decode(code.encode("ascii"), validate=False)
    except (binascii.Error, ValueError, UnicodeEncodeError):
        return code.encode("utf-8", "replace")


def pixel_shuffle_block(cfg: dict) -> int | None:
    """The block size if this Lambda config is exactly `depth_to_space(input, N)`, else None.

    Decided by `lambda_bytecode` from the names, constants and instructions of its stored
    bytecode, read without unmarshalling or running it.
    """
    return depth_to_space_block(_lambda_bytecode(cfg), cfg.get("arguments"))


def replace_lambdas(node, unknown: list[str]):
    """A copy of a model config with pixel-shuffle Lambdas turned into PixelShuffle layers.

    Names of Lambdas that are not exactly a pixel shuffle are appended to `unknown` (left as they are).
    """
    if isinstance(node, dict):
        if node.get("class_name") == "Lambda":
            cfg = node.get("config", {})
            block = pixel_shuffle_block(cfg)
            if block is None:
                unknown.append(cfg.get("name", "lambda"))
                return node
            new = {"class_name": "PixelShuffle", "module": None, "registered_name": "srviewer>PixelShuffle",
                   "config": {"name": cfg.get("name", "pixel_shuffle"), "scale": block,
                              "trainable": False, "dtype": cfg.get("dtype", "float32")}}
            for key in ("inbound_nodes", "name"):
                if key in node:
                    new[key] = node[key]
            return new
        return {k: replace_lambdas(v, unknown) for k, v in node.items()}
    if isinstance(node, list):
        return [replace_lambdas(v, unknown) for v in node]
    return node


def read_model_config(path: Path) -> dict:
    import h5py

    try:
        with h5py.File(path, "r") as f:
            raw = f.attrs.get("model_config")
    except OSError as exc:
        raise ModelFileError(f"{path.name}: not a readable HDF5 file, truncated or corrupt ({_first_line(exc)})") from None
    if raw is None:
        raise ModelFileError(f"{path.name}: holds weights only (no architecture); name it NAME.weights.h5 with a "
                             "NAME.json sidecar giving the factory, or save the full model")
    if isinstance(raw, bytes):
        raw = raw.decode("utf-8")
    try:
        return json.loads(raw)
    except json.JSONDecodeError as exc:
        raise ModelFileError(f"{path.name}: its model_config is not valid JSON ({exc})") from None


def _load_rewritten(path: Path, config: dict):
    """Keras loads a temporary copy of `path` whose model_config is `config` (safe mode on)."""
    import h5py
    import keras

    import srviewer.core.layers  # noqa: F401 - registers PixelShuffle

    with tempfile.TemporaryDirectory(prefix="srviewer-h5-") as tmp:   # scratch copy, removed at once
        copy = Path(tmp) / "model.h5"
        shutil.copyfile(path, copy)
        with h5py.File(copy, "r+") as f:
            f.attrs["model_config"] = json.dumps(config)
        try:
            return keras.models.load_model(str(copy), compile=False, safe_mode=True)
        except Exception as exc:  # noqa: BLE001 - Keras/h5py raise many types
            raise ModelFileError(f"{path.name}: the model cannot be rebuilt from its model_config or its weights "
                                 f"do not match ({_first_line(exc)})") from None


@contextlib.contextmanager
def code_globals():
    """Names old Lambda bytecode expects as globals (`tf`, `K`, `np`, `keras`) while a trusted model loads.

    Keras 3 builds a stored lambda with the globals of `keras.src.utils.python_utils` (so a
    notebook's `lambda t: tf.nn.depth_to_space(t, 2)` fails with NameError: tf); the names are
    added there for the duration of the load and removed afterwards.
    """
    try:
        from keras.src.utils import python_utils as target
    except ImportError:  # a later Keras moved it: load without the extra names
        yield
        return
    names = _code_names()
    added = [k for k in names if k not in vars(target)]
    for k in added:
        setattr(target, k, names[k])
    try:
        yield
    finally:
        for k in added:
            delattr(target, k)


def _code_names() -> dict:
    import keras
    import numpy as np

    from srviewer.core.tf_runtime import tf

    return {"tf": tf(), "K": keras.ops, "keras": keras, "np": np}


def rebind_lambda_globals(model) -> None:
    """Give each Lambda's function its own globals with the names of `code_globals` (kept after loading)."""
    import types

    import keras

    names = _code_names()
    for layer in model._flatten_layers(include_self=False):
        fn = getattr(layer, "function", None)
        if isinstance(layer, keras.layers.Lambda) and isinstance(fn, types.FunctionType):
            layer.function = types.FunctionType(fn.__code__, {**names, **fn.__globals__}, fn.__name__,
                                                fn.__defaults__, fn.__closure__)


_TRIAL = """
import sys, numpy as np, keras
import srviewer.core.layers
from srviewer.core.legacy_h5 import code_globals, rebind_lambda_globals
with code_globals():
    m = keras.models.load_model(sys.argv[1], compile=False, safe_mode=False)
rebind_lambda_globals(m)
m(np.zeros((1, 16, 16, 3), np.float32))
"""


def trial_load_in_subprocess(path: Path, timeout_s: float = 300) -> None:
    """Load (and run once) a model that holds code in a child Python; raise ModelFileError if it fails."""
    try:
        proc = subprocess.run([sys.executable, "-c", _TRIAL, str(path)], capture_output=True, text=True,
                              timeout=timeout_s, env=None)
    except subprocess.TimeoutExpired:
        raise ModelFileError(f"{path.name}: loading its embedded code did not finish in {timeout_s:.0f} s") from None
    if proc.returncode < 0:
        raise ModelFileError(f"{path.name}: its embedded code crashed a test process (signal {-proc.returncode}); "
                             "bytecode from another Python version? re-save the model as .keras or .weights.h5")
    if proc.returncode != 0:
        lines = [ln for ln in proc.stderr.strip().splitlines() if ln.strip()]
        raise ModelFileError(f"{path.name}: loading its embedded code failed ({lines[-1][:200] if lines else 'no message'})")


def load_trusted(path: Path):
    """Load a model file running its embedded code: only after the user opted in and a child survived it."""
    import keras

    import srviewer.core.layers  # noqa: F401

    trial_load_in_subprocess(path)
    try:
        with code_globals():
            model = keras.models.load_model(str(path), compile=False, safe_mode=False)
        rebind_lambda_globals(model)
        return model
    except Exception as exc:  # noqa: BLE001
        raise ModelFileError(f"{path.name}: cannot be loaded even with its code ({_first_line(exc)})") from None


def load_full_h5(path, trust_code: bool = False):
    """A keras.Model from a full-model .h5, without running code stored in it (unless `trust_code`)."""
    path = Path(path)
    config = read_model_config(path)
    unknown: list[str] = []
    rewritten = replace_lambdas(config, unknown)
    if unknown:
        if not trust_code:
            raise ModelFileError(f"{path.name} holds code (Lambda layer {', '.join(unknown)}, not exactly a "
                                 f"depth_to_space of its input) that safe mode will not run; {TRUST_HINT}")
        return load_trusted(path)
    return _load_rewritten(path, rewritten)
