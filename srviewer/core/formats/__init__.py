"""The registry of model formats: one module per format, each defining FORMAT = ModelFormat(...).

A format module must not import TensorFlow or onnxruntime at import time (its `load` does), so
listing the formats (the window's file filter, the CLI's help) stays instant. A module listed in
_FORMAT_MODULES but not present is skipped, so formats can land one at a time. `load(path,
options) -> RawModel` (raw.py) loads the file exactly as stored; `model_conventions` does the rest.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from srviewer.core.formats.raw import LoadOptions, RawModel, TensorInfo
from srviewer.errors import ModelFileError

_FORMAT_MODULES = ("keras", "onnx", "tf_graph", "saved_model", "tflite")


@dataclass(frozen=True)
class ModelFormat:
    name: str                        # "onnx": the module's name, the sidecar's "model_format"
    label: str                       # "ONNX": for people
    suffixes: tuple[str, ...]        # (".onnx",): lower case, with the dot; for a folder format, () or hints
    folder: bool                     # True: the model is a folder (SavedModel)
    matches: Callable[[Path], bool]  # is this path one of ours? (cheap: name and at most a header)
    load: Callable[[Path, LoadOptions], RawModel]


_formats: list[ModelFormat] | None = None


def formats() -> list[ModelFormat]:
    """Every format whose module is present, in _FORMAT_MODULES order."""
    global _formats
    if _formats is None:
        found = []
        for name in _FORMAT_MODULES:
            try:
                module = importlib.import_module(f"{__name__}.{name}")
            except ModuleNotFoundError as exc:
                if exc.name != f"{__name__}.{name}":
                    raise
                continue
            found.append(module.FORMAT)
        _formats = found
    return list(_formats)


def by_name(name: str) -> ModelFormat:
    for fmt in formats():
        if fmt.name == name:
            return fmt
    raise ModelFileError(f"unknown model format {name!r} (known: {', '.join(f.name for f in formats())})")


def _known() -> str:
    parts = []
    for fmt in formats():
        what = "a folder" if fmt.folder else "/".join(fmt.suffixes)
        parts.append(f"{fmt.label} ({what})")
    return ", ".join(parts)


def format_for(path) -> ModelFormat:
    """The format of `path` (a file or a folder); ModelFileError naming the known formats."""
    path = Path(path)
    if not path.exists():
        raise ModelFileError(f"{path}: no such model file or folder")
    for fmt in formats():
        if fmt.folder == path.is_dir() and fmt.matches(path):
            return fmt
    what = "folder" if path.is_dir() else "file"
    raise ModelFileError(f"{path.name}: not a model {what} srviewer knows (known: {_known()})")


def file_dialog_filter() -> str:
    """A Qt file-dialog filter: all model files first, then one entry per file format."""
    patterns = [f"*{s}" for fmt in formats() if not fmt.folder for s in fmt.suffixes]
    entries = [f"Model files ({' '.join(dict.fromkeys(patterns))})"]
    entries += [f"{fmt.label} ({' '.join('*' + s for s in fmt.suffixes)})"
                for fmt in formats() if not fmt.folder and fmt.suffixes]
    return ";;".join(entries + ["All files (*)"])


def folder_formats() -> list[ModelFormat]:
    return [fmt for fmt in formats() if fmt.folder]


def help_text() -> str:
    """One line for --model's help: the formats srviewer reads."""
    return "a model file or folder: " + _known()


__all__ = ["ModelFormat", "LoadOptions", "RawModel", "TensorInfo", "formats", "format_for", "by_name",
           "file_dialog_filter", "folder_formats", "help_text"]
