"""A comparison session: everything one comparison holds, without Qt (napari's model/view split).

The window's Compare tab and `srviewer compare` drive the same `ComparisonSession`; the tab only
lays out widgets, forwards what the user does to the session and redraws on its events.

What it holds (read these attributes; change them through the methods below):
    registry        the methods registry (core.methods.MethodRegistry)
    image           the opened image (core.images.LoadedImage) or None
    methods         the ticked method names, in run order
    mode, kernel, scale     "reference" | "blind", "matlab" | "opencv", 4
    degradation     the core.degrade.Chain that makes reference mode's LR, or None (the kernel alone)
    request         the compare.CompareRequest of the current (or last) run, or None
    prepared        its compare.Prepared (LR, HR (None in blind mode), bit-depth copies) or None
    status          {name: "queued" | "running" | "done" | "failed" | "cancelled"} for the run's methods
    progress        {name: fraction 0..1} of the run's methods
    results         {name: compare.MethodFinished} as they arrive (RGB uint8 `sr`, `scores`, ...)
    failed          {name: one-line message}
    running         a run has started and not yet finished, failed or been cancelled
    crop            the crop box (x, y, w, h) in HR (output) pixels, or None
    crop_scores     {name: metrics.score_region(sr, hr, crop)}: psnr_y, ssim_y (and psnr_rgb, ssim_rgb
                    unless crop_y_only) inside the box, no border; {} in blind mode or without a box.
                    export's metrics.csv crop columns come from the same function.
    crop_detail     blind mode: {name: core.blind_detail.crop_detail(...)}, the fine detail inside the
                    box over bicubic's; the whole image's is each result's `detail`
    exported        the files the last `export` wrote ([] before)
    cache           a core.result_cache.ResultCache (or None) that runs reuse: the same image, mode,
                    kernel and method give the kept result at once

Driving it:
    session.set_image(loaded); session.set_methods([...]); session.set_mode("blind"); session.set_kernel(...)
    session.set_degradation(chain); session.preview_lr() -> the LR the next run will see (no method runs)
    session.run(cancel=None) -> compare.RunFinished      synchronous: `srviewer compare`, tests
    request = session.start()                             from a worker (the window): then hand each
        event of compare.run_comparison(request, session.registry, token, cache=session.cache) to session.apply(event)
        in the observing thread, and session.mark_cancelled() / session.mark_failed(message) if the
        job ends otherwise; `start` returns None (and emits `message`) when there is nothing to run.
    session.set_crop(rect); session.export(out_dir) -> list[Path]

Events (`session.events.NAME.connect(callback)`; see core.observable), with their arguments:
    image_changed(image)        mode_changed(mode)       message(level, text): "info" | "warning" | "error"
    degradation_changed(chain)
    run_started(request)        prepared(prepared)       method_started(name)
    method_progress(name, fraction)                      method_finished(result: MethodFinished)
    method_failed(name, message)                         run_finished(finished: RunFinished)
    run_cancelled()             run_failed(message)      crop_changed(crop): crop and crop_scores are new
    exported(paths)
`prepared` comes after the crop box is fitted to the new image; `method_finished` after that
method's crop scores are in `crop_scores`.
"""

from __future__ import annotations

import contextlib
from pathlib import Path

from srviewer.core import compare as cmp
from srviewer.core import timeline
from srviewer.core.blind_detail import crop_detail
from srviewer.core.cancel import CancelToken
from srviewer.core.conventions import KERNELS
from srviewer.core.degrade import Chain, degrade
from srviewer.core.export import centre_crop, clip_rect, export_results
from srviewer.core.images import to_uint8
from srviewer.core.metrics import score_region
from srviewer.core.observable import Events
from srviewer.errors import Cancelled

EVENT_NAMES = ("image_changed", "mode_changed", "message", "run_started", "prepared", "method_started",
               "method_progress", "method_finished", "method_failed", "run_finished", "run_cancelled",
               "run_failed", "crop_changed", "exported", "degradation_changed")


def _fits(rect, shape) -> bool:
    x, y, w, h = rect
    return x >= 0 and y >= 0 and w > 0 and h > 0 and x + w <= shape[1] and y + h <= shape[0]


class ComparisonSession:
    """The state of one comparison and the one way to change it (see the module docstring)."""

    def __init__(self, registry, mode: str = "reference", kernel: str = "matlab", scale: int = 4,
                 default_crop: bool = False, blind_when_small: bool = False, crop_y_only: bool = False):
        """The window's three habits, off for the CLI: default_crop gives each new image a centre crop
        box when the current one does not fit it (`srviewer compare` scores a crop only when asked);
        blind_when_small switches an image too small for reference mode to blind mode, with a warning
        (`srviewer compare` refuses it in one line naming blind mode); crop_y_only scores the crop on
        Y alone, 4x quicker, to follow a moving box (70 ms instead of 285 ms a method for 339 px)."""
        self.events = Events(*EVENT_NAMES)
        self.registry = registry
        self.image = None
        self.methods: list[str] = []
        self.mode, self.kernel, self.scale = "reference", "matlab", scale
        self.set_mode(mode)
        self.set_kernel(kernel)
        self.degradation = None
        self.default_crop, self.blind_when_small, self.crop_y_only = default_crop, blind_when_small, crop_y_only
        self.request: cmp.CompareRequest | None = None
        self.prepared: cmp.Prepared | None = None
        self.status: dict[str, str] = {}
        self.progress: dict[str, float] = {}
        self.results: dict[str, cmp.MethodFinished] = {}
        self.failed: dict[str, str] = {}
        self.running = False
        self.crop: tuple[int, int, int, int] | None = None
        self.crop_scores: dict[str, dict[str, float]] = {}
        self.crop_detail: dict[str, float] = {}
        self.exported: list[Path] = []
        self.cache = None

    # -- what to compare ------------------------------------------------------------------------
    def set_image(self, loaded) -> None:
        """The image to compare next (core.images.LoadedImage); results stay until the next run."""
        self.image = loaded
        self.events.image_changed.emit(loaded)

    def set_methods(self, names) -> None:
        self.methods = list(dict.fromkeys(names))

    def set_mode(self, mode: str) -> None:
        if mode not in cmp.MODES:
            raise ValueError(f"mode must be one of {cmp.MODES}, not {mode!r}")
        if mode != self.mode:
            self.mode = mode
            self.events.mode_changed.emit(mode)

    def set_kernel(self, kernel: str) -> None:
        if kernel not in KERNELS:
            raise ValueError(f"kernel must be one of {KERNELS}, not {kernel!r}")
        self.kernel = kernel

    def set_degradation(self, chain) -> None:
        """The degradation chain (core.degrade.Chain) for reference mode's LR, or None; the next run uses it."""
        if chain != self.degradation:
            self.degradation = chain
            self.events.degradation_changed.emit(chain)

    def chain(self):
        """The chain the next run's LR is made with (the kernel alone unless a degradation is set)."""
        return self.degradation if self.degradation is not None else Chain(kernel=self.kernel)

    def preview_lr(self, chain=None):
        """The LR (RGB uint8) the next reference run will see (with `chain`, default `self.chain()`),
        made now without running any method; None without an image, in blind mode or for an image
        too small to degrade. Safe to call from a worker thread (it only reads the session)."""
        image = self.image
        if image is None or self.mode != "reference":
            return None
        try:
            return to_uint8(degrade(image.rgb, chain if chain is not None else self.chain(), self.scale))
        except ValueError:
            return None

    # -- running --------------------------------------------------------------------------------
    def start(self) -> cmp.CompareRequest | None:
        """Begin a run of the ticked methods on the image: the previous results go. None (and a
        `message`) when there is no image or no method."""
        if self.image is None:
            self.events.message.emit("warning", "Open an image first.")
            return None
        if not self.methods:
            self.events.message.emit("warning", "Tick at least one method.")
            return None
        if self.blind_when_small and self.mode == "reference" and min(self.image.height, self.image.width) < 4 * self.scale:
            self.events.message.emit("warning", "This image is too small for reference mode: switching to blind mode.")
            self.set_mode("blind")
        self.request = cmp.CompareRequest(image=self.image, methods=list(self.methods), mode=self.mode,
                                          kernel=self.kernel, scale=self.scale, degradation=self.degradation)
        self.prepared = None
        self.results, self.failed, self.crop_scores, self.crop_detail = {}, {}, {}, {}
        self.status = {name: "queued" for name in self.methods}
        self.progress = {name: 0.0 for name in self.methods}
        self.running = True
        timeline.mark("run starts")
        self.events.run_started.emit(self.request)
        return self.request

    def apply(self, event) -> None:
        """Take one event of compare.run_comparison into the session and emit its own event."""
        if isinstance(event, cmp.Prepared):
            self.prepared = event
            shape = self.output_shape()
            if self.crop is not None and not _fits(self.crop, shape):
                self.crop = None
            if self.crop is None and self.default_crop:
                self.crop = centre_crop(shape)
            self.crop_scores, self.crop_detail = {}, {}
            self.events.prepared.emit(event)
            timeline.mark("LR and HR drawn")
            for note in event.notes:
                self.events.message.emit("info", note)
        elif isinstance(event, cmp.MethodStarted):
            self.status[event.name], self.progress[event.name] = "running", 0.0
            self.events.method_started.emit(event.name)
        elif isinstance(event, cmp.MethodProgress):
            self.progress[event.name] = event.fraction
            self.events.method_progress.emit(event.name, event.fraction)
        elif isinstance(event, cmp.MethodFinished):
            self.results[event.name] = event
            self.status[event.name], self.progress[event.name] = "done", 1.0
            self._score_crop([event.name])
            self.events.method_finished.emit(event)
            timeline.mark(f"result {event.name} drawn ({event.seconds:.2f} s in the run)")
            for note in event.notes:   # e.g. a result image cropped to the HR's mod-crop
                self.events.message.emit("info", note)
        elif isinstance(event, cmp.MethodFailed):
            self.failed[event.name] = event.message
            self.status[event.name] = "failed"
            self.events.method_failed.emit(event.name, event.message)
        elif isinstance(event, cmp.RunFinished):
            self.running = False
            self.events.run_finished.emit(event)
            timeline.mark("run finished")

    def mark_cancelled(self) -> None:
        """The run was cancelled: its unfinished methods are marked so."""
        for name, state in self.status.items():
            if state in ("queued", "running"):
                self.status[name] = "cancelled"
        self.running = False
        self.events.run_cancelled.emit()

    def mark_failed(self, message: str) -> None:
        """The run as a whole failed (e.g. the image is too small for reference mode)."""
        self.running = False
        self.events.run_failed.emit(message)

    def run(self, cancel: CancelToken | None = None) -> cmp.RunFinished | None:
        """Run the comparison here, in this thread (the CLI's way); returns its RunFinished, or None
        when there was nothing to run. Raises what run_comparison raises (Cancelled, SrviewerError)
        and whatever an observer raises, after cancelling the method running then."""
        request = self.start()
        if request is None:
            return None
        finished = None
        try:
            with contextlib.closing(cmp.run_comparison(request, self.registry, cancel, cache=self.cache)) as events:
                for event in events:
                    self.apply(event)
                    if isinstance(event, cmp.RunFinished):
                        finished = event
        except Cancelled:
            self.mark_cancelled()
            raise
        except BaseException as exc:
            if self.running:
                self.mark_failed(str(exc))
            raise
        return finished

    # -- the crop box ---------------------------------------------------------------------------
    def output_shape(self) -> tuple[int, int] | None:
        """(H, W) of the results (the LR times the scale), once the run is prepared."""
        if self.prepared is None:
            return None
        return (self.prepared.lr.shape[0] * self.scale, self.prepared.lr.shape[1] * self.scale)

    def set_crop(self, rect) -> None:
        """The crop box (x, y, w, h) in HR pixels, or None. Once the run is prepared it is clipped to
        the output image (ValueError when nothing of it is left) and the crop scores follow."""
        if rect is not None:
            rect = tuple(int(round(v)) for v in rect)
            shape = self.output_shape()
            if shape is not None:
                rect = clip_rect(rect, shape)
        self.crop = rect
        self.crop_scores, self.crop_detail = {}, {}
        self._score_crop(list(self.results))
        self.events.crop_changed.emit(self.crop)

    def crop_in_lr(self) -> tuple[int, int, int, int] | None:
        """The crop box in LR pixels (the LR pixels it touches)."""
        if self.crop is None:
            return None
        x, y, w, h = self.crop
        s = self.scale
        return (x // s, y // s, max(1, -(-(x + w) // s) - x // s), max(1, -(-(y + h) // s) - y // s))

    def _score_crop(self, names) -> None:
        hr = self.prepared.hr if self.prepared is not None else None
        if self.prepared is not None and hr is None and self.crop is not None:   # blind mode
            for name in names:
                self.crop_detail[name] = crop_detail(self.results[name].sr, self.prepared.lr, self.crop, self.scale,
                                                     self.request.kernel)
        if hr is None or self.crop is None:
            return
        for name in names:
            self.crop_scores[name] = score_region(self.results[name].sr, hr, self.crop,
                                                  is_grey=self.prepared.is_grey, y_only=self.crop_y_only)

    # -- export ---------------------------------------------------------------------------------
    def export(self, out_dir) -> list[Path]:
        """Write the results, figures, metrics.csv and manifest.json (core.export) into out_dir;
        returns the files. Raises ImageWriteError; ValueError when there is nothing to export."""
        if self.prepared is None or not self.results:
            raise ValueError("nothing to export yet: run a comparison first")
        self.exported = export_results(self, out_dir)
        self.events.exported.emit(list(self.exported))
        return self.exported
