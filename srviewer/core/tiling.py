"""Tiled inference: overlapped LR tiles, raised-cosine blending of the overlaps. No TensorFlow here.

Each tile is run with `overlap` extra LR pixels of context on every side that has a neighbour;
the outputs are accumulated with weights that ramp as a raised cosine across the shared band,
so seams vanish and, for a network whose receptive field fits in the overlap, the result equals
whole-image inference up to float error.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Callable

import numpy as np

DEFAULT_TILE = 256          # LR pixels per tile side (before overlap)
DEFAULT_MAX_TILE_PIXELS = 512 * 512   # LR pixels per call, overlap included: the memory budget


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


def _splits(n: int, tile: int) -> list[tuple[int, int]]:
    count = max(1, math.ceil(n / tile))
    edges = [round(i * n / count) for i in range(count + 1)]   # near-equal pieces
    return [(edges[i], edges[i + 1]) for i in range(count)]


def plan_tiles(h: int, w: int, tile: int, overlap: int) -> list[Tile]:
    """Cover an HxW LR image with tiles of at most `tile` core pixels a side plus `overlap` context."""
    if tile < 1 or overlap < 0:
        raise ValueError(f"tile must be >= 1 and overlap >= 0, got {tile}, {overlap}")
    tiles = []
    for y0, y1 in _splits(h, tile):
        for x0, x1 in _splits(w, tile):
            tiles.append(Tile(y0, y1, x0, x1, max(0, y0 - overlap), min(h, y1 + overlap),
                              max(0, x0 - overlap), min(w, x1 + overlap)))
    return tiles


def tile_for_budget(max_tile_pixels: int = DEFAULT_MAX_TILE_PIXELS, overlap: int = 16) -> int:
    """Largest core tile side whose padded tile stays within `max_tile_pixels` LR pixels."""
    return max(8, int(math.isqrt(max(1, max_tile_pixels))) - 2 * overlap)


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
              tile: int = DEFAULT_TILE, overlap: int = 16, progress=None, cancel=None) -> np.ndarray:
    """Upscale `lr_float` (HxWx3 float32 [0,1]) with `fn` tile by tile.

    `fn` maps an HxWx3 float32 array to (H*scale)x(W*scale)xC float32 (unclipped is fine).
    Returns (H*scale)x(W*scale)xC float32, not clipped. `progress(fraction)` after each tile;
    `cancel.raise_if_cancelled()` before each tile (raises errors.Cancelled).
    """
    h, w = lr_float.shape[:2]
    overlap = min(overlap, tile // 2)   # a core must be at least as wide as the blend band
    tiles = plan_tiles(h, w, tile, overlap)
    out = None
    weight = np.zeros((h * scale, w * scale, 1), dtype=np.float64)
    for i, t in enumerate(tiles):
        if cancel is not None:
            cancel.raise_if_cancelled()
        piece = np.asarray(fn(lr_float[t.py0:t.py1, t.px0:t.px1]), dtype=np.float32)
        ph, pw = (t.py1 - t.py0) * scale, (t.px1 - t.px0) * scale
        if piece.shape[:2] != (ph, pw):
            raise ValueError(f"tile output {piece.shape[:2]} is not {scale}x its input {(ph // scale, pw // scale)}")
        if out is None:
            out = np.zeros((h * scale, w * scale, piece.shape[2]), dtype=np.float64)
        # blend only across bands shared with a neighbour: the band is the whole overlap region
        # (both tiles' context), so weights of the two tiles sum to 1 there
        wy = _band_weights(ph, t.py0, t.y0, t.y1, t.py1, h, scale)
        wx = _band_weights(pw, t.px0, t.x0, t.x1, t.px1, w, scale)
        wgt = (wy[:, None] * wx[None, :])[..., None]
        out[t.py0 * scale:t.py1 * scale, t.px0 * scale:t.px1 * scale] += piece * wgt
        weight[t.py0 * scale:t.py1 * scale, t.px0 * scale:t.px1 * scale] += wgt
        if progress is not None:
            progress((i + 1) / len(tiles))
    return (out / np.maximum(weight, 1e-12)).astype(np.float32)


def _band_weights(length: int, p0: int, c0: int, c1: int, p1: int, n: int, scale: int) -> np.ndarray:
    """Weights along one axis for a padded tile [p0, p1) with core [c0, c1) (LR coordinates).

    Next to a neighbour, the cross-over band is centred on the core edge and spans `overlap`
    LR pixels (half in this tile's context, half in its core), so two neighbours' raised cosines
    sum to one and each tile's outer `overlap/2` context pixels (nearest its own border, least
    trustworthy) get zero weight.
    """
    w = np.zeros(length, dtype=np.float64)
    lo_ctx, hi_ctx = c0 - p0, p1 - c1
    lo_half, hi_half = lo_ctx // 2, hi_ctx // 2
    lo_band = 2 * lo_half * scale        # band from c0-lo_half to c0+lo_half (HR pixels)
    hi_band = 2 * hi_half * scale
    start = (lo_ctx - lo_half) * scale   # first HR index with non-zero weight
    stop = length - (hi_ctx - hi_half) * scale
    w[start:stop] = _ramp(stop - start, lo_band, hi_band)
    return w
