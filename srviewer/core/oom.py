"""Retry inference with smaller tiles when it runs out of memory. Imports TensorFlow only if TF is loaded."""

from __future__ import annotations

import gc
import logging
from typing import Callable, Iterable, TypeVar

from srviewer.errors import OutOfMemoryError

log = logging.getLogger(__name__)
T = TypeVar("T")

DEFAULT_TILE_SIZES = (512, 256, 128, 64)


def _is_oom(exc: BaseException) -> bool:
    from srviewer.core.tf_runtime import is_oom  # tf_runtime imports no TensorFlow at module import

    return is_oom(exc)


def run_with_oom_retry(fn: Callable[[int], T], tile_sizes: Iterable[int] = DEFAULT_TILE_SIZES,
                       what: str = "inference") -> T:
    """Call `fn(tile)` with each tile size in turn until one does not run out of memory.

    Errors other than out-of-memory propagate at once. If the smallest size still runs out of
    memory, raises OutOfMemoryError with a one-line message.
    """
    sizes = list(tile_sizes)
    if not sizes:
        raise ValueError("no tile sizes given")
    last = None
    for size in sizes:
        try:
            return fn(size)
        except Exception as exc:
            if not _is_oom(exc):
                raise
            last = exc
            log.warning("out of memory with tile %d; retrying smaller", size)
            gc.collect()
    first_line = str(last).strip().splitlines()[0][:160] if last is not None and str(last).strip() else type(last).__name__
    raise OutOfMemoryError(
        f"{what} ran out of memory even with {sizes[-1]}x{sizes[-1]} tiles ({first_line}); "
        "close other programs, use a smaller --tile or a smaller image"
    ) from last
