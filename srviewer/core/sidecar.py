"""The sidecar JSON beside a model file: read and written here, and only here.

`NAME.weights.h5` -> `NAME.json`, `NAME.onnx` -> `NAME.json`, a folder `NAME/` -> `NAME.json` beside
it. The format is that of `weights/NAME.json`, extended; every key is optional except where a
loader needs it (`factory` for `.weights.h5`):

    {"format": 1,                                  the sidecar's own version
     "factory": "sr_resnet", "kwargs": {...},       srviewer's .weights.h5 only: the architecture
     "model_format": "onnx",                        which loader reads the file (formats/<name>.py)
     "scale": 4, "input": "lr" | "bicubic", "label": "Real-ESRGAN",
     "layout": "nhwc" | "nchw", "channels": "rgb" | "bgr" | "y", "range": "0..1" | "0..255" | "-1..1",
     "fixed_size": [H, W] | null, "output": 0, "trim": "centre" | "end", "overlap": 16,
     "evidence": {"channels": "...", ...}}          why each choice was made (written by detection)

Convention keys found here win over what detection finds; `--model-range` / `--model-channels`
win over the sidecar. srviewer writes one after detecting a convention, so the user can read and
edit it; a sidecar that exists is only ever added to, never rewritten away.
"""

from __future__ import annotations

import json
from pathlib import Path

from srviewer.errors import ModelFileError

CONVENTION_KEYS = ("layout", "channels", "range", "scale", "input", "fixed_size", "output", "trim", "overlap")


def sidecar_path(model_path) -> Path:
    """The sidecar of a model file or folder: NAME.json beside it (NAME without .weights.h5 / the suffix)."""
    model_path = Path(model_path)
    name = model_path.name
    if name.endswith(".weights.h5"):
        stem = name[: -len(".weights.h5")]
    elif model_path.is_dir():
        stem = name
    else:
        stem = model_path.stem
    return model_path.with_name(stem + ".json")


def read(model_path, required: bool = False) -> dict | None:
    """The sidecar as a dict; None when there is none (ModelFileError when `required`, or when it is not JSON)."""
    path = sidecar_path(model_path)
    if not path.exists():
        if required:
            raise ModelFileError(f"{Path(model_path).name}: no {path.name} beside it saying which architecture it is")
        return None
    try:
        spec = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ModelFileError(f"{path}: not a valid sidecar ({exc})") from None
    if not isinstance(spec, dict):
        raise ModelFileError(f"{path}: a sidecar is a JSON object, not {type(spec).__name__}")
    return spec


def convention_fields(spec: dict | None) -> dict:
    """The convention keys a sidecar states (sidecar names: "input" for the input kind)."""
    return {k: spec[k] for k in CONVENTION_KEYS if spec and spec.get(k) is not None}


def write_detected(model_path, model_format: str, label: str, conv: dict, params: int | None) -> Path | None:
    """Record a detected convention beside the model (keys already in a sidecar are kept).

    Returns the sidecar's path, or None when the folder is not writable (the caller says so).
    """
    from srviewer.core.atomic import atomic_write_json

    path = sidecar_path(model_path)
    spec = read(model_path) or {}
    fresh = {"format": 1, "model_format": model_format, "label": label, "scale": conv["scale"],
             "input": conv["input_kind"], "layout": conv["layout"], "channels": conv["channels"],
             "range": conv["range"], "fixed_size": conv["fixed_size"], "output": conv["output"],
             "trim": conv["trim"], "overlap": conv["overlap"], "params": params, "evidence": conv["evidence"]}
    for key, value in fresh.items():
        spec.setdefault(key, value)
    try:
        atomic_write_json(path, spec)
    except OSError:
        return None
    return path
