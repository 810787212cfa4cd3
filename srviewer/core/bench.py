"""Benchmark methods on a folder of HR images (Set5 and the like), in the paper convention.

Without `lr_dir` the LR is made from each HR image with the kernel, or with a degradation chain
(core.degrade; its seeded noise drawn afresh for each image, as `srviewer compare` draws it); with
it the given LR files are used, paired with the HR files by name (`img_001.png` <-> `img_001x4.png`, `img_001_x4.png`,
`img_001.png`), else in sorted order when the names do not pair up; their sizes must be the HR's
divided by the scale. Scores: Y (border =
scale) and RGB, and the sharpness ratio (Laplacian energy of SR over HR).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from srviewer.core.conventions import mod_crop
from srviewer.core.degrade import Chain, degrade
from srviewer.core.images import IMAGE_SUFFIXES, from_float, read_image, to_float, to_uint8
from srviewer.core.metrics import score, sharpness_ratio
from srviewer.core.result_images import ResultFolder
from srviewer.errors import SrviewerError


def _images(folder: Path) -> list[Path]:
    return sorted(p for p in folder.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES and p.is_file())


def _stem_key(path: Path, scale: int) -> str:
    stem = path.stem.lower()
    for suffix in (f"_x{scale}", f"x{scale}", f"_lr", f"_bicubic"):
        if stem.endswith(suffix) and len(stem) > len(suffix):
            return stem[: -len(suffix)]
    return stem


def pair_lr_files(hr_paths: list[Path], lr_paths: list[Path], scale: int = 4) -> list[Path]:
    """The LR file of each HR file: by name when every HR name has one, else by sorted order."""
    by_key = {_stem_key(p, scale): p for p in lr_paths}
    if len(by_key) == len(lr_paths) and all(_stem_key(p, scale) in by_key for p in hr_paths):
        return [by_key[_stem_key(p, scale)] for p in hr_paths]
    if len(lr_paths) != len(hr_paths):
        raise SrviewerError(f"{len(lr_paths)} LR images for {len(hr_paths)} HR images, and their names do not pair up")
    return lr_paths


def bench(hr_dir, methods: list[str], registry, lr_dir=None, kernel: str = "matlab", scale: int = 4,
          progress=None, report=None, degradation: Chain | None = None) -> list[dict]:
    """Rows {method, image, psnr_y, ssim_y, psnr_rgb, ssim_rgb, sharpness}; a "mean" row per method last.

    A `result_images.ResultFolder` method is scored on its files, paired with the HR files
    (`pair_results`) and read before any method runs (a bad file or size fails first, one line);
    `report(line)` then receives the pairing and any crop notes."""
    hr_dir = Path(hr_dir)
    if not hr_dir.is_dir():
        raise SrviewerError(f"{hr_dir} is not a folder")
    paths = _images(hr_dir)
    if not paths:
        raise SrviewerError(f"no images in {hr_dir}")
    folders = {name: registry.get(name) for name in methods if isinstance(registry.get(name), ResultFolder)}
    for method in folders.values():
        method.pair(paths)
    lr_paths = None
    if lr_dir is not None:
        if not Path(lr_dir).is_dir():
            raise SrviewerError(f"{lr_dir} is not a folder")
        lr_paths = pair_lr_files(paths, _images(Path(lr_dir)), scale)
    data, sizes = [], {}
    for i, path in enumerate(paths):
        img = read_image(path)
        hr = mod_crop(to_uint8(img.rgb), scale)
        if min(hr.shape[:2]) <= 2 * scale:   # scores shave `scale` pixels from each border
            raise SrviewerError(f"{path.name} ({img.width}x{img.height}) is too small to score at x{scale}")
        if lr_paths is not None:
            lr = to_uint8(read_image(lr_paths[i]).rgb)
            if lr.shape[0] * scale != hr.shape[0] or lr.shape[1] * scale != hr.shape[1]:
                raise SrviewerError(f"{path.name}: the LR file is not the HR size / {scale}")
        else:
            lr = degrade(hr, degradation if degradation is not None else Chain(kernel=kernel), scale)
        data.append((path, hr, lr, img.is_grey))
        sizes[path] = (img.height, img.width)
    results, lines = _read_results(folders, sizes, scale)
    for line in lines if report else ():
        report(line)
    rows = []
    for name in methods:
        method = registry.get(name)
        per_image = []
        for path, hr, lr, is_grey in data:
            stem = path.stem
            if name in results:
                sr = results[name][path]
            else:
                sr = from_float(method.upscale(to_float(lr)), 8)
            row = {"method": name, "image": stem, **score(sr, hr, border=scale, is_grey=is_grey),
                   "sharpness": sharpness_ratio(sr, hr)}
            per_image.append(row)
            if progress:
                progress(name, stem)
        rows.extend(per_image)
        mean = {k: float(np.mean([r[k] for r in per_image])) for k in per_image[0] if k not in ("method", "image")}
        rows.append({"method": name, "image": "mean", **mean})
    return rows


def _read_results(folders: dict, hr_sizes: dict[Path, tuple[int, int]], scale: int) -> tuple[dict, list[str]]:
    """Each result folder's files (paired by `ResultFolder.pair`), read and fitted to the mod-crop
    of their HR (hr_sizes: HR path -> its own (H, W)): ({name: {hr_path: RGB uint8}}, the pairing
    and notes to report)."""
    results: dict[str, dict[Path, np.ndarray]] = {}
    lines: list[str] = []
    for name, method in folders.items():
        lines += method.pairing.lines(name, method.path)
        results[name] = {}
        for path, hr_hw in hr_sizes.items():
            sr, note = method.result_for(path).fitted(hr_hw, "reference", scale)
            results[name][path] = from_float(sr, 8)
            lines += [f"note: {note}"] if note else []
    return results, lines
