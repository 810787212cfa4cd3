"""Figures drawn with Pillow (no matplotlib): the crop comparison strip and small line plots.

Images in and out are RGB HWC uint8.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from srviewer.core.images import write_image

_COLOURS = [(31, 119, 180), (214, 39, 40), (44, 160, 44), (255, 127, 14), (148, 103, 189), (140, 86, 75)]


def _font(size: int = 14):
    try:
        return ImageFont.load_default(size=size)
    except TypeError:  # older Pillow
        return ImageFont.load_default()


def crop_figure(crops: list[tuple[str, np.ndarray, str]], magnify: int = 3, max_side: int = 360) -> np.ndarray:
    """Side-by-side magnified crops with a title and a caption under each (the notebook's figure).

    crops: (title, RGB uint8 crop, caption such as "28.4 dB / 0.812"). Returns RGB uint8.
    """
    if not crops:
        raise ValueError("no crops to draw")
    tiles = []
    for title, crop, caption in crops:
        h, w = crop.shape[:2]
        factor = max(1, min(magnify, max_side // max(h, w, 1)))
        tile = np.repeat(np.repeat(crop, factor, 0), factor, 1)
        tiles.append((title, tile, caption))
    th = max(t.shape[0] for _, t, _ in tiles)
    pad, text_h = 8, 40
    width = sum(t.shape[1] for _, t, _ in tiles) + pad * (len(tiles) + 1)
    canvas = Image.new("RGB", (width, th + 2 * text_h + pad), "white")
    draw, font = ImageDraw.Draw(canvas), _font(15)
    x = pad
    for title, tile, caption in tiles:
        canvas.paste(Image.fromarray(tile), (x, text_h))
        draw.text((x, 10), title, fill="black", font=font)
        draw.text((x, text_h + th + 8), caption, fill=(60, 60, 60), font=font)
        x += tile.shape[1] + pad
    return np.asarray(canvas)


def comparison_figure(panels: list[tuple[str, np.ndarray, str]], rect, thumb_width: int = 260,
                      crop_side: int = 200) -> np.ndarray:
    """The notebook's figure: each panel's full view (crop box drawn) above its magnified crop.

    panels: (title, RGB uint8 image at output size, caption); rect = (x, y, w, h) in output pixels.
    """
    if not panels:
        raise ValueError("no panels to draw")
    x, y, w, h = (int(v) for v in rect)
    pad, text_h = 8, 22
    ih, iw = panels[0][1].shape[:2]
    thumb_h = max(1, int(round(ih * thumb_width / iw)))
    col_w = max(thumb_width, crop_side)
    canvas = Image.new("RGB", (pad + len(panels) * (col_w + pad), text_h + thumb_h + pad + crop_side + 2 * text_h + pad),
                       "white")
    draw, font = ImageDraw.Draw(canvas), _font(14)
    for i, (title, img, caption) in enumerate(panels):
        x0 = pad + i * (col_w + pad)
        draw.text((x0, 4), title, fill="black", font=font)
        thumb = Image.fromarray(img).resize((thumb_width, thumb_h), Image.BILINEAR)
        canvas.paste(thumb, (x0, text_h))
        sx, sy = thumb_width / iw, thumb_h / ih
        draw.rectangle([x0 + x * sx, text_h + y * sy, x0 + (x + w) * sx, text_h + (y + h) * sy],
                       outline=(255, 200, 0), width=2)
        crop = img[max(0, y):y + h, max(0, x):x + w]
        if crop.size:
            factor = max(1, crop_side // max(crop.shape[:2]))
            big = np.repeat(np.repeat(crop, factor, 0), factor, 1)
            canvas.paste(Image.fromarray(np.ascontiguousarray(big[:crop_side, :crop_side])), (x0, text_h + thumb_h + pad))
        draw.text((x0, text_h + thumb_h + pad + crop_side + 4), caption, fill=(60, 60, 60), font=font)
    return np.asarray(canvas)


def line_plot(path: Path | None, panels: list[tuple[str, list[tuple[float, float]]]], title: str = "",
              size: tuple[int, int] = (420, 280)) -> np.ndarray:
    """One small plot per (label, [(x, y), ...]) side by side; written to `path` when given."""
    pw, ph = size
    margin_l, margin_b, margin_t = 58, 34, 30
    canvas = Image.new("RGB", (pw * max(1, len(panels)), ph + (24 if title else 0)), "white")
    draw, font = ImageDraw.Draw(canvas), _font(12)
    top = 24 if title else 0
    if title:
        draw.text((8, 4), title, fill="black", font=_font(14))
    for i, (label, points) in enumerate(panels):
        ox = i * pw
        x0, y0, x1, y1 = ox + margin_l, top + margin_t, ox + pw - 12, top + ph - margin_b
        draw.rectangle([x0, y0, x1, y1], outline=(120, 120, 120))
        draw.text((x0, top + 8), label, fill="black", font=font)
        pts = [(float(x), float(y)) for x, y in points if y is not None and math.isfinite(float(y))]
        if not pts:
            draw.text((x0 + 10, (y0 + y1) // 2), "no data yet", fill=(120, 120, 120), font=font)
            continue
        xs, ys = [p[0] for p in pts], [p[1] for p in pts]
        xmin, xmax = min(xs), max(xs) if max(xs) > min(xs) else min(xs) + 1
        ymin, ymax = min(ys), max(ys) if max(ys) > min(ys) else min(ys) + 1e-9 + abs(min(ys)) * 0.01 + 1e-3
        def to_px(x, y):
            return (x0 + (x - xmin) / (xmax - xmin) * (x1 - x0), y1 - (y - ymin) / (ymax - ymin) * (y1 - y0))
        draw.line([to_px(x, y) for x, y in pts] if len(pts) > 1 else [to_px(*pts[0])] * 2,
                  fill=_COLOURS[i % len(_COLOURS)], width=2)
        for frac in (0.0, 0.5, 1.0):
            yv = ymin + frac * (ymax - ymin)
            draw.text((ox + 4, y1 - frac * (y1 - y0) - 6), f"{yv:.4g}", fill=(60, 60, 60), font=font)
        draw.text((x0, y1 + 6), f"{xmin:.0f}", fill=(60, 60, 60), font=font)
        draw.text((x1 - 40, y1 + 6), f"{xmax:.0f}", fill=(60, 60, 60), font=font)
        draw.text(((x0 + x1) // 2 - 12, y1 + 18), "step", fill=(60, 60, 60), font=font)
    arr = np.asarray(canvas)
    if path is not None:
        write_image(path, arr)
    return arr
