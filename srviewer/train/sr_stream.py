"""Training data from folders too big to hold in memory: images read as they are needed.

`sr_data.load_pairs` reads and degrades every image once and keeps them all (and an .npz cache):
right for a few hundred photos, not for tens of thousands. From STREAM_FROM images on
(`$SRVIEWER_STREAM_FROM`, default 2000) a folder is streamed instead: only the image headers are
read up front (sizes, so images smaller than the patch are skipped), and the sampler works through
a *window* of WINDOW images at a time, each read and degraded (whole, with the run's kernel, so
patches are exactly those of the in-memory path) when its window starts and dropped when the window
moves on. A window serves `window * reuse / batch` steps; which images form window w is drawn from
(seed, w), so batches stay deterministic in (seed, step) and a resumed run draws new ones.

Memory: at most one window of decoded pairs, whatever the folder's size. Data as in sr_data:
uint8 RGB HWC images, batches float32 NHWC [0, 1].
"""

from __future__ import annotations

import os
from collections import OrderedDict
from pathlib import Path

import numpy as np

from srviewer.core.conventions import downscale, mod_crop
from srviewer.core.images import read_image, to_uint8
from srviewer.errors import DataError, ImageReadError
from srviewer.train.sr_data import PatchSampler, find_images, is_named_source, load_training_data

WINDOW = 64          # decoded images resident at once
REUSE = 4            # patches drawn per resident image, on average, before the window moves on


def stream_from() -> int:
    """The image count from which a folder is streamed ($SRVIEWER_STREAM_FROM, default 2000)."""
    try:
        return max(1, int(os.environ.get("SRVIEWER_STREAM_FROM", "2000")))
    except ValueError:
        raise DataError("SRVIEWER_STREAM_FROM must be a whole number of images") from None


def _header_size(path: Path) -> tuple[int, int] | None:
    """(height, width) from the file's header only, or None when it is not a readable image."""
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(path) as img:
            return img.size[1], img.size[0]
    except (OSError, UnidentifiedImageError, ValueError):
        return None


class StreamedPairs:
    """A PairSet whose `hr[i]` / `lr[i]` are read (and degraded) on access, at most `resident` kept.

    `shapes[i]` is image i's mod-cropped HR (height, width) from its header. `reads` counts decodes.
    """

    def __init__(self, paths: list[Path], shapes: list[tuple[int, int]], scale: int, kernel: str,
                 skipped: list[tuple[str, str]], resident: int = WINDOW):
        self.paths, self.shapes, self.scale, self.kernel = paths, shapes, scale, kernel
        self.names = [str(p) for p in paths]
        self.skipped = skipped
        self.resident, self.reads = resident, 0
        self._cache: OrderedDict[int, tuple[np.ndarray, np.ndarray]] = OrderedDict()
        self.hr, self.lr = _Side(self, 0), _Side(self, 1)

    def pair(self, i: int) -> tuple[np.ndarray, np.ndarray]:
        if i in self._cache:
            self._cache.move_to_end(i)
            return self._cache[i]
        try:
            hr = np.ascontiguousarray(mod_crop(to_uint8(read_image(self.paths[i]).rgb), self.scale))
        except ImageReadError as exc:
            raise DataError(f"training image {exc}") from None
        self.reads += 1
        pair = (hr, downscale(hr, self.scale, self.kernel))
        self._cache[i] = pair
        while len(self._cache) > self.resident:
            self._cache.popitem(last=False)
        return pair

    @property
    def resident_count(self) -> int:
        return len(self._cache)


class _Side:
    """`pairs.hr` or `pairs.lr` of a StreamedPairs: indexable, sized, read on access."""

    def __init__(self, pairs: StreamedPairs, which: int):
        self._pairs, self._which = pairs, which

    def __len__(self) -> int:
        return len(self._pairs.paths)

    def __getitem__(self, i: int) -> np.ndarray:
        return self._pairs.pair(int(i))[self._which]


def stream_pairs(folders: list[str], scale: int, kernel: str, min_size: int, found: list[Path] | None = None) -> StreamedPairs:
    """A StreamedPairs over every image under `folders` (or `found`) at least `min_size` pixels on each side."""
    paths, shapes, skipped = [], [], []
    for path in find_images(folders) if found is None else found:
        size = _header_size(path)
        if size is None:
            skipped.append((str(path), "not a readable image"))
        elif min(size) < min_size:
            skipped.append((str(path), f"smaller than {min_size}x{min_size} pixels"))
        else:
            paths.append(path)
            shapes.append((size[0] // scale * scale, size[1] // scale * scale))
    if not paths:
        raise DataError(f"no readable image of at least {min_size}x{min_size} pixels under "
                        f"{', '.join(map(str, folders))} ({len(skipped)} files skipped)")
    return StreamedPairs(paths, shapes, scale, kernel, skipped)


class StreamingPatchSampler(PatchSampler):
    """PatchSampler's patches (same crops, flips, rotations, degradations) from a window of images."""

    def __init__(self, pairs: StreamedPairs, patch: int = 96, batch: int = 16, seed: int = 0,
                 degradation=None, window: int = WINDOW, reuse: int = REUSE):
        if patch % pairs.scale:
            raise DataError(f"patch size {patch} is not a multiple of the scale {pairs.scale}")
        self.pairs, self.patch, self.batch, self.seed, self.degradation = pairs, patch, batch, seed, degradation
        self.window = min(window, len(pairs.paths))
        pairs.resident = max(pairs.resident, self.window)
        self.steps_per_window = max(1, self.window * reuse // batch)

    def window_images(self, step: int) -> np.ndarray:
        """The image indices resident for `step` (drawn from (seed, window number), no repeats)."""
        w = step // self.steps_per_window
        return np.random.default_rng([self.seed, w, 23]).choice(len(self.pairs.paths), self.window, replace=False)

    def batch_at(self, step: int) -> tuple[np.ndarray, np.ndarray]:
        ids = self.window_images(step)
        areas = np.array([h * w for h, w in (self.pairs.shapes[i] for i in ids)], dtype=np.float64)
        self._usable, self._p = ids, areas / areas.sum()
        return super().batch_at(step)


def load_for_training(spec: list[str], scale: int, kernel: str, min_size: int):
    """`--data` as sr_data.load_training_data reads it, except that folders holding `stream_from()`
    images or more are streamed (StreamedPairs)."""
    if not any(is_named_source(s) for s in spec):
        found = find_images(spec)
        if len(found) >= stream_from():
            return stream_pairs(spec, scale, kernel, min_size, found)
    return load_training_data(spec, scale, kernel, min_size)


def make_sampler(pairs, patch: int, batch: int, seed: int, degradation=None) -> PatchSampler:
    if isinstance(pairs, StreamedPairs):
        return StreamingPatchSampler(pairs, patch, batch, seed, degradation=degradation)
    return PatchSampler(pairs, patch, batch, seed, degradation=degradation)
