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
from srviewer.core.tiling import tile_sizes  # the one tile budget (re-exported)
from srviewer.errors import MethodUnavailable, ModelFileError, SrviewerError



def weights_dir() -> Path:
    """The shipped weights folder: $SRVIEWER_WEIGHTS, else the repository's weights/ (read at each call)."""
    env = os.environ.get("SRVIEWER_WEIGHTS")
    return Path(env) if env else Path(srviewer.__file__).resolve().parents[1] / "weights"


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
        out = upscale_bicubic(np.asarray(rgb_float, np.float32), self.scale, self.kernel, clip=(0.0, 1.0))
        if progress is not None:
            progress(1.0)
        return out

    def upscale_native(self, rgb: np.ndarray, progress=None, cancel=None) -> np.ndarray:
        """HxWx3 uint8/uint16 -> the same dtype, equal to from_float(upscale(to_float(rgb))), computed
        strip by strip: a big photo never exists as a float image (`bicubic_stream`)."""
        from srviewer.core.bicubic_stream import upscale_native

        return upscale_native(rgb, self.scale, self.kernel, progress=progress, cancel=cancel)


class ModelMethod(Method):
    """A model file or folder of any registered format (core/formats), loaded on first use.

    Loading goes through `model_loading.load_predictor`: the format's loader, then the model's
    convention (declared by the file, stated by its sidecar, found by running a probe) turned
    into a Predictor that takes and returns RGB [0, 1]. `value_range` ("0..1", "-1..1",
    "0..255") and `channels` ("rgb", "bgr", "y") are overrides that win over everything; None
    lets the file, the sidecar or the detection decide. `scale` is the comparison's: a model of
    another scale is refused with one line, unless `repeat` runs it that many times to reach it
    (a x2 model twice for x4). `tile` (LR pixels a side: tiles of up to (tile + 2*overlap)^2 LR
    pixels, context included, in whatever grid costs least) overrides the memory-budget tile
    size; a fixed-input model is tiled at exactly its size. `jit_compile` None means $SRVIEWER_XLA
    (on, off, or auto by default: whichever is faster on this machine, `tf_runtime.xla_is_faster`);
    `precision` None means $SRVIEWER_PRECISION ("float32", the default, or "mixed": 16-bit compute,
    `tf_runtime.make_predictor`); both apply to Keras models. The input kind "bicubic" feeds the
    model the bicubic-upscaled image (same kernel as the bicubic method). With a `process`
    (model_process.ModelProcess) the model is loaded and run in that child Python: this process
    never imports TensorFlow (the window's choice).
    """

    def __init__(self, name: str, path: Path, label: str | None = None, kernel: str = "matlab",
                 trust_code: bool = False, missing_hint: str = "", value_range: str | None = None,
                 tile: int | None = None, jit_compile: bool | None = None, process=None,
                 precision: str | None = None, channels: str | None = None, repeat: int = 1, scale: int = 4):
        from srviewer.core.model_conventions import CHANNELS, RANGES

        if value_range is not None and value_range not in RANGES:
            raise ValueError(f"value range must be one of {', '.join(RANGES)}, not {value_range!r}")
        if channels is not None and channels not in CHANNELS:
            raise ValueError(f"channels must be one of {', '.join(CHANNELS)}, not {channels!r}")
        if int(repeat) < 1:
            raise ValueError(f"repeat must be 1 or more, not {repeat!r}")
        self.name, self.path, self.kernel, self.trust_code = name, Path(path), kernel, trust_code
        self.label = label or name
        self.missing_hint = missing_hint
        self.value_range, self.tile, self.jit_compile = value_range, tile, jit_compile
        self.channels, self.repeat, self.scale, self.wanted_scale = channels, int(repeat), scale, scale
        self.precision = precision
        self.process = process
        self._loaded = None
        self._lock = threading.Lock()

    def availability(self):
        hint = f": train it with `{self.missing_hint}` or point $SRVIEWER_WEIGHTS at a folder that has it" \
            if self.missing_hint else ""
        if not self.path.exists():
            return False, f"{self._shown_path(self.path)} not found{hint}"
        if self.path.name.endswith(".weights.h5"):
            from srviewer.core.sidecar import sidecar_path

            sidecar = sidecar_path(self.path)
            if not sidecar.exists():
                return False, f"{self._shown_path(sidecar)} not found (it says which architecture the weights are for)"
        return True, ""

    def train_hint(self) -> str:
        """The command that trains this shipped method's weights when the file is missing, else ''."""
        return self.missing_hint if self.missing_hint and not self.path.exists() else ""

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
                "jit_compile": self.jit_compile, "precision": self.precision, "channels": self.channels,
                "repeat": self.repeat, "scale": self.wanted_scale}

    def device_description(self) -> str:
        """Where this model runs: its runtime's words once loaded ('CPU (onnxruntime)', TensorFlow's
        'GPU: ...' / 'CPU: N threads'), in the model process if any."""
        if self._loaded is not None and getattr(self._loaded, "device", ""):
            return self._loaded.device
        if self.process is not None:
            return self.process.device()
        from srviewer.core.tf_runtime import device_description

        return device_description()

    def load(self, background: bool = False):
        """The loaded model: a model_conventions.Predictor here, a RemoteLoaded with a process.
        `background` (preloading): a process serves runs' requests first."""
        with self._lock:
            if self._loaded is None:
                ok, reason = self.availability()
                if not ok:
                    raise MethodUnavailable(f"{self.name}: {reason}")
                if self.process is not None:   # a RemoteLoaded: scale, input kind, label, device, convention
                    loaded = self.process.request("load", self.spec(), background=background)
                else:
                    from srviewer.core.formats import LoadOptions
                    from srviewer.core.model_loading import load_predictor

                    loaded = load_predictor(self.path, LoadOptions(self.trust_code, self.wanted_scale),
                                            overrides={"range": self.value_range, "channels": self.channels},
                                            kernel=self.kernel, jit_compile=_use_xla() if self.jit_compile is None
                                            else self.jit_compile, precision=self.precision or _precision_from_env())
                    self._check_scale(loaded.scale)
                self._loaded, self.scale = loaded, self.wanted_scale
        return self._loaded

    def _check_scale(self, model_scale: int) -> None:
        """The model's scale, run `repeat` times, must reach the comparison's: else one line."""
        reached, wanted = model_scale ** self.repeat, self.wanted_scale
        if reached == wanted:
            return
        runs = next((n for n in range(1, 5) if model_scale > 1 and model_scale ** n == wanted), None)
        how = f"; pass --model-repeat {runs} to run it {runs} times" if runs else ""
        what = f"x{model_scale}" + (f" run {self.repeat} times gives x{reached}" if self.repeat > 1 else "")
        raise ModelFileError(f"{self.path.name}: the model is {what}, the comparison is x{wanted}{how}")

    def upscale(self, rgb_float, progress=None, cancel=None):
        x = np.asarray(rgb_float, np.float32)
        if x.ndim != 3 or x.shape[2] != 3:
            raise ValueError(f"{self.name} wants an HxWx3 RGB image, got shape {x.shape}")
        if self.process is not None:
            # the child loads the model on demand. Not `self.load()` first: while a preload of this
            # method is in flight it holds the lock, and a run waiting there is no waiting foreground
            # request to the process, which would serve the next preload before this run
            return self.process.request("upscale", self.spec(), x, progress=progress, cancel=cancel)
        loaded = self.load()
        for i in range(self.repeat):
            step = None if progress is None else (lambda f, i=i: progress((i + f) / self.repeat))
            out = self._upscale_once(loaded, x, step, cancel)
            x = np.clip(out, 0.0, 1.0, out=out)   # in place: a 4000x3000 LR gives a 2.3 GB result
        return x

    def _upscale_once(self, predictor, x, progress, cancel):
        from srviewer.core.oom import run_with_oom_retry
        from srviewer.core.tiling import run_tiled

        factor, overlap = 1, predictor.overlap
        if predictor.input_kind == "bicubic":
            x = upscale_bicubic(x, predictor.scale, self.kernel)
            factor = predictor.scale          # tiles are cut from the upscaled image

        def attempt(tile):   # tiles of up to (tile + 2 * overlap)^2 LR pixels, in the cheapest grid
            return run_tiled(predictor, x, scale=predictor.scale // factor, overlap=overlap * factor,
                             progress=progress, cancel=cancel, max_pixels=((tile + 2 * overlap) * factor) ** 2,
                             fixed=predictor.fixed_size)

        return run_with_oom_retry(attempt, tile_sizes(self.tile), what=self.label)


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
                       value_range: str | None = None, kernel: str = "matlab", **options) -> Method:
        """A user's model file or folder as a method; loaded now, so a bad file fails here (ModelFileError).
        `options`: ModelMethod's channels, repeat, scale."""
        return self.register(self.load_model_file(path, name, trust_code, value_range, kernel, **options))

    def load_model_file(self, path, name: str | None = None, trust_code: bool = False,
                        value_range: str | None = None, kernel: str = "matlab", **options) -> ModelMethod:
        """add_model_file without registering: the slow part (loading), safe to run on a worker
        thread; register the method afterwards (under `unique_name(method.name)`)."""
        path = Path(path)
        method = ModelMethod(self.unique_name(name or path.name.split(".")[0]), path, label=None,
                             trust_code=trust_code, value_range=value_range, kernel=kernel, process=self.process,
                             **options)
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
           "weights_dir", "tile_sizes", "ModelFileError"]
