"""The registry of upscalers, by name: bicubic, the shipped learned methods in lineage order (srcnn,
fsrcnn, espcn, vdsr, srresnet, srgan; core/lineage.py) and user models.

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
from srviewer.core.lineage import LINEAGE
from srviewer.errors import MethodUnavailable, ModelFileError, SrviewerError



def weights_dir() -> Path:
    """The shipped weights folder: $SRVIEWER_WEIGHTS, else the repository's weights/ (read at each call)."""
    env = os.environ.get("SRVIEWER_WEIGHTS")
    return Path(env) if env else Path(srviewer.__file__).resolve().parents[1] / "weights"


WEIGHTS_DIR = weights_dir()
MAX_TILE_PIXELS = 320 * 320         # LR pixels per model call (context included): the memory budget
OVERLAP = 16                        # LR pixels of context around each tile
VALUE_RANGES = {"0..1": (0.0, 1.0), "-1..1": (-1.0, 1.0), "0..255": (0.0, 255.0)}


def tile_sizes(first: int | None = None) -> tuple[int, ...]:
    """LR tile sides tried in turn when memory runs out: `first` (default: from MAX_TILE_PIXELS), halving to 32."""
    from srviewer.core.tiling import tile_for_budget

    size = int(first) if first else tile_for_budget(MAX_TILE_PIXELS, OVERLAP)
    sizes = [size]
    while sizes[-1] // 2 >= 32:
        sizes.append(sizes[-1] // 2)
    return tuple(sizes)


TILE_SIZES = tile_sizes()
# the learned methods shipped in weights/, in lineage order: name -> (label, the command that trains it)
SHIPPED = {step.name: (step.label, step.train_command) for step in LINEAGE if step.train_command}


class Method:
    """An upscaler. upscale(): HxWx3 float32 RGB [0, 1] LR in, (H*s)x(W*s)x3 float32 [0, 1] out (clipped)."""

    name: str = ""
    label: str = ""
    scale: int = 4

    def availability(self) -> tuple[bool, str]:
        return True, ""

    def upscale(self, rgb_float: np.ndarray, progress=None, cancel=None) -> np.ndarray:
        raise NotImplementedError


class BicubicMethod(Method):
    def __init__(self, kernel: str = "matlab", scale: int = 4, name: str = "bicubic"):
        from srviewer.core.conventions import KERNELS

        if kernel not in KERNELS:
            raise ValueError(f"unknown bicubic kernel {kernel!r} (choose {', '.join(KERNELS)})")
        self.name, self.kernel, self.scale = name, kernel, scale
        self.label = "Bicubic" + (" (OpenCV)" if kernel == "opencv" else "")

    def upscale(self, rgb_float, progress=None, cancel=None):
        if cancel is not None:
            cancel.raise_if_cancelled()
        out = upscale_bicubic(np.asarray(rgb_float, np.float32), self.scale, self.kernel)
        if progress is not None:
            progress(1.0)
        return np.clip(out, 0.0, 1.0, out=out)

    def upscale_native(self, rgb: np.ndarray, progress=None, cancel=None) -> np.ndarray:
        """HxWx3 uint8/uint16 -> the same dtype, equal to from_float(upscale(to_float(rgb))), computed
        strip by strip: a big photo never exists as a float image (`bicubic_stream`)."""
        from srviewer.core.bicubic_stream import upscale_native

        return upscale_native(rgb, self.scale, self.kernel, progress=progress, cancel=cancel)


class ModelMethod(Method):
    """A Keras model from a file, loaded on first use (TensorFlow is imported then).

    `value_range` is the range the model works in ("0..1", "-1..1" or "0..255"): inputs are mapped
    to it and outputs back. `tile` (LR pixels a side: tiles of up to (tile + 2*OVERLAP)^2 LR pixels,
    context included, in whatever grid costs least) overrides the memory-budget tile size;
    `jit_compile` None means $SRVIEWER_XLA (on, off, or auto by default: whichever is faster
    on this machine, `tf_runtime.xla_is_faster`); `precision` None means $SRVIEWER_PRECISION
    ("float32", the default, or "mixed": 16-bit compute, `tf_runtime.make_predictor`). The input
    kind "bicubic" feeds the model the bicubic-upscaled image (same kernel as the bicubic
    method). With a `process`
    (model_process.ModelProcess) the model is loaded and run in that child Python: this process
    never imports TensorFlow (the window's choice).
    """

    def __init__(self, name: str, path: Path, label: str | None = None, kernel: str = "matlab",
                 trust_code: bool = False, missing_hint: str = "", value_range: str = "0..1",
                 tile: int | None = None, jit_compile: bool | None = None, process=None,
                 precision: str | None = None):
        if value_range not in VALUE_RANGES:
            raise ValueError(f"value range must be one of {', '.join(VALUE_RANGES)}, not {value_range!r}")
        self.name, self.path, self.kernel, self.trust_code = name, Path(path), kernel, trust_code
        self.label = label or name
        self.missing_hint = missing_hint
        self.value_range, self.tile, self.jit_compile = value_range, tile, jit_compile
        self.precision = precision
        self.process = process
        self._loaded = None
        self._predict = None
        self._lock = threading.Lock()

    def availability(self):
        hint = f": train it with `{self.missing_hint}` or point $SRVIEWER_WEIGHTS at a folder that has it" \
            if self.missing_hint else ""
        if not self.path.exists():
            return False, f"{self._shown_path(self.path)} not found{hint}"
        if self.path.name.endswith(".weights.h5"):
            from srviewer.core.model_files import sidecar_path

            sidecar = sidecar_path(self.path)
            if not sidecar.exists():
                return False, f"{self._shown_path(sidecar)} not found (it says which architecture the weights are for)"
        return True, ""

    @staticmethod
    def _shown_path(path: Path) -> str:
        for base in (weights_dir().parent, Path.cwd()):
            try:
                return str(path.resolve().relative_to(base.resolve()))
            except ValueError:
                continue
        return str(path)

    def spec(self) -> dict:
        """The settings that name this model, as sent to a model process."""
        return {"name": self.name, "path": str(self.path), "label": self.label, "kernel": self.kernel,
                "trust_code": self.trust_code, "value_range": self.value_range, "tile": self.tile,
                "jit_compile": self.jit_compile, "precision": self.precision}

    def device_description(self) -> str:
        """Where this model runs: 'GPU: ...' or 'CPU: N threads' (TensorFlow's view, in the model process if any)."""
        if self.process is not None:
            return self.process.device()
        from srviewer.core.tf_runtime import device_description

        return device_description()

    def load(self):
        with self._lock:
            if self._loaded is None:
                ok, reason = self.availability()
                if not ok:
                    raise MethodUnavailable(f"{self.name}: {reason}")
                if self.process is not None:   # a RemoteLoaded: scale, input kind, label
                    self._loaded = self.process.request("load", self.spec())
                    self.scale = self._loaded.scale
                    return self._loaded
                from srviewer.core import tf_runtime
                from srviewer.core.model_files import load_model_file

                jit = _use_xla() if self.jit_compile is None else self.jit_compile
                precision = self.precision or _precision_from_env()
                tf_runtime.tf()
                loaded = load_model_file(self.path, trust_code=self.trust_code)
                self._predict = tf_runtime.make_predictor(loaded.model, jit_compile=jit, precision=precision)
                self._loaded, self.scale = loaded, loaded.scale
        return self._loaded

    def upscale(self, rgb_float, progress=None, cancel=None):
        from srviewer.core.oom import run_with_oom_retry
        from srviewer.core.tiling import run_tiled

        loaded = self.load()
        x = np.asarray(rgb_float, np.float32)
        if x.ndim != 3 or x.shape[2] != 3:
            raise ValueError(f"{self.name} wants an HxWx3 RGB image, got shape {x.shape}")
        if self.process is not None:
            return self.process.request("upscale", self.spec(), x, progress=progress, cancel=cancel)
        factor = 1
        if loaded.input_kind == "bicubic":
            x = upscale_bicubic(x, loaded.scale, self.kernel)
            factor = loaded.scale          # tiles are cut from the upscaled image
        lo, hi = VALUE_RANGES[self.value_range]
        if (lo, hi) != (0.0, 1.0):
            x = x * (hi - lo) + lo

        def fn(tile_in):
            return self._predict(tile_in[None])[0]

        def attempt(tile):   # tiles of up to (tile + 2 * OVERLAP)^2 LR pixels, in the cheapest grid
            return run_tiled(fn, x, scale=loaded.scale // factor, overlap=OVERLAP * factor, progress=progress,
                             cancel=cancel, max_pixels=((tile + 2 * OVERLAP) * factor) ** 2)

        out = run_with_oom_retry(attempt, tile_sizes(self.tile), what=self.label)
        if (lo, hi) != (0.0, 1.0):
            out = (out - lo) / (hi - lo)
        return np.clip(out, 0.0, 1.0, out=out)   # in place: a 4000x3000 LR gives a 2.3 GB result


def _use_xla() -> bool | None:
    """$SRVIEWER_XLA: on (1, true) or off (0, false); unset or auto: whichever is faster here (None)."""
    value = os.environ.get("SRVIEWER_XLA", "auto").strip().lower()
    choices = {"auto": None, "": None, "1": True, "on": True, "true": True, "0": False, "off": False, "false": False}
    if value not in choices:
        raise SrviewerError(f"SRVIEWER_XLA={value!r} is not a setting: use on, off or auto")
    return choices[value]


def _precision_from_env() -> str:
    """$SRVIEWER_PRECISION: float32 (the default) or mixed (16-bit compute, `tf_runtime.mixed_dtype`)."""
    from srviewer.core.tf_runtime import PRECISIONS

    value = os.environ.get("SRVIEWER_PRECISION", "float32").strip().lower() or "float32"
    if value not in PRECISIONS:
        raise SrviewerError(f"SRVIEWER_PRECISION={value!r} is not a setting: use {' or '.join(PRECISIONS)}")
    return value


class MethodRegistry:
    """Methods by name. With a `process`, learned models added from files run in that model process."""

    def __init__(self, process=None):
        self._methods: dict[str, Method] = {}
        self.process = process

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

    def add_model_file(self, path, name: str | None = None, trust_code: bool = False,
                       value_range: str = "0..1", kernel: str = "matlab") -> Method:
        """A user's model file as a method; loaded now, so a bad file fails here (ModelFileError)."""
        return self.register(self.load_model_file(path, name, trust_code, value_range, kernel))

    def load_model_file(self, path, name: str | None = None, trust_code: bool = False,
                        value_range: str = "0..1", kernel: str = "matlab") -> ModelMethod:
        """add_model_file without registering: the slow part (loading), safe to run on a worker
        thread; register the method afterwards (under `unique_name(method.name)`)."""
        path = Path(path)
        method = ModelMethod(self.unique_name(name or path.name.split(".")[0]), path, label=None,
                             trust_code=trust_code, value_range=value_range, kernel=kernel, process=self.process)
        loaded = method.load()
        if name is None and loaded.label and loaded.label != path.stem:
            method.label = loaded.label
        else:
            method.label = method.name
        return method

    def unique_name(self, base: str) -> str:
        """`base`, or base_2, base_3, ... whichever is not registered yet."""
        unique, i = base, 2
        while unique in self._methods:
            unique, i = f"{base}_{i}", i + 1
        return unique


def default_registry(weights_dir=None, kernel: str = "matlab", process=None) -> MethodRegistry:
    """bicubic plus the shipped learned methods (unavailable where their weights are missing).

    `process`: a model_process.ModelProcess to run the learned methods in (None: in this process).
    """
    folder = Path(weights_dir) if weights_dir else weights_dir_default()
    registry = MethodRegistry(process=process)
    registry.register(BicubicMethod(kernel))
    for name, (label, train_command) in SHIPPED.items():
        registry.register(ModelMethod(name, folder / f"{name}.weights.h5", label=label, kernel=kernel,
                                      missing_hint=train_command, process=process))
    return registry


weights_dir_default = weights_dir


def upscale_image(method: Method, loaded, progress=None, cancel=None):
    """A LoadedImage upscaled: colour through the method, alpha bicubic (MATLAB kernel), bit depth kept.

    Bicubic colour and the alpha plane are computed strip by strip at the image's depth
    (`bicubic_stream`): the same values as through float, without a float copy of the result.

    loaded.rgb: HxWx3 uint8/uint16; returns a LoadedImage of (H*s)x(W*s), same dtype, path None.
    """
    from srviewer.core.bicubic_stream import upscale_native
    from srviewer.core.images import LoadedImage, from_float, to_float

    if isinstance(method, BicubicMethod):   # strip by strip at the image's depth: bounded memory
        rgb = method.upscale_native(loaded.rgb, progress=progress, cancel=cancel)
    else:
        rgb = from_float(method.upscale(to_float(loaded.rgb), progress=progress, cancel=cancel), loaded.bit_depth)
    alpha = None
    if loaded.alpha is not None:
        alpha = upscale_native(loaded.alpha, method.scale, "matlab")
    return LoadedImage(rgb=rgb, alpha=alpha, bit_depth=loaded.bit_depth,
                       is_grey=loaded.is_grey, path=None, notes=list(loaded.notes))


__all__ = ["Method", "BicubicMethod", "ModelMethod", "MethodRegistry", "default_registry", "upscale_image",
           "WEIGHTS_DIR", "weights_dir", "tile_sizes", "ModelFileError"]
