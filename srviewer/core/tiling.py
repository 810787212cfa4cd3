"""Tiled inference: overlapped LR tiles, raised-cosine blending of the overlaps. No TensorFlow here.

Each tile is run with `overlap` extra LR pixels of context on every side that has a neighbour.
Outputs are accumulated with weights that ramp as a raised cosine across a band `overlap/2` LR
pixels wide centred on each cut (the weights of neighbours sum to one), and are zero in the
outer context. Seams vanish, and for a network whose receptive radius is under 3/4 of the
overlap (its receptive field under 1.5x the overlap) the result equals whole-image inference
up to float error.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Callable

import numpy as np

OVERLAP = 16                # LR pixels of context around each tile
MAX_TILE_PIXELS = 320 * 320  # LR pixels per model call, context included: the one memory budget
MIN_TILE = 32               # the smallest tile side tried when memory runs out


@dataclass(frozen=True)
class Tile:
    """An LR rectangle: core [y0:y1, x0:x1] and padded input [py0:py1, px0:px1] (with overlap)."""
    y0: int
    y1: int
    x0: int
    x1: int
    py0: int
    py1: int
    px0: int
    px1: int


def _even_splits(n: int, count: int) -> list[tuple[int, int]]:
    edges = [round(i * n / count) for i in range(count + 1)]   # near-equal pieces
    return [(edges[i], edges[i + 1]) for i in range(count)]


def _padded(n: int, count: int, overlap: int) -> list[int]:
    return [min(n, b + overlap) - max(0, a - overlap) for a, b in _even_splits(n, count)]


def _grid(h: int, w: int, ny: int, nx: int, overlap: int) -> list[Tile]:
    return [Tile(y0, y1, x0, x1, max(0, y0 - overlap), min(h, y1 + overlap), max(0, x0 - overlap),
                 min(w, x1 + overlap))
            for y0, y1 in _even_splits(h, ny) for x0, x1 in _even_splits(w, nx)]


def plan_tiles(h: int, w: int, tile: int, overlap: int) -> list[Tile]:
    """Cover an HxW LR image with tiles of at most `tile` core pixels a side plus `overlap` context."""
    if tile < 1 or overlap < 0:
        raise ValueError(f"tile must be >= 1 and overlap >= 0, got {tile}, {overlap}")
    return _grid(h, w, math.ceil(h / tile), math.ceil(w / tile), overlap)


def plan_tiles_within(h: int, w: int, max_pixels: int, overlap: int) -> list[Tile]:
    """The tile grid with the least total work whose padded tiles hold at most `max_pixels` LR pixels.

    Square tiles waste work on overlap: a 510x339 LR under a 320x320 budget costs 16% extra
    pixels as 2x2 squares, 6% as two full-height columns. Every row count is tried with the
    fewest columns that fit; ties go to fewer tiles. A budget too small for any grid gets
    one-pixel cores.
    """
    if max_pixels < 1 or overlap < 0:
        raise ValueError(f"max_pixels must be >= 1 and overlap >= 0, got {max_pixels}, {overlap}")
    best = None
    for ny in range(1, h + 1):
        heights = _padded(h, ny, overlap)
        if best is not None and sum(heights) * w >= best[0][0]:
            break                      # rows only add overlap from here on
        max_w = max_pixels // max(heights)
        if max_w < 1:
            continue
        nx = min(w, math.ceil(w / max_w))
        while nx < w and max(_padded(w, nx, overlap)) > max_w:
            nx += 1
        if max(_padded(w, nx, overlap)) <= max_w:
            key = (sum(heights) * sum(_padded(w, nx, overlap)), ny * nx)
            if best is None or key < best[0]:
                best = (key, ny, nx)
    _, ny, nx = best if best is not None else (None, h, w)
    return _grid(h, w, ny, nx, overlap)


def tile_for_budget(max_tile_pixels: int | None = None, overlap: int = OVERLAP) -> int:
    """Largest core tile side whose padded tile stays within `max_tile_pixels` LR pixels
    (default: MAX_TILE_PIXELS, read at each call)."""
    budget = MAX_TILE_PIXELS if max_tile_pixels is None else max_tile_pixels
    return max(8, int(math.isqrt(max(1, budget))) - 2 * overlap)


def tile_sizes(first: int | None = None, overlap: int = OVERLAP) -> tuple[int, ...]:
    """LR tile sides tried in turn when memory runs out: `first` (default: from the budget),
    halving down to MIN_TILE."""
    sizes = [int(first) if first else tile_for_budget(None, overlap)]
    while sizes[-1] // 2 >= MIN_TILE:
        sizes.append(sizes[-1] // 2)
    return tuple(sizes)


def _ramp(length: int, lo_band: int, hi_band: int) -> np.ndarray:
    """1-D weight over a padded tile: raised-cosine rise over lo_band, fall over hi_band, 1 between."""
    w = np.ones(length, dtype=np.float64)
    if lo_band > 0:
        t = (np.arange(lo_band) + 0.5) / lo_band
        w[:lo_band] = 0.5 - 0.5 * np.cos(np.pi * t)
    if hi_band > 0:
        t = (np.arange(hi_band) + 0.5) / hi_band
        w[length - hi_band:] = 0.5 + 0.5 * np.cos(np.pi * t)
    return w


def run_tiled(fn: Callable[[np.ndarray], np.ndarray], lr_float: np.ndarray, scale: int = 4,
              tile: int | None = None, overlap: int = OVERLAP, progress=None, cancel=None,
              max_pixels: int | None = None, fixed: tuple[int, int] | None = None) -> np.ndarray:
    """Upscale `lr_float` (HxWx3 float32 [0,1]) with `fn` tile by tile.

    Tiles are squares of `tile` core pixels (`plan_tiles`; None: `tile_for_budget`), or with `max_pixels` the cheapest
    grid whose padded tiles stay within that many pixels (`plan_tiles_within`; `tile` is ignored).
    `fixed` (h, w): `fn` only takes exactly that size (a fixed-input model): tiles are planned to
    fit and each runs in an h x w window around it (`fixed_window`; `tile`, `max_pixels` ignored).

    `fn` maps an HxWx3 float32 array to (H*scale)x(W*scale)xC float32 (unclipped is fine).
    Returns (H*scale)x(W*scale)xC float32, not clipped. `progress(fraction)` after each tile;
    `cancel.raise_if_cancelled()` before each tile (raises errors.Cancelled).
    """
    h, w = lr_float.shape[:2]
    if fixed is not None:
        overlap = min(overlap, max(0, (min(fixed) - 1) // 4))   # leave a core of at least half the window
        tiles = plan_tiles(h, w, min(fixed) - 2 * overlap, overlap)
    elif max_pixels is None:
        tiles = plan_tiles(h, w, tile or tile_for_budget(None, overlap), overlap)
    else:
        tiles = plan_tiles_within(h, w, max_pixels, overlap)
    min_core = min(min(t.y1 - t.y0, t.x1 - t.x0) for t in tiles)
    half = min(overlap // 4, min_core // 2)   # blend band: overlap/2 wide, centred on each cut
    out = None   # the weights of overlapping tiles sum to one, so no normalisation array is needed
    for i, t in enumerate(tiles):
        if cancel is not None:
            cancel.raise_if_cancelled()
        if fixed is None:
            piece = np.asarray(fn(lr_float[t.py0:t.py1, t.px0:t.px1]), dtype=np.float32)
        else:
            piece = fixed_window(fn, lr_float, t, fixed, scale)
        ph, pw = (t.py1 - t.py0) * scale, (t.px1 - t.px0) * scale
        if piece.shape[:2] != (ph, pw):
            raise ValueError(f"tile output {piece.shape[:2]} is not {scale}x its input {(ph // scale, pw // scale)}")
        if out is None:
            out = np.zeros((h * scale, w * scale, piece.shape[2]), dtype=np.float32)
        wy = _band_weights(ph, t.py0, t.y0, t.y1, t.py1, scale, half)
        wx = _band_weights(pw, t.px0, t.x0, t.x1, t.px1, scale, half)
        wgt = (wy[:, None] * wx[None, :]).astype(np.float32)[..., None]
        out[t.py0 * scale:t.py1 * scale, t.px0 * scale:t.px1 * scale] += piece * wgt
        if progress is not None:
            progress((i + 1) / len(tiles))
    return out


def fixed_window(fn, lr_float: np.ndarray, t: Tile, fixed: tuple[int, int], scale: int) -> np.ndarray:
    """Run `fn` on the fixed-size window holding tile `t`'s padded rectangle; its output for that rectangle.

    The window is shifted inward at the image's far edges (more real context, no padding); only an
    image smaller than the window is padded, by repeating its last row/column.
    """
    fh, fw = fixed
    h, w = lr_float.shape[:2]
    wy0, wx0 = max(0, min(t.py0, h - fh)), max(0, min(t.px0, w - fw))
    window = lr_float[wy0:wy0 + fh, wx0:wx0 + fw]
    if window.shape[:2] != (fh, fw):
        window = np.pad(window, ((0, fh - window.shape[0]), (0, fw - window.shape[1]), (0, 0)), mode="edge")
    out = np.asarray(fn(window), dtype=np.float32)
    if out.shape[:2] != (fh * scale, fw * scale):
        raise ValueError(f"window output {out.shape[:2]} is not {scale}x its input {(fh, fw)}")
    return out[(t.py0 - wy0) * scale:(t.py1 - wy0) * scale, (t.px0 - wx0) * scale:(t.px1 - wx0) * scale]


def _band_weights(length: int, p0: int, c0: int, c1: int, p1: int, scale: int, half: int) -> np.ndarray:
    """Weights along one axis for a padded tile [p0, p1) with core [c0, c1) (LR coordinates).

    Next to a neighbour the cross-over band is centred on the core edge and spans `half` LR
    pixels either side; the two neighbours' raised cosines sum to one there. Context beyond the
    band gets zero weight: pixels near a tile's cut edge (where 'same' padding sees zeros) never
    count, so a net whose receptive radius is under overlap - half is reproduced exactly.
    """
    w = np.zeros(length, dtype=np.float64)
    lo_ctx, hi_ctx = c0 - p0, p1 - c1
    lo_half, hi_half = min(half, lo_ctx), min(half, hi_ctx)
    start = (lo_ctx - lo_half) * scale   # first HR index with non-zero weight
    stop = length - (hi_ctx - hi_half) * scale
    w[start:stop] = _ramp(stop - start, 2 * lo_half * scale, 2 * hi_half * scale)
    return w
