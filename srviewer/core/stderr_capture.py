"""What C libraries write to the process's stderr (file descriptor 2), caught instead of printed.

Image decoders (libtiff, OpenCV) and TensorFlow's start-up (absl and C++ log lines) write to fd 2
directly, past Python's `sys.stderr`. `captured_stderr()` points fd 2 at a temporary file for the
duration of a block and hands back the lines written meanwhile. fd 2 belongs to the whole process,
so captures are serialised by one lock, and anything another thread writes to stderr while one is
open is caught with it: keep the captured block short.
"""

from __future__ import annotations

import contextlib
import os
import sys
import tempfile
import threading
from typing import Iterator

_lock = threading.RLock()


@contextlib.contextmanager
def captured_stderr() -> Iterator[list[str]]:
    """Catch fd 2 for the duration; the yielded list holds the non-empty lines written to it once
    the block has ended (also when it raised). Where fd 2 cannot be redirected nothing is caught."""
    lines: list[str] = []
    with _lock:
        redirect = _redirect()
        try:
            yield lines
        finally:
            lines.extend(_restore(redirect))


def _redirect():
    """Point fd 2 at a temporary file: (saved fd, file), or None where fd 2 cannot be redirected."""
    try:
        sys.stderr.flush()
    except (AttributeError, OSError, ValueError):
        pass
    try:
        saved = os.dup(2)
    except OSError:
        return None
    handle = tempfile.TemporaryFile(mode="w+b")
    try:
        os.dup2(handle.fileno(), 2)
    except OSError:
        os.close(saved)
        handle.close()
        return None
    return saved, handle


def _restore(redirect) -> list[str]:
    """Put fd 2 back; the non-empty lines written to it meanwhile."""
    if redirect is None:
        return []
    saved, handle = redirect
    os.dup2(saved, 2)
    os.close(saved)
    with handle:
        handle.seek(0)
        data = handle.read()
    return [line for line in data.decode("utf-8", "replace").splitlines() if line.strip()]
