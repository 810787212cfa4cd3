"""Loading learned models ahead of need, in the background: the window's start-up preloading.

`start_preload(methods, cancel)` starts a daemon thread that loads, in order, each method that runs
in a model process (`ModelMethod` with a `process`): the child starts and imports TensorFlow, then
each model loads, while the window is already on screen. A run's own requests go first
(`ModelProcess.request(background=True)`), so preloading never delays a result by more than the
one load in flight. A model that fails to load is skipped here: the run reports it.
"""

from __future__ import annotations

import threading

from srviewer.core import timeline
from srviewer.core.cancel import CancelToken


def preloadable(methods) -> list:
    """The methods worth loading ahead: available, run in a model process, not loaded yet."""
    chosen = []
    for method in methods:
        if getattr(method, "process", None) is None or getattr(method, "_loaded", None) is not None:
            continue
        ok, _reason = method.availability()
        if ok:
            chosen.append(method)
    return chosen


def preload(methods, cancel: CancelToken | None = None) -> dict[str, str]:
    """Load the methods in turn (background requests); {name: failure message} for those that failed."""
    failed = {}
    for method in preloadable(methods):
        if cancel is not None and cancel.cancelled:
            break
        try:
            timeline.mark(f"preload {method.name} asked")
            method.load(background=True)
            timeline.mark(f"preload {method.name} loaded")
        except Exception as exc:  # noqa: BLE001 - the run reports it again, in its place
            failed[method.name] = f"{type(exc).__name__}: {exc}"
    return failed


def start_preload(methods, cancel: CancelToken | None = None, process=None) -> threading.Thread:
    """A daemon thread that starts `process` (if given) and preloads `methods`; returns it started."""
    methods = list(methods)

    def body() -> None:
        if process is not None and not (cancel is not None and cancel.cancelled):
            try:
                process.start()
            except Exception:  # noqa: BLE001 - the first request starts it again and reports
                return
        preload(methods, cancel)

    thread = threading.Thread(target=body, name="srviewer-preload", daemon=True)
    thread.start()
    return thread
