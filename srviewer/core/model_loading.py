"""Any model file or folder -> the one Predictor srviewer uses (model_conventions.Predictor).

    path --(sidecar "model_format", else formats.format_for)--> ModelFormat.load --> RawModel
         --(file's declarations < sidecar < overrides; convention_detect for the rest)--> Convention
         --> Predictor (Keras keeps tf_runtime.make_predictor's compiled fast path)

A detected convention is written to the sidecar (sidecar.py) so the user can read and edit it.
"""

from __future__ import annotations

from pathlib import Path

from srviewer.core import sidecar
from srviewer.core.formats import LoadOptions, by_name, format_for
from srviewer.core.model_conventions import Convention, Predictor
from srviewer.errors import ModelFileError

OVERRIDE_KEYS = ("layout", "channels", "range")
_SIDECAR_TO_FIELD = {"input": "input_kind"}


def stated_fields(raw_declared: dict, spec: dict | None, overrides: dict | None) -> tuple[dict, dict]:
    """(fields, sources): the convention fields the file, the sidecar and the overrides state, later winning."""
    fields, sources = {}, {}
    layers = (("declared by the file", {k: v for k, v in raw_declared.items() if k != "label"}),
              ("sidecar", {_SIDECAR_TO_FIELD.get(k, k): v for k, v in sidecar.convention_fields(spec).items()}),
              ("override", {k: v for k, v in (overrides or {}).items() if v is not None}))
    for source, values in layers:
        for key, value in values.items():
            fields[key], sources[key] = value, source
    return fields, sources


def _all_stated(fields: dict, raw) -> bool:
    """A Keras file in srviewer's convention needs no detection run (load_model_file probed it, or its
    kept fold: folded_store)."""
    return all(k in fields for k in ("layout", "channels", "range", "scale", "input_kind")) and len(raw.outputs) <= 1


def convention_for(raw, fields: dict, sources: dict, wanted: int | None, kernel: str) -> tuple[Convention, bool]:
    """(convention, detected): detected is False when everything was stated."""
    from srviewer.core.convention_detect import detect

    if _all_stated(fields, raw) and (raw.keras_model is not None or raw.folded is not None):
        conv = Convention(layout=fields["layout"], channels=fields["channels"], range=fields["range"],
                          scale=int(fields["scale"]), input_kind=fields["input_kind"],
                          fixed_size=_keras_fixed_size(raw), overlap=int(fields.get("overlap", 16)))
        conv.evidence = {k: f"{sources[k]}: {fields[k]}" for k in ("layout", "channels", "range", "scale", "input_kind")}
        conv.check()
        return conv, False
    return detect(raw, fields, sources, wanted, kernel), True


def _keras_fixed_size(raw):
    shape = raw.inputs[0].shape if raw.inputs else ()
    if len(shape) == 4 and isinstance(shape[1], int) and isinstance(shape[2], int):
        return (shape[1], shape[2])
    return None


def load_predictor(path, options: LoadOptions | None = None, overrides: dict | None = None, kernel: str = "matlab",
                   jit_compile: bool | None = None, precision: str = "float32", write_sidecar: bool = True) -> Predictor:
    """Load `path` (any registered format) as a Predictor; ModelFileError with one line on failure.

    overrides: {"range": "0..255", "channels": "bgr", "layout": "nchw"} (None values ignored): they win.
    """
    path = Path(path)
    options = options or LoadOptions()
    if not path.exists():
        raise ModelFileError(f"{path}: no such model file or folder")
    if path.is_file() and path.stat().st_size == 0:
        raise ModelFileError(f"{path}: the model file is empty")
    fmt, spec, foreign = _format_and_sidecar(path)
    raw = fmt.load(path, options)
    if foreign:
        raw.notes.append(foreign)
    fields, sources = stated_fields(raw.declared, spec, overrides)
    conv, detected = convention_for(raw, fields, sources, options.scale, kernel)
    recorded = (spec or {}).get("evidence") or {}
    for key, why in list(conv.evidence.items()):      # what detection found when it wrote the sidecar
        if why.startswith("sidecar:") and isinstance(recorded.get(key), str) and not recorded[key].startswith("sidecar:"):
            conv.evidence[key] = f"{why} (written after detection: {recorded[key]})"
    label = (spec or {}).get("label") or raw.declared.get("label") or path.name.split(".")[0]
    predictor = Predictor(raw, conv, label, kernel, run=_fast_run(raw, conv, jit_compile, precision))
    if detected and write_sidecar and not foreign and not (spec and all(k in spec for k in ("layout", "channels", "range"))):
        written = sidecar.write_detected(path, fmt.name, label, conv.as_dict(), raw.params)
        predictor.notes.append(f"convention written to {written.name}" if written else
                               f"could not write {sidecar.sidecar_path(path).name} (folder not writable)")
    return predictor


def _format_and_sidecar(path: Path):
    """(format, sidecar dict or None, note or ""). The sidecar's "model_format" chooses the loader for a
    name no format claims; a sidecar naming another format than the file's own (model.onnx beside
    model.pb share model.json) belongs to that other file: it is not used, and said so."""
    spec = sidecar.read(path)
    named = (spec or {}).get("model_format")
    try:
        guessed = format_for(path)
    except ModelFileError:
        if not named:
            raise
        return by_name(named), spec, ""
    if named and named != guessed.name:
        return guessed, None, (f"{sidecar.sidecar_path(path).name} describes a {named} file, not this "
                               f"{guessed.label} one: not used")
    return guessed, spec, ""


def _fast_run(raw, conv: Convention, jit_compile, precision):
    """Keras, NHWC RGB/BGR, one output: tf_runtime.make_predictor (one compiled function, sr_resnet fast path)."""
    model = raw.folded or raw.keras_model
    if model is None or conv.layout != "nhwc" or conv.channels == "y" or len(raw.outputs) > 1:
        return None
    from srviewer.core import tf_runtime

    per_lr_pixel = conv.scale ** 2 if conv.input_kind == "bicubic" else 1    # the model sees the upscaled image
    predict = tf_runtime.make_predictor(model, jit_compile=jit_compile, precision=precision,
                                        xla_min_pixels=tf_runtime.XLA_MIN_PIXELS * per_lr_pixel)

    def run(x):
        return [predict(x)]

    run.predict = predict  # type: ignore[attr-defined]
    return run
