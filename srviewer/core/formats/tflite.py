"""TFLite files (`.tflite`: mobile ESRGAN/ESPCN exports, `TFLiteConverter` output), run by LiteRT.

The interpreter is LiteRT's (`ai-edge-litert`), not `tf.lite.Interpreter`: TensorFlow 2.21
deprecates its own in favour of it, and LiteRT's installs beside TensorFlow without changing it
(it adds only backports.strenum and tqdm). It runs on the CPU with XNNPACK, all cores. Where
LiteRT is not installed (a platform or Python without its wheel), TensorFlow's own interpreter
(same API) runs the file instead.

Before an interpreter is even made, the operators of every subgraph (read from the
flatbuffer with LiteRT's schema module) are checked against the allow-list
(graph_safety.ALLOWED_TFLITE_OPS): a custom or Flex operator is refused naming
`--trust-model-code`. A file whose input height and width are fixed declares them in
`inputs[0].shape` (e.g. (1, 64, 64, 3)); the conventions layer then tiles at exactly that size.
A file with open sizes is resized to each input it gets. The file's input dtype is kept (a
quantised model takes uint8/int8; its quantisation is named in the notes).
"""

from __future__ import annotations

import os
import threading
from pathlib import Path

import numpy as np

from srviewer.core.formats import ModelFormat
from srviewer.core.formats.graph_safety import ALLOWED_TFLITE_OPS, refuse_unlisted
from srviewer.core.formats.raw import LoadOptions, RawModel, TensorInfo
from srviewer.core.formats.tf_graph import first_line
from srviewer.errors import ModelFileError

_MAGIC = b"TFL3"


def _matches(path: Path) -> bool:
    return path.suffix.lower() == ".tflite"


def _shape(detail) -> tuple[int | None, ...]:
    sig = detail.get("shape_signature")
    sig = detail["shape"] if sig is None or len(sig) == 0 else sig
    return tuple(None if int(d) < 0 else int(d) for d in sig)


def _info(detail) -> TensorInfo:
    return TensorInfo(detail["name"], _shape(detail), np.dtype(detail["dtype"]).name)


def _schema():
    try:
        from ai_edge_litert import schema_py_generated as schema
    except ImportError:
        from tensorflow.lite.python import schema_py_generated as schema
    return schema


def _operators(path: Path) -> dict[str, str]:
    """{operator name: first 'subgraph S operator O' using it} over every subgraph of the file (the
    bodies of WHILE/IF/CALL_ONCE included); a custom or Flex operator by its custom code."""
    schema = _schema()
    names = {v: k for k, v in vars(schema.BuiltinOperator).items() if not k.startswith("_")}
    try:
        model = schema.Model.GetRootAsModel(path.read_bytes(), 0)
        codes = [model.OperatorCodes(i) for i in range(model.OperatorCodesLength())]
        ops: dict[str, str] = {}
        for s in range(model.SubgraphsLength()):
            subgraph = model.Subgraphs(s)
            for o in range(subgraph.OperatorsLength()):
                code = codes[subgraph.Operators(o).OpcodeIndex()]
                builtin = max(code.BuiltinCode(), code.DeprecatedBuiltinCode())
                custom = code.CustomCode()
                name = custom.decode("utf-8", "replace") if custom else names.get(builtin, f"builtin {builtin}")
                ops.setdefault(name, f"subgraph {s} operator {o}")
    except Exception as exc:  # noqa: BLE001 - a malformed table: IndexError, struct.error, ...
        raise ModelFileError(f"{path.name}: not a valid TFLite file (truncated or corrupt: {first_line(exc)})") from None
    return ops


def _params(path: Path) -> int | None:
    """Elements of the tensors whose values the file stores (weights, biases, constants)."""
    try:
        model = _schema().Model.GetRootAsModel(path.read_bytes(), 0)
        total = 0
        for s in range(model.SubgraphsLength()):
            subgraph = model.Subgraphs(s)
            for i in range(subgraph.TensorsLength()):
                tensor = subgraph.Tensors(i)
                buffer = model.Buffers(tensor.Buffer()) if tensor.Buffer() else None
                if buffer is not None and (buffer.DataLength() or buffer.Size()):
                    total += int(np.prod(tensor.ShapeAsNumpy())) if tensor.ShapeLength() else 1
        return total
    except Exception:  # noqa: BLE001 - the count is informative only
        return None


def _interpreter(path: Path, options: LoadOptions):
    with path.open("rb") as f:
        head = f.read(8)
    if len(head) < 8 or head[4:8] != _MAGIC:
        raise ModelFileError(f"{path.name}: not a TFLite file (no TFL3 header)")
    notes = refuse_unlisted(_operators(path), ALLOWED_TFLITE_OPS, path.name, options.trust_code)
    Interpreter, runtime = _interpreter_class()
    try:
        interp = Interpreter(model_path=str(path), num_threads=os.cpu_count() or 1)
    except (ValueError, RuntimeError) as exc:
        raise ModelFileError(f"{path.name}: {runtime} cannot read it (truncated or corrupt: "
                             f"{first_line(exc)})") from None
    try:
        interp.allocate_tensors()
    except (ValueError, RuntimeError) as exc:
        raise ModelFileError(f"{path.name}: {runtime} cannot prepare it ({first_line(exc)})") from None
    return interp, notes, runtime


def _interpreter_class():
    """(Interpreter class, runtime name): LiteRT's, else TensorFlow's deprecated one."""
    try:
        from ai_edge_litert.interpreter import Interpreter
    except ImportError:
        from srviewer.core.tf_runtime import tf

        return tf().lite.Interpreter, "TensorFlow Lite"
    return Interpreter, "LiteRT"


def load(path: Path, options: LoadOptions) -> RawModel:
    """Load a .tflite file (see the module docstring); every failure is one ModelFileError line."""
    path = Path(path)
    interp, notes, runtime = _interpreter(path, options)
    inputs = interp.get_input_details()
    if len(inputs) != 1:
        raise ModelFileError(f"{path.name}: the model takes {len(inputs)} inputs; "
                             "srviewer runs models with one image input")
    detail = inputs[0]
    outputs = interp.get_output_details()
    scale, zero = detail.get("quantization", (0.0, 0))
    if scale:
        notes.append(f"quantised input {np.dtype(detail['dtype']).name}: real = {scale:g} * (q - {zero})")
    if len(outputs) > 1:
        notes.append(f"{len(outputs)} outputs: " + ", ".join(f"{o['name']} {_shape(o)}" for o in outputs))
    lock = threading.Lock()       # one interpreter: one call at a time
    index, dtype = detail["index"], detail["dtype"]

    def run(x: np.ndarray) -> list[np.ndarray]:
        x = np.ascontiguousarray(x, dtype=dtype)
        with lock:
            if tuple(interp.get_input_details()[0]["shape"]) != x.shape:
                try:
                    interp.resize_tensor_input(index, list(x.shape), strict=True)
                    interp.allocate_tensors()
                except (ValueError, RuntimeError):
                    raise ModelFileError(f"{path.name} takes only {_shape(detail)} input, not {x.shape}") from None
            interp.set_tensor(index, x)
            interp.invoke()
            return [interp.get_tensor(o["index"]).copy() for o in interp.get_output_details()]

    threads = os.cpu_count() or 1
    return RawModel(format="tflite", run=run, inputs=[_info(detail)], outputs=[_info(o) for o in outputs],
                    device=f"CPU: {runtime} (XNNPACK), {threads} threads", params=_params(path), notes=notes)


FORMAT = ModelFormat(name="tflite", label="TFLite", suffixes=(".tflite",), folder=False,
                     matches=_matches, load=load)
