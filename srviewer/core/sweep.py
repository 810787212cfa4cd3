"""A robustness sweep: every method benchmarked at every value of one degradation key.

`srviewer bench HR --sweep noise=0,5,10,20 [--degrade CHAIN]` and the window's *Sweep* both use it:
the chain's other steps stay fixed, one key takes each value in turn, and each method's mean
PSNR-Y / SSIM-Y / sharpness over the images is kept per value (the papers' robustness figures).

    parse_sweep("noise=0,5,10,20", base_chain) -> Sweep(key, values, chains)
    run_sweep(sweep, hr_dir, methods, registry, scale, progress) -> SweepResult        (a folder: bench)
    sweep_image(sweep, hr, methods, registry, scale, is_grey, cancel, progress) -> SweepResult  (one image: the window)
    result.as_json() == {"sweep": {"key": K, "values": [...], "methods": {NAME: {"psnr_y": [...],
                                   "ssim_y": [...], "sharpness": [...]}}}}
    sweep_csv(result) -> text;   sweep_plot(result, path=None) -> RGB uint8 (Pillow, two panels)
"""

from __future__ import annotations

import csv
import io
import math
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

from srviewer.core.conventions import mod_crop
from srviewer.core.degrade import SWEEP_KEYS, Chain, DegradationError
from srviewer.core.figure import _COLOURS, _font
from srviewer.core.images import write_image

SERIES = ("psnr_y", "ssim_y", "sharpness")


@dataclass
class Sweep:
    key: str
    values: list[float]
    chains: list[Chain]


@dataclass
class SweepResult:
    key: str
    values: list[float]
    chains: list[Chain]
    methods: dict[str, dict[str, list[float]]] = field(default_factory=dict)   # name -> series -> per value

    def as_json(self) -> dict:
        return {"sweep": {"key": self.key, "values": self.values, "methods": self.methods}}


def parse_sweep(text: str, base: Chain) -> Sweep:
    """`KEY=V1,V2,...` (KEY one of SWEEP_KEYS) over `base`; every value is checked before anything runs."""
    key, sep, rest = (text or "").partition("=")
    key = key.strip().lower()
    if not sep or key not in SWEEP_KEYS:
        raise DegradationError(f"--sweep {text!r}: wants KEY=V1,V2,... with KEY one of {', '.join(SWEEP_KEYS)}")
    values, chains = [], []
    for item in (v.strip() for v in rest.split(",")):
        if not item:
            continue
        try:
            number = float(item)
        except ValueError:
            raise DegradationError(f"--sweep {key}={item}: not a number") from None
        chains.append(base.with_value(key, item))
        values.append(int(number) if number.is_integer() else number)
    if len(values) < 2:
        raise DegradationError(f"--sweep {text!r}: give at least two values, e.g. {key}=0,5,10,20")
    return Sweep(key, values, chains)


def run_sweep(sweep: Sweep, hr_dir, methods: list[str], registry, scale: int = 4, progress=None) -> SweepResult:
    """Benchmark `methods` on the HR images of `hr_dir` (core.bench) once per value.
    progress(done, total, text) after each method and value."""
    from srviewer.core.bench import bench

    result = SweepResult(sweep.key, list(sweep.values), list(sweep.chains),
                         {name: {s: [] for s in SERIES} for name in methods})
    total = len(sweep.chains)
    for i, chain in enumerate(sweep.chains):
        rows = bench(hr_dir, methods, registry, scale=scale, degradation=chain)
        for row in rows:
            if row["image"] == "mean":
                for s in SERIES:
                    result.methods[row["method"]][s].append(float(row[s]))
        if progress:
            progress(i + 1, total, str(chain))
    return result


def sweep_image(sweep: Sweep, hr: np.ndarray, methods: list[str], registry, scale: int = 4, is_grey: bool = False,
                cancel=None, progress=None) -> SweepResult:
    """The sweep on one HR image (RGB uint8/uint16, the window's current image): each method upscales
    each value's LR and is scored like bench scores it. Result images are skipped (their output does
    not depend on the LR). Cancelling (core.cancel.CancelToken) raises errors.Cancelled between steps;
    progress(done, total, text) after each method and value."""
    from srviewer.core.degrade import degrade
    from srviewer.core.images import from_float, to_float, to_uint8
    from srviewer.core.metrics import score, sharpness_ratio
    from srviewer.core.result_images import ResultImage

    names = [n for n in methods if not isinstance(registry.get(n), ResultImage)]
    hr8 = to_uint8(mod_crop(np.asarray(hr), scale))
    result = SweepResult(sweep.key, list(sweep.values), list(sweep.chains), {n: {s: [] for s in SERIES} for n in names})
    total, done = len(sweep.chains) * len(names), 0
    for chain in sweep.chains:
        lr = to_float(degrade(hr, chain, scale))
        for name in names:
            if cancel is not None:
                cancel.raise_if_cancelled()
            sr = from_float(registry.get(name).upscale(lr, cancel=cancel), 8)
            scores = score(sr, hr8, border=scale, is_grey=is_grey)
            for key, value in (("psnr_y", scores["psnr_y"]), ("ssim_y", scores["ssim_y"]),
                               ("sharpness", sharpness_ratio(sr, hr8))):
                result.methods[name][key].append(float(value))
            done += 1
            if progress:
                progress(done, total, f"{name}, {chain}")
    return result


def sweep_csv(result: SweepResult) -> str:
    """One row per method and value: method, KEY, chain, psnr_y, ssim_y, sharpness."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(["method", result.key, "chain", *SERIES])
    for name, series in result.methods.items():
        for i, value in enumerate(result.values):
            writer.writerow([name, value, str(result.chains[i])] + [f"{series[s][i]:.6f}" for s in SERIES])
    return buffer.getvalue()


def sweep_plot(result: SweepResult, path: Path | None = None, labels: dict[str, str] | None = None,
               size: tuple[int, int] = (460, 320)) -> np.ndarray:
    """PSNR-Y and SSIM-Y against the swept value, one coloured line per method, a legend under them.
    Returns RGB uint8; written to `path` (atomically) when given."""
    names = list(result.methods)
    pw, ph = size
    legend_h = 18 * len(names) + 10
    canvas = Image.new("RGB", (2 * pw, ph + legend_h + 24), "white")
    draw, font = ImageDraw.Draw(canvas), _font(12)
    title = f"PSNR-Y and SSIM-Y against {result.key} (Y of BT.601, border = scale; a folder: the mean)"
    draw.text((8, 4), title, fill="black", font=_font(14))
    for p, (series, title) in enumerate((("psnr_y", "PSNR-Y (dB)"), ("ssim_y", "SSIM-Y"))):
        _panel(draw, font, (p * pw, 24, pw, ph), title, result.key, result.values,
               [(result.methods[n][series], _COLOURS[i % len(_COLOURS)]) for i, n in enumerate(names)])
    for i, name in enumerate(names):
        y = ph + 30 + 18 * i
        colour = _COLOURS[i % len(_COLOURS)]
        draw.line([(60, y + 7), (90, y + 7)], fill=colour, width=3)
        draw.text((98, y), (labels or {}).get(name, name), fill="black", font=font)
    arr = np.asarray(canvas)
    if path is not None:
        write_image(path, arr)
    return arr


def _panel(draw, font, box, title, key, xs, lines) -> None:
    ox, oy, pw, ph = box
    x0, y0, x1, y1 = ox + 62, oy + 26, ox + pw - 16, oy + ph - 40
    draw.text((x0, oy + 6), title, fill="black", font=font)
    ys = [v for values, _ in lines for v in values if v is not None and math.isfinite(v)]
    if not ys:
        return
    xmin, xmax = min(xs), max(xs)
    ymin, ymax = min(ys), max(ys)
    pad = (ymax - ymin) * 0.05 or max(abs(ymax) * 0.01, 1e-3)
    ymin, ymax = ymin - pad, ymax + pad

    def to_px(x, y):
        return (x0 + (x - xmin) / ((xmax - xmin) or 1) * (x1 - x0), y1 - (y - ymin) / (ymax - ymin) * (y1 - y0))

    for frac in (0.0, 0.25, 0.5, 0.75, 1.0):
        yv = ymin + frac * (ymax - ymin)
        py = y1 - frac * (y1 - y0)
        draw.line([(x0, py), (x1, py)], fill=(232, 232, 232))
        draw.text((ox + 6, py - 7), f"{yv:.4g}", fill=(60, 60, 60), font=font)
    for x in xs:
        px = to_px(x, ymin)[0]
        draw.line([(px, y1), (px, y1 + 4)], fill=(120, 120, 120))
        draw.text((px - 8, y1 + 6), f"{x:g}", fill=(60, 60, 60), font=font)
    draw.text(((x0 + x1) // 2 - 20, y1 + 22), key, fill=(60, 60, 60), font=font)
    draw.rectangle([x0, y0, x1, y1], outline=(120, 120, 120))
    for values, colour in lines:
        pts = [to_px(x, y) for x, y in zip(xs, values) if y is not None and math.isfinite(y)]
        if len(pts) > 1:
            draw.line(pts, fill=colour, width=2)
        for px, py in pts:
            draw.ellipse([px - 3, py - 3, px + 3, py + 3], fill=colour)
