"""Export a comparison: every result image, the crop figure, a metrics CSV and a manifest.

Files (all written atomically): `lr.png`, `hr.png` (reference mode), `NAME.png` per method (16-bit
kept for 16-bit inputs), `metrics.csv` (whole-image and, with a crop box, crop scores; the degradation
chain that made the LR in its last column), `manifest.json` (versions, kernel, mode, degradation chain
and seed, convention, input and file hashes, weights and result images' files with their sha256,
device), `figure.png` (full views with the crop box above magnified crops) and `crops.png` (the
magnified crops side by side with their PSNR/SSIM, the notebook's figure). Without a crop box the
figures use a centre crop.
"""

from __future__ import annotations

import csv
import hashlib
import io
import platform
import re
import sys
from datetime import datetime, timezone
from pathlib import Path

import numpy as np

from srviewer import __version__
from srviewer.core.atomic import atomic_write_json, atomic_write_text
from srviewer.core.figure import comparison_figure, crop_figure
from srviewer.core.images import write_image
from srviewer.core.metrics import score_region
from srviewer.core.result_images import ResultImage
from srviewer.errors import ImageWriteError

CONVENTION = "PSNR/SSIM on Y of BT.601 (MATLAB rgb2ycbcr), border = scale, data range 255; RGB likewise"
METRIC_KEYS = ("psnr_y", "ssim_y", "psnr_rgb", "ssim_rgb")


def _sha256(path: Path) -> str:
    """A file's sha256; for a model folder (SavedModel), that of every file's relative path and bytes, in order."""
    if not path.is_dir():
        return hashlib.sha256(path.read_bytes()).hexdigest()
    digest = hashlib.sha256()
    for file in sorted(p for p in path.rglob("*") if p.is_file()):
        digest.update(file.relative_to(path).as_posix().encode() + b"\0" + hashlib.sha256(file.read_bytes()).digest())
    return digest.hexdigest()


def _weights(registry, results, result_images: bool = False) -> dict:
    """The file and sha256 of each result's model file, or (`result_images`) of each result image."""
    out = {}
    for name in results:
        method = registry.get(name) if registry is not None and name in registry else None
        path = getattr(method, "path", None)
        if path is not None and Path(path).exists() and isinstance(method, ResultImage) == result_images:
            out[name] = {"file": str(path), "sha256": _sha256(Path(path))}
            loaded = getattr(method, "_loaded", None)      # a model: its format and the convention it ran in
            if getattr(loaded, "convention", None) is not None:
                conv = loaded.convention
                out[name].update(format=loaded.format, convention=conv if isinstance(conv, dict) else conv.as_dict())
    return out


def _device() -> str:
    if "tensorflow" not in sys.modules:
        return "CPU (no learned method ran)"
    from srviewer.core.tf_runtime import device_description

    return device_description()


def file_stem(name: str) -> str:
    """A method name as a safe file name (`lr`/`hr` are taken by the input images)."""
    stem = re.sub(r"[^A-Za-z0-9._-]+", "_", name).strip("._") or "method"
    return f"{stem}_sr" if stem.lower() in ("lr", "hr", "metrics", "manifest", "figure", "crops") else stem


def centre_crop(shape, scale: int = 4) -> tuple[int, int, int, int]:
    """A default crop box (x, y, w, h): a centre square a quarter of the shorter side (>= 8 px)."""
    h, w = shape[:2]
    side = max(1, min(h, w, max(8, min(h, w) // 4)))
    return ((w - side) // 2, (h - side) // 2, side, side)


def clip_rect(rect, shape) -> tuple[int, int, int, int]:
    """rect = (x, y, w, h) clipped to an image of `shape` (H, W, ...); ValueError when nothing is left."""
    x, y, w, h = (int(round(v)) for v in rect)
    x0, y0 = max(0, x), max(0, y)
    x1, y1 = min(shape[1], x + w), min(shape[0], y + h)
    if x1 <= x0 or y1 <= y0:
        raise ValueError(f"crop {tuple(rect)} lies outside the {shape[1]}x{shape[0]} image")
    return (x0, y0, x1 - x0, y1 - y0)


def crop_rows(hr, results: dict, rect, is_grey: bool = False) -> dict[str, dict]:
    """Scores of each method inside rect = (x, y, w, h) (HR pixels, no border); {} without HR or rect.

    hr: RGB uint8 (0..255); results: name -> compare.MethodFinished (its uint8 `sr` is scored).
    """
    if hr is None or rect is None:
        return {}
    return {name: score_region(r.sr, hr, rect, is_grey=is_grey) for name, r in results.items()}


def make_crops(lr, hr, results: dict, rect, scale: int = 4, is_grey: bool = False) -> np.ndarray:
    """The notebook's crop strip: LR (nearest), each method and HR, magnified, with whole-image and
    crop PSNR/SSIM (Y) under each. Images RGB uint8; rect in HR pixels. Returns RGB uint8."""
    lr_big = np.repeat(np.repeat(lr, scale, 0), scale, 1)
    rect = x, y, w, h = clip_rect(rect, lr_big.shape)
    region = crop_rows(hr, results, rect, is_grey)
    lr_big = np.repeat(np.repeat(lr, scale, 0), scale, 1)
    crops = [("LR (nearest)", lr_big[y:y + h, x:x + w], "input")]
    for name, r in results.items():
        s, c = r.scores, region.get(name)
        caption = "" if s is None else f"{s['psnr_y']:.2f} dB / {s['ssim_y']:.4f}"
        if c:
            caption += f"\ncrop {c['psnr_y']:.2f} / {c['ssim_y']:.4f}"
        crops.append((r.label or name, r.sr[y:y + h, x:x + w], caption))
    if hr is not None:
        crops.append(("HR (ground truth)", hr[y:y + h, x:x + w], "PSNR-Y / SSIM-Y"))
    return crop_figure(crops)


def make_figure(lr, hr, results: dict, rect, scale: int = 4, is_grey: bool = False) -> np.ndarray:
    """The notebook's figure: LR (nearest), each method and HR, full view above the magnified
    crop, with whole-image and crop PSNR/SSIM (Y) under each."""
    panels = [("LR (nearest)", np.repeat(np.repeat(lr, scale, 0), scale, 1), "input")]
    rect = clip_rect(rect, panels[0][1].shape)
    region = crop_rows(hr, results, rect, is_grey)
    for name, r in results.items():
        s, c = r.scores, region.get(name)
        caption = "" if s is None else f"{s['psnr_y']:.2f} dB / {s['ssim_y']:.3f}"
        if c:
            caption += f"  crop {c['psnr_y']:.2f} / {c['ssim_y']:.3f}"
        panels.append((r.label or name, r.sr, caption))
    if hr is not None:
        panels.append(("HR (ground truth)", hr, "PSNR-Y / SSIM-Y"))
    return comparison_figure(panels, rect)


def _write_or_fail(writer, path: Path, content) -> None:
    """An atomic write whose failure (a full disk) is an ImageWriteError; the previous file stays."""
    try:
        writer(path, content)
    except OSError as exc:
        raise ImageWriteError(f"{path}: could not be written ({exc.strerror or exc})") from None


def export_results(session, out_dir) -> list[Path]:
    """Write a comparison session (core.session.ComparisonSession) into out_dir; returns the files.

    It reads the session's prepared LR/HR (RGB uint8 for the figures, the image's own bit depth for
    lr.png/hr.png), its results (name -> compare.MethodFinished), its crop box (x, y, w, h) in HR
    pixels or None (crop scores: `crop_rows`, all four figures), its request (kernel, scale, image
    path for the manifest) and its registry (the weights files in the manifest). Raises ImageWriteError.
    """
    request, prepared, results, registry = session.request, session.prepared, session.results, session.registry
    crop_rect = session.crop
    lr, hr = prepared.lr, prepared.hr
    out = Path(out_dir)
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:   # e.g. a file of that name: a user error, not a crash
        raise ImageWriteError(f"{out}: cannot be the export folder ({exc.strerror or exc})") from None
    written: list[Path] = []
    scale = request.scale
    is_grey = bool(prepared.is_grey)
    write_image(out / "lr.png", prepared.lr_native)
    written.append(out / "lr.png")
    if hr is not None:
        write_image(out / "hr.png", prepared.hr_native)
        written.append(out / "hr.png")
    files = {}
    for name, r in results.items():
        files[name] = out / f"{file_stem(name)}.png"
        write_image(files[name], r.sr_native)
        written.append(files[name])
    region = crop_rows(hr, results, crop_rect, is_grey)
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    chain = request.chain() if hr is not None else None
    header = ["method", *METRIC_KEYS, "seconds"] + ([f"crop_{k}" for k in METRIC_KEYS] if region else []) + ["degradation"]
    writer.writerow(header)
    for name, r in results.items():
        row = [name] + [("" if r.scores is None else f"{r.scores[k]:.6f}") for k in METRIC_KEYS] + [f"{r.seconds:.3f}"]
        if region:
            row += [f"{region[name][k]:.6f}" for k in METRIC_KEYS]
        writer.writerow(row + [str(chain) if chain is not None else ""])
    _write_or_fail(atomic_write_text, out / "metrics.csv", buffer.getvalue())
    written.append(out / "metrics.csv")
    if results:
        rect = crop_rect if crop_rect is not None else centre_crop(next(iter(results.values())).sr.shape, scale)
        write_image(out / "figure.png", make_figure(lr, hr, results, rect, scale, is_grey))
        write_image(out / "crops.png", make_crops(lr, hr, results, rect, scale, is_grey))
        written += [out / "figure.png", out / "crops.png"]
    tf = sys.modules.get("tensorflow")
    manifest = {
        "srviewer": __version__,
        "tensorflow": getattr(tf, "__version__", None),
        "python": platform.python_version(),
        "date": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "mode": "reference" if hr is not None else "blind",
        "kernel": request.kernel,
        "scale": scale,
        "degradation": None if chain is None else {"chain": str(chain), "seed": chain.seed, **chain.as_dict()},
        "image": str(request.image.path) if request.image.path else None,
        "methods": {name: {"label": r.label or name, "file": files[name].name, "seconds": round(r.seconds, 4),
                           "device": getattr(r, "device", ""), "notes": list(getattr(r, "notes", []))}
                    for name, r in results.items()},
        "convention": CONVENTION,
        "crop": list(crop_rect) if crop_rect is not None else None,
        "scores": {name: r.scores for name, r in results.items()},
        "crop_scores": region or None,
        "files": {p.name: _sha256(p) for p in written},
        "input_sha256": _sha256(request.image.path) if request.image.path else None,
        "weights": _weights(registry, results),
        "result_images": _weights(registry, results, result_images=True),
        "device": _device(),
    }
    _write_or_fail(atomic_write_json, out / "manifest.json", manifest)
    written.append(out / "manifest.json")
    return written
