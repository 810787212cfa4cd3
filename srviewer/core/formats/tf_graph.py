"""TensorFlow frozen graphs: a `.pb` GraphDef with its weights as constants (OpenCV's dnn_superres
zoo: ESPCN, FSRCNN, LapSRN, EDSR; `convert_variables_to_constants_v2` exports).

The input is the graph's one image `Placeholder` (a `PlaceholderWithDefault`, such as an
`is_training` flag, keeps its default); the outputs are the nodes that depend on the input and
that nothing else consumes, in graph order: a graph with a x2 and a x4 head reports both, and the
conventions layer takes the one whose scale was asked for, or the largest. Before anything is
imported, the operations those outputs need are checked against the allow-list
(graph_safety.py). The graph runs exactly as stored, pruned to input -> outputs, in one
TensorFlow function. TensorFlow is imported by `load`, never by importing this module.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from srviewer.core.formats import ModelFormat
from srviewer.core.formats.graph_safety import check_graph_def
from srviewer.core.formats.raw import LoadOptions, RawModel, TensorInfo
from srviewer.errors import ModelFileError

_NOT_OUTPUTS = {"NoOp", "Const", "Placeholder", "PlaceholderWithDefault", "Assert", "VarHandleOp",
                "VariableV2", "Assign", "AssignVariableOp"}


def first_line(exc: BaseException, limit: int = 160) -> str:
    """'TypeName: first line of the message', cut to `limit` characters (for one-line errors)."""
    text = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0][:limit] if text else ''}"


def shape_of(shape_proto) -> tuple[int | None, ...]:
    """A TensorShapeProto as a tuple, None for an open size; unknown rank reads as 4 open sizes."""
    if shape_proto.unknown_rank:
        return (None, None, None, None)
    return tuple(None if d.size < 0 else int(d.size) for d in shape_proto.dim)


def dtype_name(tf, enum: int) -> str:
    """A DataType enum as numpy's name ('float32', 'uint8')."""
    try:
        return tf.dtypes.as_dtype(enum).name
    except TypeError:
        return str(enum)


def _matches(path: Path) -> bool:
    return path.suffix.lower() == ".pb"


def _parse(tf, path: Path):
    graph_def = tf.compat.v1.GraphDef()
    try:
        graph_def.ParseFromString(path.read_bytes())
    except Exception as exc:  # noqa: BLE001 - protobuf's DecodeError, RuntimeWarning-free
        raise ModelFileError(f"{path.name}: not a TensorFlow GraphDef (truncated or corrupt: "
                             f"{first_line(exc)})") from None
    if not graph_def.node:
        raise ModelFileError(f"{path.name}: holds no TensorFlow graph (no nodes)")
    return graph_def


def _find_input(graph_def, what: str):
    placeholders = [n for n in graph_def.node if n.op == "Placeholder"]
    if len(placeholders) > 1:   # keep the image-like ones: rank 4 (or unknown)
        placeholders = [n for n in placeholders
                        if n.attr["shape"].shape.unknown_rank or len(n.attr["shape"].shape.dim) == 4]
    if not placeholders:
        raise ModelFileError(f"{what}: the graph has no input placeholder")
    if len(placeholders) > 1:
        names = ", ".join(n.name for n in placeholders)
        raise ModelFileError(f"{what}: the graph has several image inputs ({names}); srviewer runs models with one")
    return placeholders[0]


def _find_outputs(graph_def, input_name: str, what: str) -> list[str]:
    """Nodes that depend on the input and that no node consumes, in graph order."""
    consumers: dict[str, list[str]] = {}
    consumed: set[str] = set()
    for node in graph_def.node:
        for ref in node.input:
            src = ref.lstrip("^").split(":", 1)[0]
            consumers.setdefault(src, []).append(node.name)
            consumed.add(src)
    downstream, todo = set(), [input_name]
    while todo:
        name = todo.pop()
        for nxt in consumers.get(name, ()):
            if nxt not in downstream:
                downstream.add(nxt)
                todo.append(nxt)
    outputs = [n.name for n in graph_def.node
               if n.name in downstream and n.name not in consumed and n.op not in _NOT_OUTPUTS]
    if not outputs:
        raise ModelFileError(f"{what}: no output of the graph depends on its input {input_name!r}")
    return outputs


def _count_params(graph_def) -> int:
    """Elements of the float constants with at least one axis (the frozen weights)."""
    total = 0
    for node in graph_def.node:
        if node.op != "Const":
            continue
        tensor = node.attr["value"].tensor
        if tensor.dtype in (1, 2, 14, 19) and tensor.tensor_shape.dim:   # float, double, bfloat16, half
            total += int(np.prod([d.size for d in tensor.tensor_shape.dim]))
    return total


def load(path: Path, options: LoadOptions) -> RawModel:
    """Load a frozen GraphDef (see the module docstring); every failure is one ModelFileError line."""
    path = Path(path)
    if path.name.lower() == "saved_model.pb":          # the file of a SavedModel folder
        from srviewer.core.formats import saved_model

        return saved_model.load(path.parent, options)
    from srviewer.core.tf_runtime import device_description, tf

    t = tf()
    graph_def = _parse(t, path)
    placeholder = _find_input(graph_def, path.name)
    outputs = _find_outputs(graph_def, placeholder.name, path.name)
    notes = check_graph_def(graph_def, path.name, roots=outputs, trust_code=options.trust_code)

    def _import():
        t.compat.v1.import_graph_def(graph_def, name="")

    try:
        wrapped = t.compat.v1.wrap_function(_import, [])
        fn = wrapped.prune(feeds=f"{placeholder.name}:0", fetches=[f"{o}:0" for o in outputs])
    except Exception as exc:  # noqa: BLE001 - unknown ops, bad attributes, broken edges
        raise ModelFileError(f"{path.name}: TensorFlow cannot import the graph ({first_line(exc)})") from None

    in_dtype = dtype_name(t, placeholder.attr["dtype"].type)
    in_shape = shape_of(placeholder.attr["shape"].shape)
    out_info = [TensorInfo(name, tuple(s.shape.as_list()) if s.shape.rank is not None else (None,) * 4,
                           s.dtype.name) for name, s in zip(outputs, fn.outputs)]
    if len(outputs) > 1:
        notes.append(f"{len(outputs)} outputs: " + ", ".join(f"{o.name} {o.shape}" for o in out_info))

    def run(x: np.ndarray) -> list[np.ndarray]:
        ys = fn(t.constant(np.asarray(x), dtype=in_dtype))
        ys = ys if isinstance(ys, (list, tuple)) else [ys]
        return [np.asarray(y) for y in ys]

    return RawModel(format="tf_graph", run=run, inputs=[TensorInfo(placeholder.name, in_shape, in_dtype)],
                    outputs=out_info, device=device_description(), params=_count_params(graph_def), notes=notes)


FORMAT = ModelFormat(name="tf_graph", label="TensorFlow frozen graph", suffixes=(".pb",), folder=False,
                     matches=_matches, load=load)
