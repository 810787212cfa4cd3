"""A GAN run's resumable state small enough for the repository: RUN/compact_state.npz.

A full SRGAN checkpoint (generator, discriminator, two Adams, float32) is about 290 MB at the
paper's size: the discriminator's dense layer alone holds 18.9 M weights, and Adam keeps two
slots per weight. The compact state is one `.npz` (written atomically, loaded without pickle):

- every model variable (weights and batch-norm statistics) in float16;
- the step counter and each optimizer's iteration count exactly (int64), so the learning-rate
  schedule continues where it stopped;
- the optimizer slots in one of two ways (`slots=`):
  * "factored" (default): Adam's second moments v factored as in Adafactor (Shazeer & Stern 2018,
    "Adafactor: Adaptive Learning Rates with Sublinear Memory Cost", sec. 3): a tensor reshaped to
    (rows, columns) keeps its row and column sums, and is rebuilt as rows x columns / total, the
    rank-1 approximation that minimises the I-divergence to v. First moments (Adam's m, SGD's
    momentum) are dropped and restart at zero: Adam rebuilds them within about 1/(1 - beta1) =
    10 steps, and while it does its steps are smaller than the uninterrupted run's, never larger
    (m is an average that starts at 0 while v is already at scale). Vectors (biases, batch norm)
    keep v in bfloat16. About 2 bytes per weight: 50.7 MB at configs/srgan.json (25.1 M values).
  * "bf16": every slot in bfloat16 (float32's exponent range: Adam's v holds squared gradients
    around 1e-10 that float16 would flush to zero). About 6 bytes per weight: 150.9 MB (the float32 checkpoint: 301.4 MB).

Weights come back equal to their float16 rounding (relative error below 2^-11).
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from srviewer.core.atomic import atomic_write
from srviewer.errors import ModelFileError

FILE = "compact_state.npz"
FORMAT = 1
SLOT_MODES = ("factored", "bf16")


def to_bf16_bits(values: np.ndarray) -> np.ndarray:
    """float32 -> bfloat16 as uint16 bits, rounded to nearest even (NaN stays NaN)."""
    bits = np.ascontiguousarray(values, dtype=np.float32).view(np.uint32)
    rounded = ((bits + np.uint32(0x7FFF) + ((bits >> 16) & np.uint32(1))) >> 16).astype(np.uint16)
    return np.where(np.isnan(values), np.uint16(0x7FC0), rounded)


def from_bf16_bits(bits: np.ndarray) -> np.ndarray:
    return (bits.astype(np.uint32) << 16).view(np.float32)


def factor(v: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Row and column sums of a non-negative tensor seen as (prod(shape[:-1]), shape[-1])."""
    matrix = np.asarray(v, dtype=np.float64).reshape(-1, v.shape[-1])
    return matrix.sum(1).astype(np.float32), matrix.sum(0).astype(np.float32)


def unfactor(rows: np.ndarray, cols: np.ndarray, shape) -> np.ndarray:
    total = float(np.sum(rows, dtype=np.float64))
    if total <= 0:
        return np.zeros(shape, np.float32)
    return (np.outer(rows.astype(np.float64), cols) / total).astype(np.float32).reshape(shape)


def _groups(trainer) -> dict:
    """name -> (model or optimizer) of what the state holds."""
    groups = {"generator": trainer.generator, "g_opt": trainer.g_opt}
    if trainer.discriminator is not None:
        groups |= {"discriminator": trainer.discriminator, "d_opt": trainer.d_opt}
    return groups


def _velocities(opt) -> set:
    return {id(v) for v in getattr(opt, "_velocities", None) or []}


def save(trainer, path: Path, slots: str = "factored") -> int:
    """Write the trainer's compact state to `path` atomically; returns its size in bytes."""
    if slots not in SLOT_MODES:
        raise ValueError(f"slots must be one of {SLOT_MODES}, not {slots!r}")
    arrays: dict[str, np.ndarray] = {"step": np.array(int(trainer.step.numpy()), np.int64)}
    meta: dict = {"format": FORMAT, "slots": slots, "groups": {}}
    for group, obj in _groups(trainer).items():
        velocities = _velocities(obj)
        entries = []
        for i, var in enumerate(obj.variables if hasattr(obj, "apply_gradients") else obj.weights):
            value = np.asarray(var.numpy())
            key = f"{group}/{i}"
            entry = {"path": getattr(var, "path", var.name), "shape": list(value.shape), "how": "f16"}
            if hasattr(obj, "apply_gradients"):            # an optimizer
                if not np.issubdtype(value.dtype, np.floating) or value.size == 1:
                    entry["how"] = "exact"                    # iterations, a learning-rate variable
                elif slots == "bf16" or (id(var) in velocities and value.ndim < 2):
                    entry["how"] = "bf16"
                elif id(var) in velocities:
                    entry["how"] = "factored"
                else:
                    entry["how"] = "zero"                     # a first moment: rebuilt by the optimizer
            if entry["how"] == "exact":
                arrays[key] = value
            elif entry["how"] == "f16":
                arrays[key] = value.astype(np.float16)
            elif entry["how"] == "bf16":
                arrays[key] = to_bf16_bits(value)
            elif entry["how"] == "factored":
                arrays[key + "/rows"], arrays[key + "/cols"] = factor(value)
            entries.append(entry)
        meta["groups"][group] = entries
    arrays["meta"] = np.array(json.dumps(meta))
    path = Path(path)
    with atomic_write(path) as handle:
        np.savez(handle, **arrays)
    return path.stat().st_size


def exists(run_dir: Path) -> bool:
    return (Path(run_dir) / FILE).is_file()


def load(trainer, path: Path) -> dict:
    """Restore the trainer's models, optimizers and step from `path`; returns the file's meta
    (with "step"). A file for another model (other sizes, other layers) is refused in one line."""
    path = Path(path)
    try:
        data = np.load(path, allow_pickle=False)
        meta = json.loads(str(data["meta"]))
    except Exception as exc:  # noqa: BLE001 - a truncated or foreign file
        raise ModelFileError(f"{path} is not a compact training state ({exc})") from None
    groups = _groups(trainer)
    if meta.get("format") != FORMAT or set(meta.get("groups", {})) != set(groups):
        raise ModelFileError(f"{path} holds {sorted(meta.get('groups', {}))}, this run needs {sorted(groups)}")
    for group, obj in groups.items():
        variables = obj.variables if hasattr(obj, "apply_gradients") else obj.weights
        entries = meta["groups"][group]
        if len(entries) != len(variables):
            raise ModelFileError(f"{path}: {group} has {len(entries)} variables there, {len(variables)} here "
                                 f"(a different model: same --filters/--blocks/--patch?)")
        for i, (var, entry) in enumerate(zip(variables, entries)):
            if tuple(entry["shape"]) != tuple(var.shape):
                raise ModelFileError(f"{path}: {group} variable {entry['path']} is {entry['shape']} there, "
                                     f"{list(var.shape)} here (a different model)")
            key, how = f"{group}/{i}", entry["how"]
            if how in ("exact", "f16"):
                value = data[key]
            elif how == "bf16":
                value = from_bf16_bits(data[key])
            elif how == "factored":
                value = unfactor(data[key + "/rows"], data[key + "/cols"], var.shape)
            else:
                value = np.zeros(var.shape, np.float32)
            var.assign(np.asarray(value).astype(var.dtype.name if hasattr(var.dtype, "name") else var.dtype))
    trainer.step.assign(int(data["step"]))
    return meta | {"step": int(data["step"])}
