"""The run's event log: `events.jsonl`, one JSON object a line (see docs/ARCHITECTURE.md).

Every object has `"event"` (started, train, val, sample, checkpoint, finished, error) and `"time"`
(seconds since the epoch). Lines are appended, flushed and fsynced one at a time, so a reader (the
training tab, a model card) can follow the file while it grows. A process killed mid-write can
leave a torn last line; `read_events` skips it.

The events file is an append-only log: it is opened in append mode rather than rewritten through
`core.atomic`, because each line is a complete record and the previous lines are never changed.
"""

from __future__ import annotations

import json
import math
import os
import sys
import time
from pathlib import Path
from typing import Any, Iterator, TextIO

EVENTS_FILE = "events.jsonl"


def _clean(value: Any) -> Any:
    """JSON-safe: numpy scalars to Python numbers, non-finite floats to None."""
    if hasattr(value, "item") and not isinstance(value, (list, dict, str)):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {str(k): _clean(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_clean(v) for v in value]
    return value


class EventLog:
    """Appends events to RUN/events.jsonl; optionally echoes each JSON line to a stream."""

    def __init__(self, run_dir: str | os.PathLike, echo: TextIO | None = None):
        self.path = Path(run_dir) / EVENTS_FILE
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._echo = echo
        self._repair_torn_tail()

    def _repair_torn_tail(self) -> None:
        """A kill can leave the last line without its newline: end it so new lines stay whole."""
        if not self.path.exists() or self.path.stat().st_size == 0:
            return
        with open(self.path, "rb+") as handle:
            handle.seek(-1, os.SEEK_END)
            if handle.read(1) != b"\n":
                handle.write(b"\n")

    def emit(self, event: str, **fields: Any) -> dict:
        record = {"event": event, "time": round(time.time(), 3), **_clean(fields)}
        line = json.dumps(record, sort_keys=False)
        with open(self.path, "a", encoding="utf-8") as handle:
            handle.write(line + "\n")
            handle.flush()
            os.fsync(handle.fileno())
        if self._echo is not None:
            print(line, file=self._echo, flush=True)
        return record


def parse_event_line(line: str) -> dict | None:
    """One events.jsonl line as an event, or None (blank, torn by a killed writer, not an event)."""
    line = line.strip()
    if not line:
        return None
    try:
        record = json.loads(line)
    except json.JSONDecodeError:
        return None
    return record if isinstance(record, dict) and "event" in record else None


def iter_events(path: str | os.PathLike) -> Iterator[dict]:
    """Yield the events of an events.jsonl file (or a run folder); unparsable lines are skipped."""
    path = Path(path)
    if path.is_dir():
        path = path / EVENTS_FILE
    if not path.exists():
        return
    with open(path, encoding="utf-8", errors="replace") as handle:
        for line in handle:
            record = parse_event_line(line)
            if record is not None:
                yield record


def read_events(path: str | os.PathLike) -> list[dict]:
    """All events of a run (folder or events.jsonl path), skipping a torn or corrupt line."""
    return list(iter_events(path))


def print_progress(text: str, stream: TextIO | None = None) -> None:
    """A human progress line (stdout by default)."""
    print(text, file=stream or sys.stdout, flush=True)
