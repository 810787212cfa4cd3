"""A training run's degradation: `"degradation": {...}` in a config, fixed or sampled per patch.

Real-ESRGAN style: each training patch gets its own chain (core.degrade: blur -> downscale ->
noise -> JPEG), drawn from the spec with the sampler's random generator, so a run stays
deterministic in (seed, step). Keys are core.degrade's, each one of:
    a value            fixed:         "noise": 5, "kernel": "area", "jpeg": null (no JPEG)
    [low, high]        uniform range: "blur": [0.2, 3], "jpeg": [30, 95] (whole qualities)
    ["a", "b", ...]    a choice:      "kernel": ["matlab", "bilinear", "area"]
plus "val": "clean" (the default: validation keeps the papers' protocol, the kernel alone) or
"degraded" (each validation image gets one chain drawn with a fixed seed, the same at every
validation). A chain string ("blur=1,noise=5,jpeg=60") is a fixed spec. `blur_minor` makes the
blur anisotropic (with `angle`); a missing kernel is the run's --kernel.

Example: {"blur": [0, 2], "noise": [0, 15], "jpeg": [40, 95], "kernel": ["matlab", "bilinear", "area"]}
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from srviewer.core.degrade import KERNELS, NOISE_MODES, Chain, parse_chain
from srviewer.errors import DataError, DegradationError

_NUMERIC = ("blur", "blur_minor", "angle", "noise", "jpeg")
_CHOICES = {"kernel": KERNELS, "noise_mode": NOISE_MODES}
VAL_MODES = ("clean", "degraded")


@dataclass(frozen=True)
class DegradationSpec:
    values: dict = field(default_factory=dict)    # key -> fixed value | (low, high) | tuple of choices
    val: str = "clean"

    def sample(self, rng: np.random.Generator) -> Chain:
        """One chain: ranges drawn uniformly, choices uniformly, the noise seed from `rng` too."""
        chosen = {}
        for key, spec in self.values.items():
            if key in _CHOICES and isinstance(spec, tuple):
                chosen[key] = spec[int(rng.integers(0, len(spec)))]
            elif isinstance(spec, tuple):
                low, high = spec
                chosen[key] = int(rng.integers(low, high + 1)) if key == "jpeg" else float(rng.uniform(low, high))
            else:
                chosen[key] = spec
        return Chain(**chosen, seed=int(rng.integers(0, 2**62)))

    def validation_chain(self, index: int, seed: int = 0) -> Chain | None:
        """Validation image `index`'s chain: None (the clean protocol) unless val is "degraded"."""
        if self.val != "degraded":
            return None
        return self.sample(np.random.default_rng([seed, 1_000_003, index]))

    def describe(self) -> str:
        parts = [f"{k}={'..'.join(map(str, v)) if isinstance(v, tuple) and k not in _CHOICES else v}"
                 for k, v in self.values.items()]
        return ", ".join(p.replace("(", "").replace(")", "").replace("'", "") for p in parts)


def _bad(key: str, value, wants: str) -> DataError:
    return DataError(f"degradation {key}={value!r}: {wants}")


def parse_spec(spec, kernel: str = "matlab") -> DegradationSpec | None:
    """A config's "degradation" (dict, chain string or None) -> DegradationSpec; DataError if bad."""
    if spec is None or spec == {} or spec == "":
        return None
    if isinstance(spec, str):
        try:
            chain = parse_chain(spec, base=Chain(kernel=kernel))
        except DegradationError as exc:
            raise DataError(f"degradation: {exc}") from None
        values = {k: v for k, v in chain.as_dict().items() if k != "seed"}
        return DegradationSpec(values)
    if not isinstance(spec, dict):
        raise DataError("degradation must be a mapping of steps (or a chain string like blur=1,noise=5)")
    spec = dict(spec)
    val = spec.pop("val", "clean")
    if val not in VAL_MODES:
        raise _bad("val", val, "clean or degraded")
    values: dict = {"kernel": kernel}
    for key, value in spec.items():
        if key in _CHOICES:
            options = tuple(value) if isinstance(value, list) else (value,)
            bad = [v for v in options if v not in _CHOICES[key]]
            if bad or not options:
                raise _bad(key, value, f"one or a list of {', '.join(_CHOICES[key])}")
            values[key] = options if len(options) > 1 else options[0]
        elif key in _NUMERIC:
            if value is None:
                values[key] = None if key in ("jpeg", "blur_minor") else 0.0
            elif isinstance(value, list):
                if len(value) != 2 or not all(isinstance(v, (int, float)) for v in value) or value[0] > value[1]:
                    raise _bad(key, value, "a number or a range [low, high] with low <= high")
                values[key] = (value[0], value[1])
            elif isinstance(value, (int, float)) and not isinstance(value, bool):
                values[key] = value
            else:
                raise _bad(key, value, "a number or a range [low, high]")
        else:
            raise DataError(f"unknown degradation step {key!r} (keys: {', '.join(_NUMERIC + tuple(_CHOICES))}, val)")
    result = DegradationSpec(values, val)
    try:   # the extremes of every range must make a valid chain
        for pick in (0, 1):
            Chain(**{k: (v[pick] if isinstance(v, tuple) and k not in _CHOICES else
                         v[0] if isinstance(v, tuple) else v) for k, v in values.items()})
    except DegradationError as exc:
        raise DataError(f"degradation: {exc}") from None
    return result
