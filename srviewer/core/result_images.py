"""Result images made elsewhere (a researcher's own PyTorch code, another tool) as methods.

A result image computes nothing: `ResultImage` holds one file (`srviewer compare`, the window),
`ResultFolder` a folder whose files pair with `srviewer bench`'s HR files (`pair_results`).

Sizes. Reference mode: a result must be the size of the HR's mod-crop (the HR cropped to a
multiple of the scale, top-left, `conventions.mod_crop`), which is the LR's size x scale. A result
larger than that but no larger than the HR file itself (e.g. the whole, un-cropped HR size) is
cropped to the mod-crop, top-left, with a note. Blind mode: a result must be exactly the LR's
size x scale. Anything else is one line naming both sizes (`ResultSizeError`).

Values. Files are read with `images.read_image` (RGB HWC uint8 or uint16; a grey file's value
repeated in the three channels, `is_grey`), handed to the comparison as float32 [0, 1] and then
treated like any method's output: quantised to the HR's bit depth and scored with
`metrics.score` on 0..255 values under the HR's `is_grey` rule.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from srviewer.core.images import IMAGE_SUFFIXES, LoadedImage, read_image, to_float
from srviewer.core.methods import Method
from srviewer.errors import SrviewerError

SEPARATORS = "_-. "          # between an HR file's stem and a result's suffix: img_001_SRGAN.png


class ResultSizeError(SrviewerError):
    """A result image whose size does not fit the comparison (one line naming both sizes)."""


def is_image_path(path) -> bool:
    """True for a file whose extension is an image's (a dropped file then becomes a result image)."""
    return Path(path).suffix.lower() in IMAGE_SUFFIXES


def parse_result_arg(text: str) -> tuple[str | None, Path]:
    """`NAME=PATH` -> (NAME, PATH); a bare PATH -> (None, PATH) (the name is then the file's stem)."""
    name, sep, path = text.partition("=")
    if sep and name and not any(c in name for c in "/\\") and path:
        return name, Path(path)
    return None, Path(text)


def fit_result(rgb: np.ndarray, expected_hw: tuple[int, int], hr_hw: tuple[int, int] | None,
               what: str) -> tuple[np.ndarray, str | None]:
    """The result cropped to `expected_hw` (the HR's mod-crop; the LR x scale in blind mode).

    rgb: HxWx3 (any dtype, returned sliced, not copied). hr_hw: the HR file's own (H, W) in
    reference mode, None in blind mode. Returns (image, note or None); raises ResultSizeError.
    """
    h, w = rgb.shape[:2]
    eh, ew = expected_hw
    if (h, w) == (eh, ew):
        return rgb, None
    if hr_hw is None:
        raise ResultSizeError(f"{what} is {w}x{h}, but the LR x scale is {ew}x{eh} (blind mode wants exactly that)")
    hh, hw = hr_hw
    if eh <= h <= hh and ew <= w <= hw:
        return rgb[:eh, :ew], f"{what}: {w}x{h} cropped to the HR's mod-crop {ew}x{eh} (top-left)"
    size = f"{hw}x{hh}" + (f" (mod-crop {ew}x{eh})" if (hh, hw) != (eh, ew) else "")
    raise ResultSizeError(f"{what} is {w}x{h}, but the HR is {size}")


class ResultImage(Method):
    """One result image file as a method: read now (a bad file raises ImageReadError here)."""

    def __init__(self, name: str, path, label: str | None = None, scale: int = 4):
        self.path = Path(path)
        self.name, self.label, self.scale = name, label or name, scale
        self.image: LoadedImage = read_image(self.path)

    def device_description(self) -> str:
        """Nothing runs here: no device (the window keeps showing the learned methods' one)."""
        return ""

    def fitted(self, image_hw: tuple[int, int], mode: str = "reference", scale: int = 4):
        """(HxWx3 float32 [0, 1], note or None) for a comparison of an image of `image_hw` (H, W):
        reference mode, the image is the HR (the result fits its mod-crop); blind mode, the image is
        the LR (the result is its size x scale). Raises ResultSizeError (see `fit_result`)."""
        h, w = image_hw
        if mode == "reference":
            expected, hr_hw = (h - h % scale, w - w % scale), (h, w)
        else:
            expected, hr_hw = (h * scale, w * scale), None
        rgb, note = fit_result(self.image.rgb, expected, hr_hw, f"result {self.name} ({self.path.name})")
        return to_float(rgb), note

    def upscale(self, rgb_float, progress=None, cancel=None):
        """The stored image for this LR (blind mode's rule: exactly the LR's size x scale)."""
        if cancel is not None:
            cancel.raise_if_cancelled()
        out, _note = self.fitted(np.shape(rgb_float)[:2], "blind", self.scale)
        if progress is not None:
            progress(1.0)
        return out


@dataclass
class Pairing:
    """Which result file goes with each HR file, and by which rule ("stem", "stem + suffix", "sorted order")."""

    pairs: list[tuple[Path, Path, str]]          # (HR file, result file, rule)
    unused: list[Path] = field(default_factory=list)

    def lines(self, name: str, folder) -> list[str]:
        rules = sorted({rule for _hr, _res, rule in self.pairs})
        out = [f"result {name}: {folder} paired by {', '.join(rules)}"]
        out += [f"  {hr.name} <- {res.name}" + (f"  ({rule})" if len(rules) > 1 else "") for hr, res, rule in self.pairs]
        if self.unused:
            out.append(f"  not used: {', '.join(p.name for p in self.unused)}")
        return out


def _suffix_match(hr_stem: str, result_stem: str) -> bool:
    return (len(result_stem) > len(hr_stem) and result_stem.startswith(hr_stem)
            and result_stem[len(hr_stem)] in SEPARATORS)


def pair_results(hr_paths: list[Path], result_paths: list[Path], folder="the folder") -> Pairing:
    """Pair each HR file with one result file: the same stem, else the stem plus a suffix
    (`img_001_SRGAN.png`, `img_001_x4_SR.png`; the longest HR stem wins; case ignored); when some HR
    file finds none (or two), every file pairs in sorted order instead, which needs as many result
    files as HR files. Raises SrviewerError when neither works."""
    by_stem = {p.stem.lower(): p for p in result_paths}
    hr_stems = [p.stem.lower() for p in hr_paths]
    pairs: list[tuple[Path, Path, str]] = []
    for hr, stem in zip(hr_paths, hr_stems):
        if stem in by_stem:
            pairs.append((hr, by_stem[stem], "stem"))
            continue
        # results whose longest matching HR stem is this one (img_1 must not take img_10_SR)
        found = [r for r in result_paths if _suffix_match(stem, r.stem.lower()) and r.stem.lower() not in hr_stems
                 and max((s for s in hr_stems if _suffix_match(s, r.stem.lower())), key=len) == stem]
        if len(found) != 1:
            break
        pairs.append((hr, found[0], "stem + suffix"))
    if len(pairs) == len(hr_paths) and len({res for _hr, res, _rule in pairs}) == len(pairs):
        used = {res for _hr, res, _rule in pairs}
        return Pairing(pairs, [p for p in result_paths if p not in used])
    if len(result_paths) != len(hr_paths):
        missing = hr_paths[len(pairs)].name if len(pairs) < len(hr_paths) else "an HR file"
        raise SrviewerError(f"{len(result_paths)} result images in {folder} for {len(hr_paths)} HR images, and "
                            f"their names do not pair up (none or several for {missing})")
    return Pairing([(hr, res, "sorted order") for hr, res in zip(hr_paths, sorted(result_paths))])


class ResultFolder(Method):
    """A folder of result images as a bench method: each HR file's result is found by `pair`."""

    def __init__(self, name: str, folder, label: str | None = None, scale: int = 4):
        self.path = Path(folder)
        self.name, self.label, self.scale = name, label or name, scale
        if not self.path.is_dir():
            raise SrviewerError(f"{folder} is not a folder (bench pairs a folder's images with the HR files)")
        self.files = sorted(p for p in self.path.iterdir() if p.is_file() and is_image_path(p))
        if not self.files:
            raise SrviewerError(f"{folder}: no images in that folder")
        self.pairing: Pairing | None = None

    device_description = ResultImage.device_description

    def pair(self, hr_paths: list[Path]) -> Pairing:
        self.pairing = pair_results(list(hr_paths), self.files, self.path)
        return self.pairing

    def result_for(self, hr_path: Path) -> ResultImage:
        """The paired file of `hr_path` (after `pair`), read."""
        for hr, res, _rule in self.pairing.pairs if self.pairing else ():
            if hr == hr_path:
                return ResultImage(self.name, res, self.label, self.scale)
        raise KeyError(f"{hr_path} was not paired: call pair() first")

    def upscale(self, rgb_float, progress=None, cancel=None):
        raise SrviewerError(f"result {self.name} is a folder of images: it is scored by `srviewer bench`, "
                            "not run on an image")


def add_result(registry, path, name: str | None = None, folder: bool = False, scale: int = 4) -> Method:
    """Register the result image at `path` (a folder of them with `folder`, for bench) as a method
    named `name` (default: the file's stem, made unique). A missing or bad file, a file where a
    folder is wanted or the reverse, or a `name` already taken is one line (SrviewerError)."""
    path = Path(path)
    if not path.exists():
        raise SrviewerError(f"{path} not found")
    if folder != path.is_dir():
        raise SrviewerError("bench wants a folder of result images, one per HR file" if folder
                            else f"{path} is a folder (give one image file)")
    if name is None:
        name = registry.unique_name(path.name if folder else path.stem)
    elif name in registry:
        raise SrviewerError(f"a method named {name!r} already exists (choose another NAME)")
    return registry.register(ResultFolder(name, path, scale=scale) if folder else ResultImage(name, path, scale=scale))


def add_results(registry, specs: list[str], folders: bool = False, scale: int = 4) -> list[str]:
    """Register `--result NAME=FILE` (or NAME=FOLDER with `folders`) arguments; returns their names."""
    names = []
    for spec in specs:
        name, path = parse_result_arg(spec)
        try:
            names.append(add_result(registry, path, name, folders, scale).name)
        except SrviewerError as exc:
            raise type(exc)(f"--result {spec}: {exc}") from None
    return names
