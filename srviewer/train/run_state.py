"""The state of one training run, read from its events.jsonl (Qt-free; napari's model/view split).

The Training tab draws a `RunState` and `srviewer train status RUN` prints one; both only read it.

What it holds (read these attributes):
    run_dir, kind       the run folder and its kind ("srresnet", "srgan", ..., "augment"; None unknown)
    layout              "sr" (losses, validation PSNR, SSIM by step) or "augment" (accuracy, loss by epoch)
    status              "empty" (no event yet) | "running" (started, not ended: also a run that was
                        killed, which the events alone cannot tell) | "stopped" | "finished" | "error"
    finished_reason     the `finished` event's reason ("done" | "stopped") or None
    error_message       the `error` event's message, or ""
    step, total_steps   the last step seen and the run's total (None unknown)
    unit                what a step counts: "step" (a batch), or "seed" for the augmentation experiment
                        repeated over seeds (its `started` event lists them)
    steps_per_s, eta_s  from the last `train` event (ETA computed from the rate when the event has none)
    variant, epoch      what the augmentation experiment is running (None for SR runs)
    distribution        how the run spreads over devices, from its last `started` event: {"strategy",
                        "strategy_class", "replicas", "workers", "devices", "precision", "compute_dtype"}
                        ({} for runs that do not say); `devices_line()` puts it in words
    last_val            {metric: value} of the last `val` event, and val_step its step
    sample, sample_step the latest sample image (a Path under run_dir) and its step, or None
    plot                the augmentation experiment's final accuracy plot (a Path) or None
    curves              {(plot, series): Curve}: each curve keeps, per x, the event written last (a
                        resumed run repeats the steps after its last checkpoint: the resumed run's
                        points replace the killed run's), so x always grows

Changing it: `attach(run_dir, kind=None)` (forget everything, follow that folder: kind from its
config.json when not given), `poll()` (read what RUN/events.jsonl gained since the last poll, a torn
last line left for the next one) or `feed(records)` (events from anywhere); `RunState.load(run_dir)`
is attach + poll.

Events (`state.events.NAME.connect(callback)`, core.observable), once per `feed` batch, in this order:
    reset()                         attach() forgot the previous run
    started(record)                 a `started` event arrived (the engine is up)
    curves_changed(keys)            these curve keys got points, or the layout changed (keys may be empty)
    validated(step, values)         a `val` event arrived
    checkpointed(step)              a `checkpoint` event arrived
    sample_changed(path, step)      a newer sample image
    progressed()                    step, rate, ETA or status changed (`status_line()` is new)
    finished(reason)                a `finished` event: reason "done" | "stopped"
    failed(message)                 an `error` event
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path

from srviewer.core.observable import Events
from srviewer.train.event_tail import EventTail
from srviewer.train.run_index import kept_generators

# Fields of an event that are not curves.
NOT_SERIES = frozenset({"event", "time", "step", "steps_per_s", "lr", "eta_s", "total", "total_steps", "epoch",
                        "seconds", "batch", "batches", "images", "classes", "pid"})
DISTRIBUTION_FIELDS = ("strategy", "strategy_class", "replicas", "workers", "devices", "precision", "compute_dtype")
EVENT_NAMES = ("reset", "started", "curves_changed", "validated", "checkpointed", "sample_changed", "progressed",
               "finished", "failed")


@dataclass
class Curve:
    """One series of a plot: points (x, y) in the order of x."""

    plot: str                      # "loss" | "psnr" | "ssim" (SR runs); "accuracy" | "loss" (augment)
    name: str                      # "loss", "psnr_y", "val loss", "cutmix val_accuracy", ...
    group: str                     # what shares a colour: the series itself, or the augment variant
    xs: list[float] = field(default_factory=list)
    ys: list[float] = field(default_factory=list)

    @property
    def validation(self) -> bool:
        """A validation series of the augmentation experiment ("cutmix val_accuracy"): drawn solid."""
        return "val_" in self.name

    def add(self, x: float, y: float) -> None:
        """Append (x, y); points at x or after it go first (the event written last wins)."""
        while self.xs and self.xs[-1] >= x:
            self.xs.pop()
            self.ys.pop()
        self.xs.append(float(x))
        self.ys.append(float(y))


def eta_text(seconds: float | None) -> str:
    """H:MM:SS or M:SS; "–" when unknown."""
    if seconds is None or seconds != seconds or seconds < 0:
        return "–"
    seconds = int(round(seconds))
    h, rest = divmod(seconds, 3600)
    return f"{h}:{rest // 60:02d}:{rest % 60:02d}" if h else f"{rest // 60}:{rest % 60:02d}"


def _numbers(record: dict):
    """(name, value) of the record's numeric fields that are curves ({"losses": {...}} flattened)."""
    flat = dict(record)
    if isinstance(record.get("losses"), dict):
        flat.update(record["losses"])
    for key, value in flat.items():
        if key not in NOT_SERIES and isinstance(value, (int, float)) and not isinstance(value, bool):
            yield key, float(value)


def _is_number(value) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def read_kind(run_dir: str | os.PathLike) -> str | None:
    """The run's kind from RUN/config.json ("kind", or "experiment" in older runs), or None."""
    try:
        config = json.loads((Path(run_dir) / "config.json").read_text(encoding="utf-8"))
        kind = config.get("kind") or config.get("experiment")
    except (OSError, ValueError, AttributeError):
        return None
    return kind if isinstance(kind, str) else None


class RunState:
    """One training run's progress, curves and status (see the module docstring)."""

    def __init__(self, run_dir: str | os.PathLike | None = None, kind: str | None = None):
        self.events = Events(*EVENT_NAMES)
        self._tail: EventTail | None = None
        self._clear(kind)
        self.run_dir: Path | None = None
        if run_dir is not None:
            self.attach(run_dir, kind)

    @classmethod
    def load(cls, run_dir: str | os.PathLike) -> "RunState":
        """The state of a run folder as its files stand now."""
        state = cls(run_dir)
        state.poll()
        return state

    def _clear(self, kind: str | None) -> None:
        self.kind = kind
        self.layout = "augment" if kind == "augment" else "sr"
        self.status = "empty"
        self.finished_reason: str | None = None
        self.error_message = ""
        self.step = 0
        self.total_steps: int | None = None
        self.unit = "step"
        self.steps_per_s: float | None = None
        self.eta_s: float | None = None
        self.variant: str | None = None
        self.epoch: int | None = None
        self.last_val: dict[str, float] = {}
        self.val_step: int | None = None
        self.sample: Path | None = None
        self.sample_step: int | None = None
        self.plot: Path | None = None
        self.curves: dict[tuple[str, str], Curve] = {}
        self.distribution: dict = {}

    # -- following a run folder -------------------------------------------------------------------
    def attach(self, run_dir: str | os.PathLike, kind: str | None = None) -> None:
        """Forget the previous run and follow `run_dir` from its first event."""
        self.run_dir = Path(run_dir)
        self._clear(kind if kind is not None else read_kind(self.run_dir))
        self._tail = EventTail(self.run_dir)
        self.events.reset.emit()

    @property
    def attached(self) -> bool:
        return self._tail is not None

    def poll(self) -> list[dict]:
        """Feed the events RUN/events.jsonl gained since the last poll; returns them."""
        if self._tail is None:
            return []
        records = self._tail.read_new()
        if records:
            self.feed(records)
        return records

    # -- events in ---------------------------------------------------------------------------------
    def feed(self, records: list[dict]) -> None:
        """Take events (events.jsonl records, oldest first) into the state, then emit (see above)."""
        keys: set[tuple[str, str]] = set()
        layout = self.layout
        started = validated = checkpointed = finished = failed = None
        sample = self.sample
        for record in records:
            name = record.get("event")
            step = record.get("step")
            if _is_number(step):
                self.step = int(step)
            if isinstance(record.get("total_steps"), int) and name != "finished":
                self.total_steps = record["total_steps"]
            if name == "started":
                self.kind = record.get("kind", self.kind)
                self.layout = "augment" if self.kind == "augment" else "sr"
                self.status, self.finished_reason, self.error_message = "running", None, ""
                self.distribution = {k: record[k] for k in DISTRIBUTION_FIELDS if k in record}
                self.unit = "seed" if record.get("seeds") else "step"
                started = record
            elif name == "train":
                self._on_train(record, keys)
            elif name == "val":
                values = dict(_numbers(record))
                self.last_val, self.val_step = values, self.step
                if self.layout == "sr":
                    for key, value in values.items():
                        plot = "psnr" if "psnr" in key else "ssim" if "ssim" in key else "loss"
                        self._add(keys, plot, key if plot != "loss" else f"val {key}", step, value)
                validated = (self.step, values)
            elif name == "epoch":
                self.layout = "augment"
                variant = str(record.get("variant", "run"))
                for key, value in _numbers(record):
                    self._add(keys, "accuracy" if "acc" in key else "loss", f"{variant} {key}",
                              record.get("epoch"), value, group=variant)
            elif name == "variant":
                self.variant, self.epoch = record.get("variant"), record.get("epoch")
            elif name == "sample" and self.run_dir is not None and record.get("path"):
                self.sample, self.sample_step = self.run_dir / str(record["path"]), self.step
            elif name == "checkpoint":
                checkpointed = self.step
            elif name == "finished":
                reason = str(record.get("reason"))
                self.finished_reason = reason
                self.status = "finished" if reason == "done" else "stopped" if reason == "stopped" else reason
                if self.run_dir is not None and record.get("plot"):
                    self.plot = self.run_dir / str(record["plot"])
                finished = reason
            elif name == "error":
                self.status, self.error_message = "error", str(record.get("message", ""))
                failed = self.error_message
        if started is not None:
            self.events.started.emit(started)
        if keys or layout != self.layout:
            self.events.curves_changed.emit(keys)
        if validated is not None:
            self.events.validated.emit(*validated)
        if checkpointed is not None:
            self.events.checkpointed.emit(checkpointed)
        if sample != self.sample:
            self.events.sample_changed.emit(self.sample, self.sample_step)
        if records:
            self.events.progressed.emit()
        if finished is not None:
            self.events.finished.emit(finished)
        if failed is not None:
            self.events.failed.emit(failed)

    def _on_train(self, record: dict, keys: set) -> None:
        rate = record.get("steps_per_s")
        self.steps_per_s = float(rate) if _is_number(rate) else None
        eta = record.get("eta_s")
        if not _is_number(eta) and self.steps_per_s and self.total_steps:
            eta = (self.total_steps - self.step) / self.steps_per_s
        self.eta_s = float(eta) if _is_number(eta) else None
        if "variant" in record:
            self.variant, self.epoch = record.get("variant"), record.get("epoch")
        if self.layout == "sr":
            for key, value in _numbers(record):
                self._add(keys, "loss", key, record.get("step"), value)

    def _add(self, keys: set, plot: str, series: str, x, y: float, group: str | None = None) -> None:
        if not _is_number(x):
            return
        key = (plot, series)
        if key not in self.curves:
            self.curves[key] = Curve(plot, series, group or series)
        self.curves[key].add(x, y)
        keys.add(key)

    # -- read out ----------------------------------------------------------------------------------
    def kept_generators(self) -> dict[int, Path]:
        """{validation step: RUN/generators/step_N.weights.h5} this run kept (sidecar beside each)."""
        return kept_generators(self.run_dir) if self.run_dir is not None else {}

    def checkpoint(self, which: str | int = "best") -> Path | None:
        """RUN/best.weights.h5 or RUN/latest.weights.h5 ("best" | "latest"), or the generator kept at
        validation step `which` (an int); None when it (or its JSON sidecar) is not there yet."""
        if self.run_dir is None:
            return None
        if isinstance(which, int):
            return self.kept_generators().get(which)
        path = self.run_dir / f"{which}.weights.h5"
        return path if path.is_file() and path.with_name(f"{which}.json").is_file() else None

    @property
    def fraction(self) -> float | None:
        """step / total_steps in [0, 1], or None when the total is unknown."""
        if not self.total_steps:
            return None
        return min(max(self.step / self.total_steps, 0.0), 1.0)

    def running_what(self) -> str:
        """What the run is doing: "srresnet step 40 / 100", "augment step 12 / 80: cutmix epoch 2"."""
        text = f"{self.kind or 'run'} {self.unit} {self.step}" + (f" / {self.total_steps}" if self.total_steps else "")
        return text + (f": {self.variant} epoch {self.epoch}" if self.variant else "")

    def devices_line(self) -> str:
        """How the run spreads: "MirroredStrategy: 2 replicas on CPU:0, CPU:1, mixed (bfloat16)"; "" unknown."""
        d = self.distribution
        if not d.get("replicas"):
            return ""
        devices = ", ".join(str(x).split("device:")[-1] for x in d.get("devices", []))
        workers = f" on {d['workers']} workers" if d.get("workers", 1) > 1 else ""
        name = (d.get("strategy_class") or d.get("strategy", "")).lstrip("_")
        where = f"{name}: {d['replicas']} replica{'s' * (d['replicas'] > 1)}"
        precision = f", mixed ({d.get('compute_dtype')})" if d.get("precision") == "mixed" else ""
        return f"{where}{workers} on {devices}{precision}" if devices else f"{where}{workers}{precision}"

    def status_line(self) -> str:
        """One line for a status bar: rate and ETA while running, how it ended once it has."""
        if self.finished_reason is not None:
            if self.unit == "seed":
                return f"{self.finished_reason} after {self.step} of {self.total_steps} seeds"
            return f"{self.finished_reason} at step {self.step}"
        if self.status == "error":
            return f"error at step {self.step}: {self.error_message}"
        if self.steps_per_s is None and self.eta_s is None:
            return ""
        where = f"  {self.variant} epoch {self.epoch}" if self.variant else ""
        return f"{self.steps_per_s or 0:.2f} steps/s   ETA {eta_text(self.eta_s)}{where}"
