"""ONNX files (`.onnx`), run with onnxruntime.

onnxruntime is ONNX's reference runtime: it runs every standard operator the exporters emit
(Real-ESRGAN, SPAN, OpenModelDB models), uses all cores on CPU, and its CUDA build
(`onnxruntime-gpu`, the same `onnxruntime` module) is picked up when installed: the device then
reads "CUDA (onnxruntime)". It also refuses external data that points outside the model's folder
(absolute paths, `..`, links leading out), which is srviewer's rule for ONNX files; that refusal
becomes one line here. onnxruntime is imported by `load`, never when this module is.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import numpy as np

from srviewer.core.formats import ModelFormat
from srviewer.core.formats.raw import LoadOptions, RawModel, TensorInfo
from srviewer.errors import ModelFileError

_DTYPES = {"tensor(float)": "float32", "tensor(float16)": "float16", "tensor(double)": "float64",
           "tensor(uint8)": "uint8", "tensor(int8)": "int8", "tensor(uint16)": "uint16", "tensor(int32)": "int32",
           "tensor(int64)": "int64"}


def _matches(path: Path) -> bool:
    return path.suffix.lower() == ".onnx"


def _threads() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:                 # not Linux
        return os.cpu_count() or 1


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0][:200] if text else type(exc).__name__


def _load_error(path: Path, exc: BaseException) -> ModelFileError:
    text = str(exc)
    if "External data path" in text or "external data" in text.lower():
        why = text.split("Error:", 1)[-1].strip().splitlines()[0][:200]
        return ModelFileError(f"{path.name}: its external data must stay inside the model's folder ({why})")
    op = re.search(r"Could not find an implementation for (\w+)", text) or \
        re.search(r"No Op registered for (\w+)", text) or re.search(r"[Uu]nrecognized (?:op|operator)[^\w]*(\w+)", text) or \
        re.search(r"([\w.]+:\w+)\(-?\d+\) is not a registered function", text)
    if op:
        return ModelFileError(f"{path.name}: uses the operator {op.group(1)}, which onnxruntime cannot run "
                              "(an unsupported or custom operator)")
    if "INVALID_PROTOBUF" in text or "Protobuf parsing failed" in text or "protobuf" in text.lower():
        return ModelFileError(f"{path.name}: not a readable ONNX model (truncated or corrupt)")
    return ModelFileError(f"{path.name}: onnxruntime cannot load it ({_first_line(exc)})")


def _params(path: Path) -> int | None:
    """Parameters (initializer elements), where the `onnx` package is installed; else None."""
    try:
        import onnx
    except ImportError:
        return None
    try:
        model = onnx.load(str(path), load_external_data=False)
    except Exception:  # noqa: BLE001 - onnxruntime read it; a count is only informative
        return None
    return int(sum(int(np.prod(t.dims)) for t in model.graph.initializer))


def load(path: Path, options: LoadOptions) -> RawModel:
    try:
        import onnxruntime as ort
    except ImportError:
        raise ModelFileError(f"{path.name}: ONNX files need onnxruntime (pip install onnxruntime, "
                             "or onnxruntime-gpu for CUDA)") from None
    opts = ort.SessionOptions()
    opts.intra_op_num_threads = _threads()
    opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    opts.log_severity_level = 3
    providers = ["CPUExecutionProvider"]
    if "CUDAExecutionProvider" in ort.get_available_providers():
        providers.insert(0, "CUDAExecutionProvider")
    try:
        session = ort.InferenceSession(str(path), sess_options=opts, providers=providers)
    except Exception as exc:  # noqa: BLE001 - onnxruntime raises its own types
        raise _load_error(path, exc) from None
    inputs = session.get_inputs()
    if len(inputs) != 1:
        raise ModelFileError(f"{path.name}: the model takes {len(inputs)} inputs "
                             f"({', '.join(i.name for i in inputs)}); srviewer feeds it one image")
    for info in inputs:
        if info.type not in _DTYPES:
            raise ModelFileError(f"{path.name}: its input {info.name!r} is {info.type}, not an image tensor")

    def infos(items) -> list[TensorInfo]:
        return [TensorInfo(i.name, tuple(d if isinstance(d, int) else None for d in (i.shape or ())),
                           _DTYPES.get(i.type, "float32")) for i in items]

    name = inputs[0].name

    def run(x: np.ndarray) -> list[np.ndarray]:
        return [np.asarray(y) for y in session.run(None, {name: x})]

    cuda = session.get_providers()[0] == "CUDAExecutionProvider"
    device = "CUDA (onnxruntime)" if cuda else f"CPU (onnxruntime, {opts.intra_op_num_threads} threads)"
    return RawModel(format="onnx", run=run, inputs=infos(inputs), outputs=infos(session.get_outputs()),
                    device=device, params=_params(path))


FORMAT = ModelFormat(name="onnx", label="ONNX", suffixes=(".onnx",), folder=False, matches=_matches, load=load)
