"""Results kept between runs: a second Run on the same image with the same settings shows at once.

What a comparison computes depends only on the image's pixels, the mode, the kernel (the
degradation chain), the scale and the method; a method is the same when it is the same object in
the registry and, for a model file, the file has not changed on disk (size and modification
time). `ResultCache` keeps the prepared LR/HR and each `compare.MethodFinished` under those keys,
least recently used first out, within `max_bytes` (a result larger than that is not kept).
Thread-safe: the window's worker thread reads and fills it.
"""

from __future__ import annotations

import hashlib
import threading
from collections import OrderedDict
from pathlib import Path

import numpy as np

MAX_BYTES = 1 << 30


def image_digest(rgb: np.ndarray) -> str:
    """A digest of an image's pixels, shape and dtype (a few ms for a photo)."""
    digest = hashlib.blake2b(digest_size=16)
    digest.update(f"{rgb.shape}{rgb.dtype}".encode())
    digest.update(np.ascontiguousarray(rgb).data)
    return digest.hexdigest()


def _file_state(method) -> tuple:
    path = getattr(method, "path", None)
    if path is None:
        return ()
    try:
        stat = Path(path).stat()
    except OSError:
        return (str(path),)
    return (str(path), stat.st_size, stat.st_mtime_ns)


def _nbytes(value) -> int:
    arrays = [v for v in vars(value).values() if isinstance(v, np.ndarray)]
    return sum(a.nbytes for a in arrays)


class ResultCache:
    def __init__(self, max_bytes: int = MAX_BYTES):
        self.max_bytes = max_bytes
        self._entries: OrderedDict[tuple, tuple[object, object, int]] = OrderedDict()
        self._bytes = 0
        self._lock = threading.Lock()
        self.hits = 0

    @staticmethod
    def run_key(request) -> tuple:
        """What the prepared images depend on: the pixels, mode, kernel, scale and (reference mode)
        the degradation chain that makes the LR (a frozen dataclass: seed included)."""
        chain = request.chain() if request.mode == "reference" else None
        return (image_digest(request.image.rgb), request.image.bit_depth, request.mode, request.kernel, request.scale,
                chain)

    def get(self, key: tuple, owner=None):
        """The value kept under key, or None; with `owner` (a method), only if kept for that same
        object and its file is unchanged."""
        full = key + _file_state(owner)
        with self._lock:
            entry = self._entries.get(full)
            if entry is None or (owner is not None and entry[0] is not owner):
                return None
            self._entries.move_to_end(full)
            self.hits += 1
            return entry[1]

    def put(self, key: tuple, value, owner=None) -> None:
        full = key + _file_state(owner)
        size = _nbytes(value)
        if size > self.max_bytes:
            return
        with self._lock:
            old = self._entries.pop(full, None)
            if old is not None:
                self._bytes -= old[2]
            self._entries[full] = (owner, value, size)
            self._bytes += size
            while self._bytes > self.max_bytes:
                _key, (_owner, _value, dropped) = self._entries.popitem(last=False)
                self._bytes -= dropped

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()
            self._bytes = 0
