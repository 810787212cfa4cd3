"""Out-of-memory handling for inference: retry with smaller tiles, then say so clearly."""

from __future__ import annotations

from typing import Callable, Sequence

from srviewer.errors import OutOfMemoryError


def _is_oom(exc: BaseException) -> bool:
    if isinstance(exc, MemoryError):
        return True
    if type(exc).__name__ == "ResourceExhaustedError":
        return True
    text = str(exc)
    return "OOM" in text or "out of memory" in text.lower()


def run_with_oom_retry(fn: Callable[[int], object], tile_sizes: Sequence[int], what: str = "inference"):
    """Call fn(tile) with each tile size in turn until one fits in memory.

    Any error that is not an out-of-memory error propagates at once. When even the smallest tile
    runs out of memory, OutOfMemoryError says so in one line.
    """
    last = None
    for tile in tile_sizes:
        try:
            return fn(tile)
        except Exception as exc:  # noqa: BLE001 - only OOM is retried
            if not _is_oom(exc):
                raise
            last = exc
    raise OutOfMemoryError(
        f"{what} ran out of memory even with {tile_sizes[-1]}-pixel tiles: close other programs, "
        "use a smaller image, or choose a lighter method") from last
