"""What image decoders say while they decode, caught instead of printed.

Pillow warns through Python's `warnings` (a UserWarning naming a site-packages file), libtiff
and OpenCV write straight to the process's stderr (file descriptor 2: `TIFFReadDirectory: ...`,
`[ WARN:0@1.2] ...`). A user of `srviewer upscale damaged.tif` should see srviewer's one line,
not six. `captured()` collects both kinds as short lines for the image's notes (shown with -v).

fd 2 belongs to the whole process, so captures are serialised by a lock, and while one is open
anything another thread writes to stderr is caught with it (and shown with the notes). Keep the
captured section to the decoding itself.
"""

from __future__ import annotations

import contextlib
import os
import sys
import tempfile
import threading
import warnings
from typing import Iterator

_lock = threading.RLock()
MAX_LINES = 8          # notes kept from one decode
MAX_CHARS = 200        # characters kept of each


class Captured(list):
    """The lines caught: decoder warnings first, then the C libraries' stderr, in order, deduplicated."""


@contextlib.contextmanager
def captured() -> Iterator[Captured]:
    """Catch Python warnings and the C libraries' stderr for the duration; the lines are in the
    yielded list once the block has ended (also when it raised)."""
    lines = Captured()
    caught: list = []
    with _lock:
        redirect = _redirect_stderr()
        try:
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always")
                yield lines
        finally:
            found = [str(w.message) for w in caught] + _restore_stderr(redirect)
            for text in found:
                text = " ".join(text.split())[:MAX_CHARS]
                if text and text not in lines and len(lines) < MAX_LINES:
                    lines.append(text)


def _redirect_stderr():
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


def _restore_stderr(redirect) -> list[str]:
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
