"""Export a comparison: every result image, the crop figure, a metrics CSV and a manifest.

Files (all written atomically): `lr.png`, `hr.png` (reference mode), `NAME.png` per method (16-bit
kept for 16-bit inputs), `metrics.csv`, `manifest.json` and, with a crop box, `figure.png` (full views above magnified crops).
"""

from __future__ import annotations

import csv
import hashlib
import io
import platform
import sys
from datetime import datetime, timezone
from pathlib import Path

import numpy as np

from srviewer import __version__
from srviewer.core.atomic import atomic_write_json, atomic_write_text
from srviewer.core.figure import comparison_figure
from srviewer.core.images import write_image
from srviewer.core.metrics import score_region

CONVENTION = "PSNR/SSIM on Y of BT.601 (MATLAB rgb2ycbcr), border = scale, data range 255; RGB likewise"
METRIC_KEYS = ("psnr_y", "ssim_y", "psnr_rgb", "ssim_rgb")


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _weights(registry, results) -> dict:
    out = {}
    for name in results:
        path = getattr(registry.get(name), "path", None) if registry is not None and name in registry else None
        if path is not None and Path(path).exists():
            out[name] = {"file": str(path), "sha256": _sha256(Path(path))}
    return out


def _device() -> str:
    if "tensorflow" not in sys.modules:
        return "CPU (no learned method ran)"
    from srviewer.core.tf_runtime import device_description

    return device_description()


def crop_rows(hr, results: dict, rect) -> dict[str, dict]:
    """Scores of each method inside rect = (x, y, w, h) (HR pixels)."""
    if hr is None or rect is None:
        return {}
    return {name: score_region(r.sr, hr, rect) for name, r in results.items()}


def make_figure(lr, hr, results: dict, rect, scale: int = 4) -> np.ndarray:
    """The notebook's figure: LR (nearest), each method and HR, full view above the magnified
    crop, with whole-image and crop PSNR/SSIM (Y) under each."""
    panels = [("LR (nearest)", np.repeat(np.repeat(lr, scale, 0), scale, 1), "input")]
    region = crop_rows(hr, results, rect)
    for name, r in results.items():
        s, c = r.scores, region.get(name)
        caption = "" if s is None else f"{s['psnr_y']:.2f} dB / {s['ssim_y']:.3f}"
        if c:
            caption += f"  crop {c['psnr_y']:.2f} / {c['ssim_y']:.3f}"
        panels.append((r.label or name, r.sr, caption))
    if hr is not None:
        panels.append(("HR (ground truth)", hr, "PSNR-Y / SSIM-Y"))
    return comparison_figure(panels, rect)


def export_results(out_dir, lr, hr, results: dict, crop_rect=None, request=None, prepared=None,
                   registry=None) -> list[Path]:
    """Write the comparison into out_dir; returns the files written.

    lr, hr: RGB uint8 (hr None in blind mode); results: name -> compare.MethodFinished.
    """
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []
    lr_native = prepared.lr_native if prepared is not None else lr
    hr_native = prepared.hr_native if prepared is not None else hr
    write_image(out / "lr.png", lr_native)
    written.append(out / "lr.png")
    if hr is not None:
        write_image(out / "hr.png", hr_native)
        written.append(out / "hr.png")
    for name, r in results.items():
        write_image(out / f"{name}.png", r.sr_native)
        written.append(out / f"{name}.png")
    region = crop_rows(hr, results, crop_rect)
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    header = ["method", *METRIC_KEYS, "seconds"] + ([f"crop_{k}" for k in METRIC_KEYS] if region else [])
    writer.writerow(header)
    for name, r in results.items():
        row = [name] + [("" if r.scores is None else f"{r.scores[k]:.6f}") for k in METRIC_KEYS] + [f"{r.seconds:.3f}"]
        if region:
            row += [f"{region[name][k]:.6f}" for k in METRIC_KEYS]
        writer.writerow(row)
    atomic_write_text(out / "metrics.csv", buffer.getvalue())
    written.append(out / "metrics.csv")
    if crop_rect is not None:
        write_image(out / "figure.png", make_figure(lr, hr, results, crop_rect, request.scale if request else 4))
        written.append(out / "figure.png")
    tf = sys.modules.get("tensorflow")
    manifest = {
        "srviewer": __version__,
        "tensorflow": getattr(tf, "__version__", None),
        "python": platform.python_version(),
        "date": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "mode": "reference" if hr is not None else "blind",
        "kernel": request.kernel if request else None,
        "scale": request.scale if request else 4,
        "image": str(request.image.path) if request and request.image.path else None,
        "methods": list(results),
        "convention": CONVENTION,
        "crop": list(crop_rect) if crop_rect is not None else None,
        "scores": {name: r.scores for name, r in results.items()},
        "crop_scores": region or None,
        "files": {p.name: _sha256(p) for p in written},
        "input_sha256": _sha256(request.image.path) if request and request.image.path else None,
        "weights": _weights(registry, results),
        "device": _device(),
    }
    atomic_write_json(out / "manifest.json", manifest)
    written.append(out / "manifest.json")
    return written
