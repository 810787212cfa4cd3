"""Learned models run in a child Python, so the calling process never imports TensorFlow.

Why: importing TensorFlow holds Python's global lock for about 0.9 s (ml_dtypes' module init
alone takes 0.7 s) and inference code holds it in short bursts; in the window's process that
froze the event loop. In a child, the window only waits on a pipe. A child killed by the
system (out of memory) costs one method's result and a message, never the window.

`ModelProcess` starts the child (multiprocessing, spawn) on first use and keeps it: models stay
loaded and compiled between runs. One request runs at a time. Messages, parent -> child:
("load" | "upscale" | "device", spec, payload); child -> parent: ("progress", fraction),
("result", value) or ("error", exception). A `spec` is the dict of ModelMethod settings that
names a model (path, kernel, trust_code, value_range, channels, repeat, scale, tile, jit_compile, precision,
name, label); images
cross as float32 numpy arrays (HxWx3, [0, 1]).
"""

from __future__ import annotations

import multiprocessing as mp
import pickle
import threading
import time
from dataclasses import dataclass

from srviewer.core import timeline
from srviewer.core.cancel import CancelToken
from srviewer.errors import SrviewerError

POLL_S = 0.05


class ModelProcessDied(SrviewerError):
    """The child ended in the middle of a request (killed, most likely for memory)."""


@dataclass(frozen=True)
class RemoteLoaded:
    """What the parent knows of a model loaded in the child."""
    scale: int
    input_kind: str
    label: str
    device: str = ""                 # the runtime's words: "CPU (onnxruntime)", "GPU: ...", ...
    format: str = ""                 # the loader's name: "keras", "onnx", ...
    convention: dict | None = None   # model_conventions.Convention.as_dict()
    notes: tuple = ()


def _picklable(exc: BaseException) -> BaseException:
    try:
        pickle.loads(pickle.dumps(exc))
        return exc
    except Exception:  # noqa: BLE001 - TensorFlow's errors do not all pickle
        return RuntimeError(f"{type(exc).__name__}: {exc}")


_PER_REQUEST = ("name", "label", "tile")   # spec fields that do not change the loaded model


def model_key(spec: dict) -> tuple:
    """What makes two specs the same loaded model: everything but the name, label and tile size
    (the parent renames and relabels a method after its first load; that must not load it again)."""
    return tuple(sorted((k, v) for k, v in spec.items() if k not in _PER_REQUEST))


def _serve(conn, cancel_event, go_event=None, idle_event=None) -> None:
    """The child's loop: one ModelMethod per model_key, kept for the child's life. TensorFlow is
    imported once `go_event` is set (at once without one; seconds): a child started ahead of need
    (the window's preloading) is ready for its first request. `idle_event` is set while the child
    waits for a request (ModelProcess.close: an idle child exits by itself, a busy one is ended)."""
    timeline.set_role("models")
    timeline.mark_process_start()
    timeline.mark("model process serving (srviewer.core.model_process imported)")
    if go_event is not None and not go_event.is_set():
        timeline.mark("held until the window is shown")
        while not go_event.wait(POLL_S):
            if conn.poll() and not go_event.is_set():   # a request sets `go` before it is sent: this is
                return                                  # the pipe's end, the parent closed it (or died)
    from srviewer.core.methods import ModelMethod

    timeline.mark("srviewer.core.methods imported")

    try:
        from srviewer.core.tf_runtime import tf

        tf()
    except Exception:  # noqa: BLE001 - the request that needs TensorFlow reports it
        pass

    methods: dict[tuple, ModelMethod] = {}

    def method_for(spec: dict) -> ModelMethod:
        key = model_key(spec)
        if key not in methods:
            methods[key] = ModelMethod(spec["name"], spec["path"], kernel=spec["kernel"],
                                       trust_code=spec["trust_code"], value_range=spec["value_range"],
                                       jit_compile=spec.get("jit_compile"), precision=spec.get("precision"),
                                       channels=spec.get("channels"), repeat=spec.get("repeat", 1),
                                       scale=spec.get("scale", 4))
        method = methods[key]
        method.name, method.label, method.tile = spec["name"], spec.get("label") or spec["name"], spec.get("tile")
        return method

    _set(idle_event)
    while True:
        try:
            op, spec, payload = conn.recv()
        except (EOFError, OSError):
            return                      # the parent has gone
        if idle_event is not None:
            idle_event.clear()
        what = f"{op} {spec['name']}" if spec else op
        timeline.mark(f"request {what} begins")
        try:
            if op == "load":
                loaded = method_for(spec).load()
                value = RemoteLoaded(loaded.scale, loaded.input_kind, loaded.label, loaded.device, loaded.format,
                                     loaded.convention.as_dict(), tuple(loaded.notes))
            elif op == "upscale":
                value = method_for(spec).upscale(payload, progress=lambda f: conn.send(("progress", float(f))),
                                                 cancel=CancelToken(cancel_event))
            elif op == "device":
                from srviewer.core.tf_runtime import device_description

                value = device_description()
            else:
                raise ValueError(f"unknown request {op!r}")
            _set(idle_event)              # before the answer: the parent may close as soon as it has it
            conn.send(("result", value))
            timeline.mark(f"request {what} answered")
        except BaseException as exc:  # noqa: BLE001 - every failure goes back to the parent
            _set(idle_event)
            conn.send(("error", _picklable(exc)))


def _set(event) -> None:
    if event is not None:
        event.set()


class ModelProcess:
    """The parent's handle on the child. Thread-safe; requests are served one at a time."""

    def __init__(self) -> None:
        self._ctx = mp.get_context("spawn")     # never fork a process that runs Qt or TensorFlow threads
        self._lock = threading.Lock()
        self._proc = None
        self._conn = None
        self._cancel = self._ctx.Event()
        self._go = self._ctx.Event()            # set: the child may import TensorFlow (see start)
        self._idle = self._ctx.Event()          # set by the child while it waits for a request
        self._foreground = 0                    # foreground requests (runs) waiting or in flight
        self._device: str | None = None
        self._waiting = 0                       # foreground requests waiting for their turn
        self._waiting_lock = threading.Lock()

    @property
    def pid(self) -> int | None:
        return self._proc.pid if self._proc is not None and self._proc.is_alive() else None

    def _ensure_started(self) -> None:
        if self._proc is not None and self._proc.is_alive():
            return
        parent, child = self._ctx.Pipe()
        timeline.mark("model process spawn begins")
        self._idle.clear()
        self._proc = self._ctx.Process(target=_serve, args=(child, self._cancel, self._go, self._idle),
                                       name="srviewer-models", daemon=True)
        self._proc.start()
        timeline.mark("model process spawned")
        child.close()
        self._conn = parent

    def start(self, hold: bool = False) -> None:
        """Start the child now rather than on the first request. It imports TensorFlow at once, or
        with `hold` only once `start()` is called again or a request comes: `srviewer gui` starts it
        before Qt, held on a busy machine (TensorFlow's import slowed the window's start there: 1.4 s
        to the window shown became 2.7 s on 2 loaded cores) and released when the window is shown."""
        with self._lock:
            self._ensure_started()
        if not hold:
            self._go.set()

    def _acquire(self, background: bool) -> None:
        """The turn to talk to the child. A background request (preloading) waits while any
        foreground one (a run) waits, so preloading never holds up a result by more than the
        request already in flight."""
        if not background:
            with self._waiting_lock:
                self._waiting += 1
            try:
                self._lock.acquire()
            finally:
                with self._waiting_lock:
                    self._waiting -= 1
            return
        while True:
            self._lock.acquire()
            if self._waiting == 0:
                return
            self._lock.release()
            time.sleep(POLL_S)

    def request(self, op: str, spec: dict | None = None, payload=None, progress=None, cancel=None,
                background: bool = False):
        """Send one request and wait for its answer; re-raises the child's exception here.
        `background`: give way to foreground requests (see `_acquire`)."""
        if not background:
            with self._waiting_lock:
                self._foreground += 1
        try:
            self._acquire(background)
            try:
                return self._request(op, spec, payload, progress, cancel)
            finally:
                self._lock.release()
        finally:
            if not background:
                with self._waiting_lock:
                    self._foreground -= 1

    def _request(self, op, spec, payload, progress, cancel):
        self._ensure_started()
        self._go.set()
        self._cancel.clear()
        self._conn.send((op, spec, payload))
        while True:
            if cancel is not None and cancel.cancelled:
                self._cancel.set()           # the child stops at its next tile
            try:
                ready = self._conn.poll(POLL_S)
                message = self._conn.recv() if ready else None
            except (EOFError, OSError):
                message = None
                ready = True
            if message is None:
                if ready or not self._proc.is_alive():
                    raise self._died()
                continue
            kind, value = message
            if kind == "progress":
                if progress is not None:
                    progress(value)
            elif kind == "result":
                return value
            else:
                raise value

    def _died(self) -> ModelProcessDied:
        self._proc.join(5)
        code = self._proc.exitcode
        self._proc, self._conn = None, None
        how = "was killed (most likely for lack of memory)" if code is not None and code < 0 else f"exited ({code})"
        return ModelProcessDied(f"the model process {how}; it starts again on the next run: "
                                "try a smaller image or tile")

    def device(self) -> str:
        """The child's device, 'GPU: ...' or 'CPU: N threads' (imports TensorFlow there once)."""
        if self._device is None:
            self._device = self.request("device")
        return self._device

    def close(self) -> None:
        """End the child. A run's request still in flight gets 2 s, then the child is terminated
        and that request raises ModelProcessDied. A child busy only with background work (importing
        TensorFlow, preloading a model) is terminated at once: it holds nothing to lose, and a
        window closed during its first seconds closes without waiting. An idle child is let go: it
        returns on the pipe's end."""
        got = self._lock.acquire(timeout=2.0 if self._foreground else 0.0)
        try:
            proc = self._proc
            if proc is not None:
                idle = got and (self._idle.is_set() or not self._go.is_set())   # waiting for a request, or held
                if got and self._conn is not None:
                    self._conn.close()
                proc.join(2 if idle else 0)
                if proc.is_alive():
                    proc.terminate()
                    proc.join(2)
            if got:
                self._proc, self._conn = None, None
        finally:
            if got:
                self._lock.release()


def start_beside_window() -> ModelProcess:
    """The model process `srviewer gui` starts before Qt. It imports TensorFlow at once where a core
    is idle besides the one the window's start takes (the import overlaps the window's start), and
    is held on a busy machine, where the import slowed the window's start, until the window is shown
    (MainWindow.preload_models). The timeline says which."""
    from srviewer.core.host import spare_cores

    spare = spare_cores()   # before ModelProcess(): its Events start multiprocessing's resource tracker
    process = ModelProcess()
    hold = spare < 1.5      # the caller counts as idle in spare_cores: it needs one core, the import another
    process.start(hold=hold)
    timeline.mark(f"model process started, {'held' if hold else 'not held'} ({spare:.1f} cores idle)")
    return process
