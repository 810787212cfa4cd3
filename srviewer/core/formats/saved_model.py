"""TensorFlow SavedModel folders (`saved_model.pb` + `variables/`): TF Hub's ESRGAN, `model.export`,
`tf.saved_model.save`, and old TensorFlow 1 `SavedModelBuilder` exports.

The MetaGraph tagged "serve" (or the only one) and its `serving_default` signature (or the only
signature) are used; the signature must take one input, and every output it names is reported
(sorted by key, so `output_0, output_1, ...`). Before TensorFlow loads anything, every operation
the MetaGraph may run is checked against the allow-list (graph_safety.check_meta_graph). Then
`tf.saved_model.load` restores it; a TensorFlow 1 SavedModel (no object graph) that it cannot
restore is loaded with TensorFlow 1's loader into its own Session instead, with a note saying so.
TensorFlow is imported by `load`, never by importing this module.
"""

from __future__ import annotations

import logging
import re
from pathlib import Path

import numpy as np

from srviewer.core.formats import ModelFormat
from srviewer.core.formats.graph_safety import check_meta_graph
from srviewer.core.formats.raw import LoadOptions, RawModel, TensorInfo
from srviewer.core.formats.tf_graph import dtype_name, first_line, shape_of
from srviewer.errors import ModelFileError

_INIT_SIGNATURE = "__saved_model_init_op"


def _matches(path: Path) -> bool:
    """Any folder: one without saved_model.pb is then refused by `load` with a line saying so."""
    return path.is_dir()


def _natural(key: str):
    return [int(p) if p.isdigit() else p for p in re.split(r"(\d+)", key)]


def _read(folder: Path):
    from google.protobuf import text_format
    from tensorflow.core.protobuf import saved_model_pb2

    saved = saved_model_pb2.SavedModel()
    pb, pbtxt = folder / "saved_model.pb", folder / "saved_model.pbtxt"
    try:
        if pb.is_file():
            saved.ParseFromString(pb.read_bytes())
        elif pbtxt.is_file():
            text_format.Parse(pbtxt.read_text(encoding="utf-8"), saved)
        else:
            raise ModelFileError(f"{folder.name}: not a SavedModel folder (no saved_model.pb in it)")
    except ModelFileError:
        raise
    except Exception as exc:  # noqa: BLE001 - DecodeError, ParseError, UnicodeDecodeError
        raise ModelFileError(f"{folder.name}: saved_model.pb is not a SavedModel (truncated or corrupt: "
                             f"{first_line(exc)})") from None
    if not saved.meta_graphs:
        raise ModelFileError(f"{folder.name}: the SavedModel holds no MetaGraph")
    return saved


def _meta_graph(saved, what: str):
    serving = [mg for mg in saved.meta_graphs if "serve" in mg.meta_info_def.tags]
    if serving:
        return serving[0]
    if len(saved.meta_graphs) == 1:
        return saved.meta_graphs[0]
    tags = "; ".join(",".join(mg.meta_info_def.tags) for mg in saved.meta_graphs)
    raise ModelFileError(f"{what}: no MetaGraph tagged 'serve' among several (tags: {tags})")


def _signature(meta_graph, what: str):
    keys = [k for k in meta_graph.signature_def if k != _INIT_SIGNATURE]
    if "serving_default" in keys:
        key = "serving_default"
    elif len(keys) == 1:
        key = keys[0]
    else:
        raise ModelFileError(f"{what}: no 'serving_default' signature"
                             + (f" (it has {', '.join(sorted(keys))})" if keys else " (no signatures at all)"))
    sig = meta_graph.signature_def[key]
    if len(sig.inputs) != 1:
        raise ModelFileError(f"{what}: signature {key!r} takes {len(sig.inputs)} inputs "
                             f"({', '.join(sorted(sig.inputs))}); srviewer runs models with one image input")
    if not sig.outputs:
        raise ModelFileError(f"{what}: signature {key!r} has no outputs")
    return key, sig


def _infos(tf, tensors, keys) -> list[TensorInfo]:
    return [TensorInfo(k, shape_of(tensors[k].tensor_shape), dtype_name(tf, tensors[k].dtype)) for k in keys]


def _load_v2(t, folder: Path, tags, key, in_key, out_keys, tf1_style: bool):
    tf_log = logging.getLogger("tensorflow")
    level = tf_log.level
    if tf1_style:   # "Unable to create a python object for variable ... reference variable", per variable
        tf_log.setLevel(logging.ERROR)
    try:
        loaded = t.saved_model.load(str(folder), tags=tags)
    finally:
        tf_log.setLevel(level)
    fn = loaded.signatures[key]

    def run(x: np.ndarray) -> list[np.ndarray]:
        out = fn(**{in_key: t.constant(np.asarray(x), dtype=fn.structured_input_signature[1][in_key].dtype)})
        return [np.asarray(out[k]) for k in out_keys]

    params = sum(int(np.prod(v.shape)) for v in fn.variables) if fn.variables else _checkpoint_params(t, folder)
    return run, params, loaded


def _checkpoint_params(t, folder: Path) -> int | None:
    """Elements of the variables stored in the folder's checkpoint (a TF 1 signature keeps none)."""
    try:
        shapes = t.train.load_checkpoint(str(folder / "variables" / "variables")).get_variable_to_shape_map()
    except Exception:  # noqa: BLE001 - no or unreadable checkpoint: unknown
        return None
    return sum(int(np.prod(shape)) for name, shape in shapes.items() if not name.startswith("_CHECKPOINTABLE")) or None


def _load_v1(t, folder: Path, tags, sig, in_key, out_keys):
    graph = t.Graph()
    session = t.compat.v1.Session(graph=graph)
    with graph.as_default():
        t.compat.v1.saved_model.loader.load(session, tags, str(folder))
        params = sum(int(np.prod(v.shape.as_list())) for v in t.compat.v1.global_variables()) or None
    feed = sig.inputs[in_key].name
    fetches = [sig.outputs[k].name for k in out_keys]

    def run(x: np.ndarray) -> list[np.ndarray]:
        return [np.asarray(y) for y in session.run(fetches, {feed: x})]

    return run, params, session


def load(path: Path, options: LoadOptions) -> RawModel:
    """Load a SavedModel folder (see the module docstring); every failure is one ModelFileError line."""
    folder = Path(path)
    if not folder.is_dir():
        folder = folder.parent
    saved = _read(folder)
    what = folder.name
    meta_graph = _meta_graph(saved, what)
    key, sig = _signature(meta_graph, what)
    notes = check_meta_graph(meta_graph, what, trust_code=options.trust_code)

    from srviewer.core.tf_runtime import device_description, tf

    t = tf()
    tags = list(meta_graph.meta_info_def.tags)
    in_key = next(iter(sig.inputs))
    out_keys = sorted(sig.outputs, key=_natural)
    tf1_style = len(meta_graph.object_graph_def.nodes) == 0
    try:
        run, params, keep = _load_v2(t, folder, tags, key, in_key, out_keys, tf1_style)
    except Exception as exc:  # noqa: BLE001 - TensorFlow raises many types here
        if not tf1_style:
            raise ModelFileError(f"{what}: TensorFlow cannot load the SavedModel ({first_line(exc)})") from None
        try:
            run, params, keep = _load_v1(t, folder, tags, sig, in_key, out_keys)
        except Exception as exc1:  # noqa: BLE001
            raise ModelFileError(f"{what}: TensorFlow cannot load the SavedModel, with either loader "
                                 f"({first_line(exc1)})") from None
        notes.append(f"a TensorFlow 1 SavedModel that tf.saved_model.load cannot restore "
                     f"({first_line(exc, 100)}): loaded with TensorFlow 1's loader")
    outputs = _infos(t, sig.outputs, out_keys)
    if len(outputs) > 1:
        notes.append(f"{len(outputs)} outputs: " + ", ".join(f"{o.name} {o.shape}" for o in outputs))
    run.keep_alive = keep   # the loaded object / Session lives as long as `run`
    return RawModel(format="saved_model", run=run, inputs=_infos(t, sig.inputs, [in_key]), outputs=outputs,
                    device=device_description(), params=params, notes=notes)


FORMAT = ModelFormat(name="saved_model", label="TensorFlow SavedModel", suffixes=(), folder=True,
                     matches=_matches, load=load)
