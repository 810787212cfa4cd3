"""What image decoders say while they decode, caught instead of printed.

Pillow warns through Python's `warnings` (a UserWarning naming a site-packages file), libtiff
and OpenCV write straight to the process's stderr (file descriptor 2: `TIFFReadDirectory: ...`,
`[ WARN:0@1.2] ...`). A user of `srviewer upscale damaged.tif` should see srviewer's one line,
not six. `captured()` collects both kinds as short lines for the image's notes (shown with -v).

fd 2 is caught by `stderr_capture` (one capture at a time in the process; whatever another thread
writes to stderr meanwhile is caught with it and shown with the notes): keep the captured section
to the decoding itself.
"""

from __future__ import annotations

import contextlib
import warnings
from typing import Iterator

from srviewer.core.stderr_capture import captured_stderr

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
    stderr_lines: list[str] = []
    try:
        with captured_stderr() as stderr_lines, warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            yield lines
    finally:
        for text in [str(w.message) for w in caught] + stderr_lines:
            text = " ".join(text.split())[:MAX_CHARS]
            if text and text not in lines and len(lines) < MAX_LINES:
                lines.append(text)
