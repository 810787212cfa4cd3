"""The registry of upscalers, by name: bicubic, srcnn, srresnet, srgan and user models.

A method takes the LR image as HxWx3 float32 RGB in [0, 1] and returns the x`scale` image,
float32 RGB in [0, 1] (clipped). Learned methods load their model on first use (TensorFlow is
imported then, not when this module is), run it tile by tile through one compiled function, and
retry with smaller tiles when memory runs out. Shipped weights live in `weights/NAME.weights.h5`
with a `NAME.json` sidecar; a missing file makes the method unavailable, never a crash.
"""

from __future__ import annotations

import os
import threading
from pathlib import Path

import numpy as np

import srviewer
from srviewer.core.conventions import upscale_bicubic
from srviewer.errors import MethodUnavailable, ModelFileError

WEIGHTS_DIR = Path(os.environ.get("SRVIEWER_WEIGHTS", Path(srviewer.__file__).resolve().parents[1] / "weights"))
TILE_SIZES = (256, 128, 64, 32)     # LR tile sides tried in turn when memory runs out
OVERLAP = 16                        # LR pixels of context around each tile
SHIPPED = {
    "srcnn": ("SRCNN", "srviewer train srcnn --config configs/srcnn.json"),
    "srresnet": ("SRResNet", "srviewer train srresnet --config configs/srresnet.json"),
    "srgan": ("SRGAN", "srviewer train srgan --config configs/srgan.json"),
}


class Method:
    name: str = ""
    label: str = ""
    scale: int = 4

    def availability(self) -> tuple[bool, str]:
        return True, ""

    def upscale(self, rgb_float: np.ndarray, progress=None, cancel=None) -> np.ndarray:
        raise NotImplementedError


class BicubicMethod(Method):
    def __init__(self, kernel: str = "matlab", scale: int = 4, name: str = "bicubic"):
        self.name, self.kernel, self.scale = name, kernel, scale
        self.label = "Bicubic" + (" (OpenCV)" if kernel == "opencv" else "")

    def upscale(self, rgb_float, progress=None, cancel=None):
        if cancel is not None:
            cancel.raise_if_cancelled()
        out = upscale_bicubic(np.asarray(rgb_float, np.float32), self.scale, self.kernel)
        if progress is not None:
            progress(1.0)
        return np.clip(out, 0.0, 1.0)


class ModelMethod(Method):
    """A Keras model from a file, loaded on first use."""

    def __init__(self, name: str, path: Path, label: str | None = None, kernel: str = "matlab",
                 trust_code: bool = False, missing_hint: str = ""):
        self.name, self.path, self.kernel, self.trust_code = name, Path(path), kernel, trust_code
        self.label = label or name
        self.missing_hint = missing_hint
        self._loaded = None
        self._predict = None
        self._lock = threading.Lock()

    def availability(self):
        if not self.path.exists():
            hint = f": train it with `{self.missing_hint}`" if self.missing_hint else ""
            return False, f"{self._shown_path()} not found{hint}"
        return True, ""

    def _shown_path(self) -> str:
        try:
            return str(self.path.relative_to(WEIGHTS_DIR.parent))
        except ValueError:
            return str(self.path)

    def load(self):
        with self._lock:
            if self._loaded is None:
                ok, reason = self.availability()
                if not ok:
                    raise MethodUnavailable(f"{self.name}: {reason}")
                from srviewer.core import tf_runtime
                from srviewer.core.model_files import load_model_file

                tf_runtime.tf()
                self._loaded = load_model_file(self.path, trust_code=self.trust_code)
                self.scale = self._loaded.scale
                self._predict = tf_runtime.make_predictor(self._loaded.model, jit_compile=_use_xla())
        return self._loaded

    def upscale(self, rgb_float, progress=None, cancel=None):
        from srviewer.core.oom import run_with_oom_retry
        from srviewer.core.tiling import run_tiled

        loaded = self.load()
        x = np.asarray(rgb_float, np.float32)
        if loaded.input_kind == "bicubic":
            x = upscale_bicubic(x, loaded.scale, self.kernel)
            scale = 1
        else:
            scale = loaded.scale

        def fn(tile_in):
            return self._predict(tile_in[None])[0]

        def attempt(tile):
            return run_tiled(fn, x, scale=scale, tile=tile * (loaded.scale if scale == 1 else 1),
                             overlap=OVERLAP * (loaded.scale if scale == 1 else 1), progress=progress, cancel=cancel)

        out = run_with_oom_retry(attempt, TILE_SIZES)
        return np.clip(out, 0.0, 1.0)


def _use_xla() -> bool:
    return os.environ.get("SRVIEWER_XLA", "1") not in ("0", "off", "false")


class MethodRegistry:
    def __init__(self):
        self._methods: dict[str, Method] = {}

    def register(self, method: Method) -> Method:
        if method.name in self._methods:
            raise ValueError(f"a method named {method.name!r} is already registered")
        self._methods[method.name] = method
        return method

    def get(self, name: str) -> Method:
        try:
            return self._methods[name]
        except KeyError:
            raise KeyError(f"unknown method {name!r} (known: {', '.join(self._methods)})") from None

    def names(self) -> list[str]:
        return list(self._methods)

    def __iter__(self):
        return iter(list(self._methods.values()))

    def __contains__(self, name) -> bool:
        return name in self._methods

    def add_model_file(self, path, name: str | None = None, trust_code: bool = False) -> Method:
        """A user's model file as a method; loaded now, so a bad file fails here with its message."""
        path = Path(path)
        base = name or path.name.split(".")[0]
        unique, i = base, 2
        while unique in self._methods:
            unique, i = f"{base}_{i}", i + 1
        method = ModelMethod(unique, path, label=None, trust_code=trust_code)
        loaded = method.load()
        if name is None and loaded.label and loaded.label != path.stem:
            method.label = loaded.label
        else:
            method.label = unique
        return self.register(method)


def default_registry(weights_dir=None, kernel: str = "matlab") -> MethodRegistry:
    """bicubic plus the shipped learned methods (unavailable where their weights are missing)."""
    weights_dir = Path(weights_dir) if weights_dir else WEIGHTS_DIR
    registry = MethodRegistry()
    registry.register(BicubicMethod(kernel))
    for name, (label, train_command) in SHIPPED.items():
        registry.register(ModelMethod(name, weights_dir / f"{name}.weights.h5", label=label, kernel=kernel,
                                      missing_hint=train_command))
    return registry


def upscale_image(method: Method, loaded, progress=None, cancel=None):
    """A LoadedImage upscaled: colour through the method, alpha bicubic, bit depth kept."""
    from srviewer.core.images import LoadedImage, from_float, to_float

    sr = method.upscale(to_float(loaded.rgb), progress=progress, cancel=cancel)
    alpha = None
    if loaded.alpha is not None:
        alpha_f = upscale_bicubic(to_float(loaded.alpha)[..., None], method.scale, "matlab")[..., 0]
        alpha = from_float(alpha_f, loaded.bit_depth)
    return LoadedImage(rgb=from_float(sr, loaded.bit_depth), alpha=alpha, bit_depth=loaded.bit_depth,
                       is_grey=loaded.is_grey, path=None, notes=list(loaded.notes))


__all__ = ["Method", "BicubicMethod", "ModelMethod", "MethodRegistry", "default_registry", "upscale_image",
           "WEIGHTS_DIR", "ModelFileError"]
