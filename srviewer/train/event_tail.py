"""Follow a growing file without re-reading it: `events.jsonl` of a live run, or a console log.

`LineTail` keeps a byte offset and returns only the lines completed since the last call; a torn
last line (no newline yet: the writer is mid-write, or was killed) is left for the next call.
`EventTail` parses those lines the way `events.iter_events` does (objects with an "event" key,
corrupt lines skipped). Both are plain Python (no Qt): the training tab polls them from a timer.
Written by gui-training because `events.py` offers only whole-file reads.
"""

from __future__ import annotations

import os
from pathlib import Path

from srviewer.train.events import EVENTS_FILE, parse_event_line


class LineTail:
    """New complete lines of a text file (UTF-8, undecodable bytes replaced), from an offset."""

    def __init__(self, path: str | os.PathLike, offset: int = 0):
        self.path = Path(path)
        self.offset = offset

    def reset(self) -> None:
        self.offset = 0

    def read_lines(self, max_bytes: int = 8 << 20) -> list[str]:
        """Lines completed since the last call, without their newline. A missing file gives []."""
        try:
            size = self.path.stat().st_size
        except OSError:
            return []
        if size < self.offset:  # the file was replaced or truncated: start again
            self.offset = 0
        if size == self.offset:
            return []
        with open(self.path, "rb") as handle:
            handle.seek(self.offset)
            data = handle.read(max_bytes)
        end = data.rfind(b"\n")
        if end < 0:
            return []  # only a torn line so far
        self.offset += end + 1
        return data[:end].decode("utf-8", errors="replace").split("\n")


class EventTail:
    """New events of a run's events.jsonl (give the run folder or the file)."""

    def __init__(self, path: str | os.PathLike):
        path = Path(path)
        self._lines = LineTail(path / EVENTS_FILE if path.suffix != ".jsonl" else path)

    @property
    def path(self) -> Path:
        return self._lines.path

    def reset(self) -> None:
        self._lines.reset()

    def read_new(self) -> list[dict]:
        records = (parse_event_line(line) for line in self._lines.read_lines())
        return [r for r in records if r is not None]
