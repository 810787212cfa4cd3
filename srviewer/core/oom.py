"""Out of memory: the one test for it (`is_oom`), the one message, and the retry with smaller tiles.

No TensorFlow import here: a TensorFlow error is recognised by its type name (and by
isinstance when TensorFlow is already loaded), so the window's process can use this module.
"""

from __future__ import annotations

import gc
import logging
import sys
from typing import Callable, Iterable, TypeVar

from srviewer.errors import OutOfMemoryError

log = logging.getLogger(__name__)
T = TypeVar("T")

OOM_MESSAGE = "out of memory, even with the smallest tile: try a smaller image, or close other programs"


def is_oom(exc: BaseException) -> bool:
    """True for out-of-memory failures: MemoryError, TensorFlow's ResourceExhaustedError, or
    'OOM' / 'out of memory' in the message."""
    if isinstance(exc, MemoryError):
        return True
    tf = sys.modules.get("tensorflow")
    errors = getattr(tf, "errors", None)
    if errors is not None and isinstance(exc, getattr(errors, "ResourceExhaustedError", ())):
        return True
    if "ResourceExhausted" in type(exc).__name__:
        return True
    msg = str(exc)
    return "OOM" in msg or "out of memory" in msg.lower()


def run_with_oom_retry(fn: Callable[[int], T], tile_sizes: Iterable[int] | None = None,
                       what: str = "inference") -> T:
    """Call `fn(tile)` with each tile size in turn until one does not run out of memory.

    Errors other than out-of-memory propagate at once. If the smallest size still runs out of
    memory, raises OutOfMemoryError with a one-line message.
    """
    if tile_sizes is None:
        from srviewer.core.tiling import tile_sizes as budget_sizes

        tile_sizes = budget_sizes()
    sizes = list(tile_sizes)
    if not sizes:
        raise ValueError("no tile sizes given")
    last = None
    for size in sizes:
        try:
            return fn(size)
        except Exception as exc:
            if not is_oom(exc):
                raise
            last = exc
            log.warning("out of memory with tile %d; retrying smaller", size)
            gc.collect()
    first_line = str(last).strip().splitlines()[0][:160] if last is not None and str(last).strip() else type(last).__name__
    raise OutOfMemoryError(
        f"{what} ran out of memory even with {sizes[-1]}x{sizes[-1]} tiles ({first_line}); "
        "close other programs, use a smaller --tile or a smaller image"
    ) from last
