"""The shipped training recipes: configs/NAME.json, the settings that trained weights/NAME.weights.h5.

A recipe is offered under the name of the weights it trained (the label in weights/NAME.json,
e.g. "SRResNet"), so a user who wants to retrain a shipped model starts from exactly its settings.
`form_values(recipe)` turns one into the Training tab's form values: the fields the form has
(kind, steps, batch, learning rate, intervals, content loss, start-from, and in `options` the
kind's model and optimiser settings, train/kinds.py), the data and validation folders only where
they exist on this machine, and every other setting as flags in `extra`.
Qt-free and TensorFlow-free.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path

import srviewer
from srviewer.train.kinds import LABELS, flag_args, kind_options, option
from srviewer.train.sr_config import KINDS, read_config_file

FORM_FIELDS = ("steps", "batch", "lr", "checkpoint_every", "val_every", "content_loss")
PATH_FIELDS = ("data", "val", "init")


def configs_dir() -> Path:
    """$SRVIEWER_CONFIGS, else the repository's configs/ (read at each call)."""
    env = os.environ.get("SRVIEWER_CONFIGS")
    return Path(env) if env else Path(srviewer.__file__).resolve().parents[1] / "configs"


@dataclass(frozen=True)
class Recipe:
    name: str                 # the weights' name: srresnet (weights/srresnet.weights.h5)
    label: str                # what the list shows: "SRResNet (shipped weights)"
    path: Path                # configs/srresnet.json
    weights: Path | None      # weights/srresnet.weights.h5 when it is there


def shipped_recipes(folder: str | os.PathLike | None = None,
                    weights: str | os.PathLike | None = None) -> list[Recipe]:
    """Every configs/NAME.json whose NAME is a training kind, in kind order; labelled after the
    weights it trained (their sidecar's label) where they are present."""
    from srviewer.core.methods import weights_dir

    folder = Path(folder) if folder else configs_dir()
    weights = Path(weights) if weights else weights_dir()
    found = []
    for path in sorted(folder.glob("*.json")) if folder.is_dir() else []:
        name = path.stem
        kind = _kind_of(path)
        if kind is None:
            continue
        weights_file = weights / f"{name}.weights.h5"
        label = LABELS.get(name, name)                   # "ESPCN" before its weights exist
        try:
            label = json.loads((weights / f"{name}.json").read_text(encoding="utf-8")).get("label") or name
        except (OSError, ValueError, AttributeError):
            pass
        shown = f"{label} (shipped weights)" if weights_file.exists() else f"{label} (recipe)"
        found.append(Recipe(name, shown, path, weights_file if weights_file.exists() else None))
    order = {kind: i for i, kind in enumerate(KINDS)}
    return sorted(found, key=lambda r: (order.get(_kind_of(r.path), len(order)), r.name))


def _kind_of(path: Path) -> str | None:
    """The training kind a recipe is for: its "kind" setting, else its file name."""
    try:
        kind = json.loads(path.read_text(encoding="utf-8")).get("kind", path.stem)
    except (OSError, ValueError, AttributeError):
        return None
    return kind if kind in KINDS else None


def form_values(recipe: Recipe) -> tuple[dict, dict[str, str]]:
    """(the form's values for this recipe, notes for the user by field: "data", "val"). Relative
    paths resolve against the recipe file's folder, as `srviewer train --config` does; data or
    validation folders missing on this machine are left out of the values (the form keeps its
    own) and named in the notes."""
    settings = read_config_file(recipe.path)
    base = recipe.path.resolve().parent
    values: dict = {"kind": _kind_of(recipe.path)}
    notes: dict[str, str] = {}
    for name in FORM_FIELDS:
        if name in settings:
            values[name] = settings[name]
    data = settings.get("data")
    data = [data] if isinstance(data, str) else list(data or [])
    folders = [str((base / d).resolve()) for d in data]
    if folders and all(Path(f).is_dir() for f in folders):
        values["data"] = ",".join(folders)
    elif folders:
        notes["data"] = (f"the recipe's data ({', '.join(Path(f).name for f in folders)}) is not on this "
                         "machine: the data choice is kept")
    val = settings.get("val")
    if isinstance(val, str) and val.lower() != "none":
        folder = (base / val).resolve()
        if folder.is_dir():
            values["val"] = str(folder)
        else:
            notes["val"] = f"the recipe's validation folder {folder.name} is not on this machine"
    init = settings.get("init")
    values["init"] = str((base / init).resolve()) if isinstance(init, str) else ""
    shown = kind_options(values["kind"])          # the form's fields for this kind's model and optimiser:
    values["options"] = {name: settings[name] if settings.get(name) is not None else option(name).default
                         for name in shown}        # what `--config` trains, a setting left out at its default
    extra: list[str] = []
    for name, value in settings.items():
        if name in FORM_FIELDS or name in PATH_FIELDS or name in shown or name == "kind" or value is None:
            continue
        extra += flag_args(name, value)
    values["extra"] = " ".join(extra)
    return values, notes
