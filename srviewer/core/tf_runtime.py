"""TensorFlow runtime: lazy import, GPU memory growth, device report, compiled predictor (OOM test: core.oom).

TensorFlow is imported on the first call of `tf()` (about 4 s), never at module import.
"""

from __future__ import annotations

import logging
import math
import os
import sys
import threading
from typing import Callable

import numpy as np

from srviewer.core import timeline
from srviewer.core.oom import is_oom  # noqa: F401 - the one OOM test, used here and re-exported

log = logging.getLogger(__name__)

_lock = threading.Lock()
_tf = None


def tf():
    """The tensorflow module, configured once: GPU memory growth on (the GUI must not take the card).

    What TensorFlow prints to stderr while it starts (absl's "before InitializeLog" notice, "Could
    not find cuda drivers", oneDNN and CPU-instruction notices: written past TF_CPP_MIN_LOG_LEVEL
    on a machine without a GPU) is caught: its noise is logged at debug level, any
    other line goes on to stderr. Call this before `import keras` anywhere, so the first import of
    TensorFlow is this quiet one.
    """
    global _tf
    if _tf is not None:
        return _tf
    with _lock:
        if _tf is None:
            os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
            from srviewer.core.library_noise import is_noise
            from srviewer.core.stderr_capture import captured_stderr

            timeline.mark("TensorFlow import begins")
            start_up: list[str] = []
            try:
                with captured_stderr() as start_up:
                    import tensorflow as tf_mod

                    gpus = tf_mod.config.list_physical_devices("GPU")   # CUDA's notices come here
            finally:    # also when the import failed: what it said beyond the noise is shown
                for line in start_up:
                    if is_noise(line):
                        log.debug("TensorFlow: %s", line)
                    else:
                        print(line, file=sys.stderr)
            timeline.mark("TensorFlow imported")
            for gpu in gpus:
                try:
                    tf_mod.config.experimental.set_memory_growth(gpu, True)
                except (RuntimeError, ValueError) as exc:  # already initialised: keep going
                    log.debug("memory growth not set on %s: %s", gpu, exc)
            _tf = tf_mod
    return _tf


def device_description() -> str:
    """'GPU: NVIDIA H200' (first GPU TF sees) or 'CPU: N threads'."""
    t = tf()
    gpus = t.config.list_physical_devices("GPU")
    if gpus:
        try:
            name = t.config.experimental.get_device_details(gpus[0]).get("device_name") or gpus[0].name
        except Exception:  # details are best effort
            name = gpus[0].name
        extra = f" (+{len(gpus) - 1} more)" if len(gpus) > 1 else ""
        return f"GPU: {name}{extra}"
    threads = t.config.threading.get_intra_op_parallelism_threads() or os.cpu_count() or 1
    return f"CPU: {threads} threads"


_xla_choice: dict[str, object] = {}
_xla_lock = threading.Lock()


def xla_is_faster() -> bool:
    """Whether XLA runs an SR residual block faster than TensorFlow's own kernels here (once per process).

    It depends on the machine: on an AMD EPYC host (oneDNN off) XLA ran the SRGAN generator 1.6x
    faster than the plain graph (ENVIRONMENT.md: 9.1 s against 14.8 s at 510x339); on an Intel
    Xeon with AVX-512/AMX, where TensorFlow turns oneDNN on, the plain graph was 1.3x faster
    (3.4 s against 4.6 s). So it is measured, not assumed: conv3x3-PReLU-conv3x3 plus a skip,
    64 channels, on 1x96x96x64, best of 5 each way, interleaved, after one warm-up (0.3 s in all).
    `xla_choice()` says what was timed. The first verdict on a machine is kept on disk and used by
    later processes (core/xla_choice_store.py; `xla_choice()["kept"]` is then True).
    """
    from srviewer.core import xla_choice_store

    t = tf()                # outside _xla_lock: tf() takes _lock on the first import
    with _xla_lock:
        if "faster" not in _xla_choice:
            key = xla_choice_store.machine_key(t.__version__, [d.name for d in t.config.list_physical_devices("GPU")])
            kept = xla_choice_store.load(key)
            if kept is not None:
                _xla_choice.update(kept, kept=True)
            else:
                timeline.mark("XLA probe begins")
                _xla_choice.update(_time_xla_against_plain(), kept=False)
                timeline.mark(f"XLA probe done: {'XLA' if _xla_choice['faster'] else 'plain graph'}")
                if math.isfinite(_xla_choice["xla_ms"]):        # a failed XLA is not a verdict to keep
                    xla_choice_store.save(key, _xla_choice)
        return bool(_xla_choice["faster"])


def xla_choice() -> dict:
    """{'faster': bool, 'xla_ms': float, 'plain_ms': float, 'kept': bool (read from the machine's file)}
    once `xla_is_faster()` has run, else {}."""
    return dict(_xla_choice)


def _time_xla_against_plain() -> dict:
    import time

    t = tf()
    rng = np.random.default_rng(0)
    x = t.constant(rng.random((1, 96, 96, 64), np.float32))
    k1, k2 = (t.constant(rng.normal(0, 0.05, (3, 3, 64, 64)).astype(np.float32)) for _ in range(2))

    def block(a):
        h = t.nn.conv2d(a, k1, 1, "SAME")
        h = t.maximum(h, 0.25 * h)
        return a + 0.1 * t.nn.conv2d(h, k2, 1, "SAME")

    fns = {}
    for name, jit in (("xla_ms", True), ("plain_ms", False)):
        fns[name] = t.function(block, jit_compile=jit)
        try:
            fns[name](x).numpy()
        except Exception as exc:  # noqa: BLE001 - XLA unavailable here: the plain graph it is
            log.info("XLA probe failed (%s)", str(exc).splitlines()[0][:200])
            return {"faster": False, "xla_ms": math.inf, "plain_ms": math.nan}
    # interleaved, so that both see the same moments of a shared machine: timed one after the
    # other, a busy moment during one engine's turn decided the choice
    best = {name: math.inf for name in fns}
    for _ in range(5):
        for name, fn in fns.items():
            t0 = time.perf_counter()
            fn(x).numpy()
            best[name] = min(best[name], 1000 * (time.perf_counter() - t0))
    return {"faster": best["xla_ms"] < best["plain_ms"], **best}


def _is_xla_failure(exc: BaseException) -> bool:
    msg = f"{type(exc).__name__}: {exc}"
    return any(k in msg for k in ("XLA", "xla", "jit", "JIT", "UnimplementedError", "InvalidArgumentError"))


PRECISIONS = ("float32", "mixed")

_shared: dict[tuple, object] = {}
_shared_lock = threading.Lock()


def _shared_function(key: tuple, body, weights, jit_compile: bool):
    """One tf.function(body) per (key, jit_compile) for the process: body(x NHWC float32, weights list).
    Models with equal keys (same architecture and weight shapes) share its traces and XLA compilations."""
    t = tf()
    with _shared_lock:
        if (key, jit_compile) not in _shared:
            signature = [t.TensorSpec([None, None, None, 3], t.float32), [t.TensorSpec(w.shape, w.dtype) for w in weights]]
            _shared[(key, jit_compile)] = t.function(body, input_signature=signature, reduce_retracing=True,
                                                     jit_compile=jit_compile)
        return _shared[(key, jit_compile)]


def _bind(fn, weights):
    def call(x):
        return fn(x, weights)

    return call


def mixed_dtype() -> str:
    """The 16-bit type "mixed" precision computes in: float16 on a GPU (tensor cores), bfloat16 on
    CPU (AVX512_BF16 / AMX run it natively; float16 on CPU is emulated)."""
    return "float16" if tf().config.list_physical_devices("GPU") else "bfloat16"


XLA_MIN_PIXELS = 1 << 14     # LR pixels (128x128) from which XLA's compilation pays for itself (make_predictor)


def make_predictor(model, jit_compile: bool | None = None, precision: str = "float32",
                   xla_min_pixels: int = XLA_MIN_PIXELS) -> Callable[[np.ndarray], np.ndarray]:
    """One compiled inference function for `model`, traced once for any NHWC size.

    In: float32 NHWC numpy (N, H, W, 3), the model's own range ([0, 1] for srviewer models);
    out: float32 NHWC numpy, unclipped. `jit_compile` None: XLA where `xla_is_faster()` here, for
    inputs of at least `xla_min_pixels` pixels (H*W), asked at the first such input; smaller ones
    run the plain graph. XLA compiles
    anew for each input size, and on small inputs the compilation costs more than it saves: measured
    on a 2-core EPYC (CPU seconds, first call / next call), SRCNN on the sample photo (448x300 input)
    1.15 / 0.35 with XLA against 0.41 / 0.36 plain; SRResNet on its 112x75 LR 1.50 / 0.67 against
    1.37 / 0.71, on 255x170 3.97 / 3.18 against 4.44 / 4.02. The choice depends on the size alone,
    so an image gives the same result in every process (a tiled image's small edge tiles run plain:
    no compilation for each odd tile size). `jit_compile` True or False: always / never.
    With XLA the function falls back to the plain graph if compilation fails; OOM errors
    propagate. sr_resnet models run through `sr_resnet_inference.fast_call` (exact, a quarter to
    a third faster on CPU). `precision` "mixed" computes sr_resnet models in 16 bits
    (`mixed_dtype()`); other models stay float32 (with a warning). `predict.precision` says which.
    """
    from srviewer.core.sr_resnet_inference import fast_call

    if precision not in PRECISIONS:
        raise ValueError(f"precision must be one of {', '.join(PRECISIONS)}, not {precision!r}")
    t = tf()
    by_size = jit_compile is None
    signature = [t.TensorSpec([None, None, None, 3], t.float32)]
    dtype = mixed_dtype() if precision == "mixed" else "float32"
    forward = fast_call(model, dtype)      # sr_resnet: BN folded, tail at half resolution, same result
    if forward is None:
        if dtype != "float32":
            log.warning("mixed precision applies to sr_resnet models; %s runs in float32", model.name)
        forward, dtype = model, "float32"

    shared = getattr(forward, "shared", None)
    if shared is not None:      # sr_resnet: one program per architecture, this model's weights as arguments
        key, body, weights = shared
        plain = _bind(_shared_function(key, body, weights, False), weights)

        def make_xla():
            return _bind(_shared_function(key, body, weights, True), weights)
    else:
        def _call(x):
            return forward(x, training=False)

        plain = t.function(_call, input_signature=signature, reduce_retracing=True)

        def make_xla():
            return t.function(_call, input_signature=signature, reduce_retracing=True, jit_compile=True)
    state = {"xla": None, "failed": False}    # the XLA function, made at its first use; XLA failed once

    def engine_for(shape) -> str:
        """'xla' or 'plain': what runs an input of this NHWC shape. By size (`jit_compile` None), the
        machine's verdict (`xla_is_faster`, timed once per machine) is asked for at the first input of
        at least `xla_min_pixels`: a launch that only meets small images never times it."""
        if state["failed"]:
            return "plain"
        if by_size:
            return "xla" if shape[1] * shape[2] >= xla_min_pixels and xla_is_faster() else "plain"
        return "xla" if jit_compile else "plain"

    def predict(x: np.ndarray) -> np.ndarray:
        x = np.ascontiguousarray(x, dtype=np.float32)
        engine = engine_for(x.shape)
        timeline.mark(f"{model.name}: call {'x'.join(map(str, x.shape))} ({engine}) begins")
        if engine == "plain":
            y = plain(x)
        else:
            try:
                state["xla"] = state["xla"] or make_xla()
                y = state["xla"](x)
            except Exception as exc:
                if is_oom(exc) or not _is_xla_failure(exc):
                    raise
                log.warning("XLA compilation failed (%s); using the plain graph", str(exc).splitlines()[0][:200])
                state["failed"] = True
                y = plain(x)
        y = np.asarray(y, dtype=np.float32)
        timeline.mark(f"{model.name}: call done")
        return y

    predict.jit_compile = jit_compile  # type: ignore[attr-defined]  # None: by size and the machine's verdict
    predict.engine_for = engine_for  # type: ignore[attr-defined]
    predict.fast_path = forward is not model  # type: ignore[attr-defined]
    predict.precision = dtype  # type: ignore[attr-defined]
    return predict
