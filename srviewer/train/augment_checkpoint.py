"""Per-variant checkpoints of the augmentation experiment (weights + optimizer + position).

Layout: RUN/checkpoints/<variant>/ckpt_NNNNNN.weights.h5 (Keras weights),
ckpt_NNNNNN.optimizer.npz (every optimizer variable, in `optimizer.variables` order) and
state.json, written last, naming the generation NNNNNN that is complete:
  {"variant", "epoch": epochs completed, "batch": batches done in epoch `epoch`,
   "sums": {"loss", "correct", "count"} of that partial epoch, "history": [epoch records],
   "done": bool, "generation": N}
Every file goes through core.atomic, and state.json moves to a new generation only once its
files are on disk, so a run killed at any moment resumes from the last complete checkpoint.
Older generations are removed after the switch. TensorFlow/Keras objects come in as arguments.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from srviewer.core.atomic import atomic_path, atomic_write, atomic_write_json

STATE_FILE = "state.json"


def variant_dir(run_dir, variant: str) -> Path:
    return Path(run_dir) / "checkpoints" / variant


def read_state(run_dir, variant: str) -> dict | None:
    path = variant_dir(run_dir, variant) / STATE_FILE
    if not path.exists():
        return None
    return json.loads(path.read_text(encoding="utf-8"))


def fresh_state(variant: str) -> dict:
    return {"variant": variant, "epoch": 0, "batch": 0, "sums": {"loss": 0.0, "correct": 0.0, "count": 0},
            "history": [], "done": False, "generation": 0, "step": 0}


def _names(generation: int) -> tuple[str, str]:
    stem = f"ckpt_{generation:06d}"
    return f"{stem}.weights.h5", f"{stem}.optimizer.npz"


def save(run_dir, state: dict, model, optimizer) -> Path:
    """Write weights, optimizer and then state (generation + 1). Returns the weights path."""
    folder = variant_dir(run_dir, state["variant"])
    folder.mkdir(parents=True, exist_ok=True)
    previous = int(state.get("generation", 0))
    generation = previous + 1
    weights_name, opt_name = _names(generation)
    with atomic_path(folder / weights_name, suffix=".weights.h5") as tmp:
        model.save_weights(str(tmp))
    with atomic_write(folder / opt_name, "wb") as handle:
        np.savez(handle, *[np.asarray(v.numpy()) for v in optimizer.variables])
    state = {**state, "generation": generation}
    atomic_write_json(folder / STATE_FILE, state)
    for old in folder.glob("ckpt_*"):
        if not old.name.startswith(f"ckpt_{generation:06d}."):
            old.unlink(missing_ok=True)
    return folder / weights_name


def load(run_dir, state: dict, model, optimizer) -> None:
    """Restore the weights and optimizer variables of state's generation into model/optimizer."""
    folder = variant_dir(run_dir, state["variant"])
    weights_name, opt_name = _names(int(state["generation"]))
    model.load_weights(str(folder / weights_name))
    with np.load(folder / opt_name) as arrays:
        values = [arrays[f"arr_{i}"] for i in range(len(arrays.files))]
    variables = optimizer.variables
    if len(values) != len(variables):
        raise ValueError(f"optimizer checkpoint has {len(values)} variables, the optimizer {len(variables)}")
    for var, value in zip(variables, values):
        var.assign(value)


def mark_done(run_dir, state: dict) -> None:
    """The variant finished: keep its last weights, record done (no new generation)."""
    atomic_write_json(variant_dir(run_dir, state["variant"]) / STATE_FILE, {**state, "done": True})
