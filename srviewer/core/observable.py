"""Plain-Python events for the Qt-free models (core.session, train.run_state): napari's split.

A model owns `self.events = Events("prepared", "crop_changed", ...)`; a view subscribes with
`model.events.prepared.connect(callback)` and the model calls `self.events.prepared.emit(...)`.
Callbacks run at once, in connection order, in the thread that emits (a Qt front end hands the
model its inputs in the GUI thread, so its callbacks may touch widgets). An exception raised by a
callback propagates to the emitter's caller: nothing is swallowed.
"""

from __future__ import annotations

from typing import Callable


class Emitter:
    """One event: a list of callbacks called with the emitted arguments."""

    def __init__(self, name: str = ""):
        self.name = name
        self._callbacks: list[Callable] = []

    def connect(self, callback: Callable) -> Callable:
        """Call `callback(*args)` at each emit (once, however often it is connected); returns it."""
        if callback not in self._callbacks:
            self._callbacks.append(callback)
        return callback

    def disconnect(self, callback: Callable) -> None:
        """Stop calling `callback`; a callback that was never connected is ignored."""
        if callback in self._callbacks:
            self._callbacks.remove(callback)

    def emit(self, *args) -> None:
        for callback in list(self._callbacks):
            callback(*args)

    def __repr__(self) -> str:
        return f"Emitter({self.name!r}, {len(self._callbacks)} callbacks)"


class Events:
    """A fixed set of named emitters: `Events("a", "b").a` is an Emitter; unknown names fail."""

    def __init__(self, *names: str):
        self._names = tuple(names)
        for name in names:
            setattr(self, name, Emitter(name))

    @property
    def names(self) -> tuple[str, ...]:
        return self._names
