"""A thread-safe cancel flag that long jobs check between steps (tiles, methods, batches)."""

import threading

from srviewer.errors import Cancelled


class CancelToken:
    """Set once by whoever wants the job to stop; checked by the job between units of work.

    `event`: any object with set() and is_set() (a multiprocessing Event, to be cancelled from
    another process); a new threading.Event by default.
    """

    def __init__(self, event=None) -> None:
        self._event = event if event is not None else threading.Event()

    def cancel(self) -> None:
        self._event.set()

    @property
    def cancelled(self) -> bool:
        return self._event.is_set()

    def raise_if_cancelled(self) -> None:
        if self._event.is_set():
            raise Cancelled()
