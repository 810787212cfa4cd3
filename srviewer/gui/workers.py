"""Runs the core's comparison off the GUI thread and relays its events into the GUI thread.

`CompareRunner` lives in the GUI thread. `start(request, registry)` cancels any running job
(its events are dropped from then on: the latest request wins) and starts a `_CompareThread`
that iterates `core.compare.run_comparison`. The thread's signals carry a job id and are
connected to this object's slots, so Qt queues them into the GUI thread; only there are the
public signals emitted: `event_received(event)` with each compare event (the Compare tab hands it
to its core.session.ComparisonSession), then `run_cancelled` or `run_failed(message)` if the job
ends otherwise. No GUI code ever waits on TensorFlow.
"""

from __future__ import annotations

import traceback
from pathlib import Path

from PySide6.QtCore import QObject, QThread, Signal, Slot

from srviewer.core import compare as cmp
from srviewer.core.cancel import CancelToken
from srviewer.core.oom import is_oom
from srviewer.errors import Cancelled, SrviewerError


class _CompareThread(QThread):
    event_ready = Signal(int, object)
    job_ended = Signal(int, str, str)  # job id, "done" | "cancelled" | "error", message

    def __init__(self, job_id: int, request, registry, token: CancelToken, cache=None):
        super().__init__()
        self.job_id, self.request, self.registry, self.token = job_id, request, registry, token
        self.cache = cache

    def run(self) -> None:
        try:
            for event in cmp.run_comparison(self.request, self.registry, self.token, cache=self.cache):
                self.event_ready.emit(self.job_id, event)
            self.job_ended.emit(self.job_id, "done", "")
        except Cancelled:
            self.job_ended.emit(self.job_id, "cancelled", "")
        except SrviewerError as exc:
            self.job_ended.emit(self.job_id, "error", str(exc))
        except Exception as exc:  # noqa: BLE001 - reported in the window, never a crash
            if not is_oom(exc):
                traceback.print_exc()
            self.job_ended.emit(self.job_id, "error", cmp.failure_message(exc))


class ModelFileLoader(QThread):
    """Loads a user's model file (`registry.load_model_file`) off the GUI thread; the GUI thread
    registers the method when `loaded(method, path)` arrives, or shows `failed(message)`."""

    loaded = Signal(object, str)
    failed = Signal(str)

    def __init__(self, registry, path, name=None, parent=None):
        super().__init__(parent)
        self.registry, self.path, self.name = registry, str(path), name

    def run(self) -> None:
        try:
            self.loaded.emit(self.registry.load_model_file(self.path, name=self.name), self.path)
        except (SrviewerError, ValueError) as exc:
            self.failed.emit(str(exc))
        except Exception as exc:  # noqa: BLE001 - reported in the window, never a crash
            traceback.print_exc()
            self.failed.emit(f"{Path(self.path).name}: {type(exc).__name__}: {exc}")


def reap_finished(threads: dict) -> None:
    """Forget and delete the finished QThreads of a {job id: thread} dict (a runner's bookkeeping)."""
    for job_id, thread in list(threads.items()):
        if thread.isFinished():
            del threads[job_id]
            thread.deleteLater()


class CompareRunner(QObject):
    event_received = Signal(object)    # a core.compare event (Prepared, MethodStarted, ..., RunFinished)
    run_cancelled = Signal()
    run_failed = Signal(str)
    busy_changed = Signal(bool)

    def __init__(self, parent=None):
        super().__init__(parent)
        self._job_id = 0
        self._token: CancelToken | None = None
        self._threads: dict[int, _CompareThread] = {}

    @property
    def busy(self) -> bool:
        return self._token is not None

    def start(self, request, registry, cache=None) -> int:
        """Run `request` (cancelling the running job); `cache`: a core.result_cache.ResultCache."""
        self.cancel(quiet=True)
        self._job_id += 1
        self._token = CancelToken()
        thread = _CompareThread(self._job_id, request, registry, self._token, cache)
        thread.event_ready.connect(self._on_event_ready)
        thread.job_ended.connect(self._on_job_ended)
        thread.finished.connect(self._on_thread_finished)
        self._threads[self._job_id] = thread
        thread.start()
        self.busy_changed.emit(True)
        return self._job_id

    def cancel(self, quiet: bool = False) -> None:
        if self._token is not None:
            self._token.cancel()
            self._token = None
            if not quiet:
                self.run_cancelled.emit()
            self.busy_changed.emit(False)

    def wait_all(self, ms: int = 30000) -> None:
        """Cancel and wait for every thread (window closing)."""
        self.cancel(quiet=True)
        for thread in list(self._threads.values()):
            thread.wait(ms)

    @Slot(int, object)
    def _on_event_ready(self, job_id: int, event) -> None:
        if job_id != self._job_id or self._token is None:
            return  # a stale job: a newer request replaced it
        self.event_received.emit(event)

    @Slot(int, str, str)
    def _on_job_ended(self, job_id: int, outcome: str, message: str) -> None:
        if job_id != self._job_id or self._token is None:
            return
        self._token = None
        self.busy_changed.emit(False)
        if outcome == "error":
            self.run_failed.emit(message)
        elif outcome == "cancelled":
            self.run_cancelled.emit()

    @Slot()
    def _on_thread_finished(self) -> None:
        reap_finished(self._threads)
