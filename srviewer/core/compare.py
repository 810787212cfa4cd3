"""A comparison run: one image through several methods, scored, as a stream of events.

The CLI prints the events; the window's worker thread relays them as Qt signals. Order:
`Prepared`, then per method `MethodStarted`, any number of `MethodProgress`, and `MethodFinished`
or `MethodFailed`; then `RunFinished`. Cancelling raises `errors.Cancelled` (between methods, or
between tiles inside a method).

Reference mode: the image is the ground truth HR (mod-cropped to the scale) and the LR is made
with the chosen kernel, or with a degradation chain (core.degrade: blur, kernel, noise, JPEG).
Blind mode: the image is the LR; nothing is scored. Each SR result is quantised to the image's bit depth before scoring (as published figures are), and scored on
0..255 values with the paper convention (Y of BT.601, border = scale) and on RGB.
"""

from __future__ import annotations

import queue
import threading
import time
from dataclasses import dataclass, field
from typing import Iterator

import numpy as np

from srviewer.core.blind_detail import bicubic as blind_bicubic
from srviewer.core.blind_detail import detail_ratio
from srviewer.core.cancel import CancelToken
from srviewer.core.conventions import KERNELS, mod_crop
from srviewer.core.degrade import Chain, degrade
from srviewer.core.images import LoadedImage, from_float, to_metric_range, to_float, to_uint8
from srviewer.core.metrics import score
from srviewer.core.oom import OOM_MESSAGE, is_oom
from srviewer.core.result_images import ResultImage
from srviewer.errors import Cancelled, SrviewerError

MODES = ("reference", "blind")


@dataclass
class CompareRequest:
    image: LoadedImage
    methods: list[str]
    mode: str = "reference"
    kernel: str = "matlab"
    scale: int = 4
    degradation: Chain | None = None   # reference mode's LR: None is the kernel alone

    def chain(self) -> Chain:
        """The degradation chain that makes the LR (the kernel alone unless one was given)."""
        return self.degradation if self.degradation is not None else Chain(kernel=self.kernel)

    def __post_init__(self):
        if self.mode not in MODES:
            raise ValueError(f"mode must be one of {MODES}, not {self.mode!r}")
        if self.kernel not in KERNELS:
            raise ValueError(f"kernel must be one of {KERNELS}, not {self.kernel!r}")


@dataclass
class Prepared:
    lr: np.ndarray                 # RGB uint8, the input every method sees (for display)
    hr: np.ndarray | None          # RGB uint8 ground truth (reference mode)
    lr_native: np.ndarray          # the LR at the image's bit depth (uint8 or uint16)
    hr_native: np.ndarray | None
    is_grey: bool
    notes: list[str] = field(default_factory=list)
    degradation: str = ""          # the chain that made the LR (reference mode), e.g. "kernel=matlab"


@dataclass
class MethodStarted:
    name: str


@dataclass
class MethodProgress:
    name: str
    fraction: float


@dataclass
class MethodFinished:
    name: str
    sr: np.ndarray                 # RGB uint8, for display and the metrics maps
    sr_native: np.ndarray          # at the image's bit depth (uint8 or uint16), for export
    scores: dict | None            # psnr_y, ssim_y, psnr_rgb, ssim_rgb (reference mode)
    seconds: float
    label: str = ""
    sr_float: np.ndarray | None = None   # HxWx3 float32 [0, 1] as the method returned it (clipped)
    device: str = ""               # "GPU: ...", "CPU: 2 threads" or "CPU (NumPy)"
    notes: list[str] = field(default_factory=list)   # e.g. a result image cropped to the HR's mod-crop
    detail: float | None = None    # blind mode: Laplacian energy over bicubic's (core.blind_detail), whole image


@dataclass
class MethodFailed:
    name: str
    message: str


@dataclass
class RunFinished:
    results: dict[str, MethodFinished]
    failed: dict[str, str]


def prepare(request: CompareRequest) -> Prepared:
    img = request.image
    if request.mode == "reference":
        hr = mod_crop(img.rgb, request.scale)
        if min(hr.shape[:2]) <= 2 * request.scale:   # scores shave `scale` pixels from each border
            raise SrviewerError(f"the image ({img.width}x{img.height}) is too small for reference mode at "
                                f"x{request.scale}: use blind mode")
        chain = request.chain()
        lr = degrade(hr, chain, request.scale)
        notes = list(img.notes) + ([] if chain.is_clean else [f"LR degraded: {chain}"])
        return Prepared(to_uint8(lr), to_uint8(hr), lr, hr, img.is_grey, notes, str(chain))
    return Prepared(to_uint8(img.rgb), None, img.rgb, None, img.is_grey, list(img.notes))


class _LinkedToken:
    """The token a method sees: cancelled with the caller's token, or when the generator is closed
    early (the caller stopped listening), so a worker thread never runs on for nobody."""

    def __init__(self, outer: CancelToken) -> None:
        self._outer, self._own = outer, CancelToken()

    def cancel(self) -> None:
        self._own.cancel()

    @property
    def cancelled(self) -> bool:
        return self._own.cancelled or self._outer.cancelled

    def raise_if_cancelled(self) -> None:
        if self.cancelled:
            raise Cancelled()


def _device(method) -> str:
    describe = getattr(method, "device_description", None)
    if describe is None:
        return "CPU (NumPy)"
    try:
        return describe()
    except Exception:  # noqa: BLE001 - an informative label only
        return ""


def failure_message(exc: BaseException) -> str:
    """One line for a failure: a SrviewerError's own message, the OOM message, else type: text."""
    if isinstance(exc, SrviewerError):
        return str(exc)
    if is_oom(exc):
        return OOM_MESSAGE
    return f"{type(exc).__name__}: {exc}"


def _job(method, lr_float, request: CompareRequest, notes: list[str]):
    """What the worker runs: the method on the LR, or a result image (core.result_images) fitted to
    the HR, whose mod-crop rule needs the image's own size (reference mode)."""
    if isinstance(method, ResultImage):
        def fitted(progress, cancel):
            sr, note = method.fitted(request.image.rgb.shape[:2], request.mode, request.scale)
            notes.extend([note] if note else [])
            return sr
        return fitted
    return lambda progress, cancel: method.upscale(lr_float, progress=progress, cancel=cancel)


def _run_method(job, cancel, events: queue.Queue) -> None:
    """Worker thread body: run the job and put ("progress", f) / ("done", sr) / ("error", exc)."""
    try:
        sr = job(lambda f: events.put(("progress", float(f))), cancel)
        events.put(("done", sr))
    except BaseException as exc:  # noqa: BLE001 - relayed to the generator's thread
        events.put(("error", exc))


def run_comparison(request: CompareRequest, registry, cancel: CancelToken | None = None,
                   cache=None) -> Iterator:
    """Yield the events of one comparison (see the module docstring). With a `cache`
    (core.result_cache.ResultCache), the prepared images and each method's result are reused when
    the image, mode, kernel, scale and method are the same as in an earlier run."""
    outer = cancel or CancelToken()
    cancel = _LinkedToken(outer)
    run_key = None if cache is None else cache.run_key(request)
    prepared = None if cache is None else cache.get(("prepared",) + run_key)
    if prepared is None:
        prepared = prepare(request)
        if cache is not None:
            cache.put(("prepared",) + run_key, prepared)
    yield prepared
    bit_depth = request.image.bit_depth
    lr_float = to_float(prepared.lr_native)
    hr_scored = None if prepared.hr_native is None else to_metric_range(prepared.hr_native)
    results: dict[str, MethodFinished] = {}
    failed: dict[str, str] = {}
    baseline = None        # blind mode: bicubic of the LR, made for the first result
    for name in request.methods:
        cancel.raise_if_cancelled()
        yield MethodStarted(name)
        try:
            method = registry.get(name)
            ok, reason = method.availability()
        except (KeyError, SrviewerError) as exc:
            method, ok, reason = None, False, str(exc).strip("'\"")
        if not ok:
            failed[name] = reason
            yield MethodFailed(name, reason)
            continue
        kept = None if cache is None else cache.get(("result", name) + run_key, owner=method)
        if kept is not None:
            results[name] = kept
            yield kept
            continue
        events: queue.Queue = queue.Queue()
        notes: list[str] = []
        t0 = time.perf_counter()
        worker = threading.Thread(target=_run_method, args=(_job(method, lr_float, request, notes), cancel, events),
                                  name=f"srviewer-{name}", daemon=True)
        worker.start()
        outcome = None
        try:
            while outcome is None:
                kind, value = events.get()
                if kind == "progress":
                    yield MethodProgress(name, value)
                else:
                    outcome = (kind, value)
        finally:
            if outcome is None:  # the caller closed the generator mid-method: stop the worker
                cancel.cancel()
            worker.join()
        kind, value = outcome
        if kind == "error":
            if isinstance(value, Cancelled) or outer.cancelled:
                raise Cancelled()
            message = failure_message(value)
            failed[name] = message
            yield MethodFailed(name, message)
            continue
        seconds = time.perf_counter() - t0
        sr_native = from_float(value, bit_depth)
        expected = (lr_float.shape[0] * request.scale, lr_float.shape[1] * request.scale)
        if sr_native.shape[:2] != expected:
            message = f"{name} returned {sr_native.shape[1]}x{sr_native.shape[0]}, expected x{request.scale}"
            failed[name] = message
            yield MethodFailed(name, message)
            continue
        scores, detail = None, None
        if hr_scored is not None:
            scores = score(to_metric_range(sr_native), hr_scored, border=request.scale, is_grey=prepared.is_grey)
        else:          # blind mode: what can be said without the truth
            if baseline is None:
                baseline = blind_bicubic(prepared.lr, request.scale, request.kernel)
            detail = detail_ratio(to_uint8(sr_native), baseline)
        finished = MethodFinished(name, to_uint8(sr_native), sr_native, scores, seconds,
                                  getattr(method, "label", "") or name,
                                  np.clip(np.asarray(value, np.float32), 0.0, 1.0), _device(method), notes,
                                  detail=detail)
        results[name] = finished
        if cache is not None:
            cache.put(("result", name) + run_key, finished, owner=method)
        yield finished
    outer.raise_if_cancelled()
    yield RunFinished(results, failed)
