"""Training data for super-resolution: aligned HR/LR patch pairs from folders of HR images.

Each HR image is read once (RGB uint8), mod-cropped to the scale and degraded once with the
run's kernel (`conventions.downscale`, MATLAB bicubic by default: the papers' protocol), so a
patch is a pair of slices: HR `patch x patch` at (4y, 4x) and LR `patch/4` at (y, x). The pairs
are cached as one .npz per data set (keyed by file list, sizes and kernel) so a resumed run starts
in seconds. Augmentation: random flips and 90-degree rotations.

Batches are float32 NHWC RGB in [0, 1]: `lr` (B, p/s, p/s, 3) and `hr` (B, p, p, 3).
`tfds:NAME` loads a TensorFlow Datasets set (users with internet); offline it fails fast.
`sample` is scikit-image's bundled colour photos (SAMPLE_PHOTOS, installed with scikit-image, no
network): a demo run on any machine, not enough data for a good model. The window's sample photo
(chelsea) is left out, so a model trained on it is not judged on what it saw.
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from srviewer.core.conventions import downscale, mod_crop
from srviewer.core.degrade import degrade
from srviewer.core.images import IMAGE_SUFFIXES, read_image, to_uint8
from srviewer.core.user_cache import cache_dir
from srviewer.errors import DataError, ImageReadError
from srviewer.train import net_probe

CACHE_DIR = cache_dir()   # tests point it elsewhere
SAMPLE_SOURCE = "sample"
SAMPLE_PHOTOS = ("astronaut", "coffee", "rocket", "hubble_deep_field", "immunohistochemistry",
                 "stereo_motorcycle")


@dataclass
class PairSet:
    """HR images (uint8 HxWx3) and their LR (uint8 (H/s)x(W/s)x3), made with `kernel`.

    skipped: (file, reason) for each file found but not used (unreadable, or too small).
    """

    hr: list[np.ndarray]
    lr: list[np.ndarray]
    scale: int
    kernel: str
    names: list[str]
    skipped: list[tuple[str, str]] = field(default_factory=list)


def find_images(folders: list[str | os.PathLike]) -> list[Path]:
    """Every image file under the folders, searched recursively, sorted for determinism."""
    found: list[Path] = []
    for folder in folders:
        folder = Path(folder)
        if not folder.is_dir():
            raise DataError(f"training data folder {folder} does not exist")
        found.extend(p for p in folder.rglob("*") if p.suffix.lower() in IMAGE_SUFFIXES and p.is_file())
    return sorted(found)


def _cache_key(paths: list[Path], scale: int, kernel: str) -> str:
    digest = hashlib.sha256(f"{scale}:{kernel}".encode())
    for p in paths:
        stat = p.stat()
        digest.update(f"{p.resolve()}:{stat.st_size}:{int(stat.st_mtime)}".encode())
    return digest.hexdigest()[:16]


def load_pairs(folders: list[str | os.PathLike], scale: int = 4, kernel: str = "matlab",
               min_size: int = 96, cache: bool = True) -> PairSet:
    """Read and degrade every usable image under `folders` (smaller than min_size: skipped)."""
    paths = find_images(folders)
    if not paths:
        raise DataError(f"no images found under {', '.join(map(str, folders))}")
    cache_file = CACHE_DIR / f"pairs_{_cache_key(paths, scale, kernel)}.npz"
    if cache and cache_file.exists():
        try:
            with np.load(cache_file, allow_pickle=False) as data:
                n = int(data["count"])
                skipped = [tuple(str(x).split("\t", 1)) for x in data["skipped"]]   # KeyError: an older cache
                return PairSet([data[f"hr{i}"] for i in range(n)], [data[f"lr{i}"] for i in range(n)],
                               scale, kernel, [str(x) for x in data["names"]], skipped)
        except Exception:  # noqa: BLE001 - a damaged cache is rebuilt
            pass
    hrs, lrs, names, skipped = [], [], [], []
    for path in paths:
        try:
            img = read_image(path)
        except ImageReadError as exc:
            skipped.append((str(path), str(exc).removeprefix(f"{path}: ")))
            continue
        hr = mod_crop(to_uint8(img.rgb), scale)
        if min(hr.shape[:2]) < min_size:
            skipped.append((str(path), f"smaller than {min_size}x{min_size} pixels"))
            continue
        hrs.append(np.ascontiguousarray(hr))
        lrs.append(downscale(hr, scale, kernel))
        names.append(str(path))
    if not hrs:
        raise DataError(f"no readable image of at least {min_size}x{min_size} pixels under "
                        f"{', '.join(map(str, folders))} ({len(skipped)} files skipped)")
    if cache:
        _save_cache(cache_file, hrs, lrs, names, skipped)
    return PairSet(hrs, lrs, scale, kernel, names, skipped)


def _save_cache(cache_file: Path, hrs, lrs, names, skipped) -> None:
    from srviewer.core.atomic import atomic_write

    arrays = {f"hr{i}": a for i, a in enumerate(hrs)} | {f"lr{i}": a for i, a in enumerate(lrs)}
    try:
        with atomic_write(cache_file, "wb") as handle:
            np.savez(handle, count=np.array(len(hrs)), names=np.array(names),
                     skipped=np.array([f"{f}\t{why}" for f, why in skipped], dtype=str), **arrays)
    except OSError:
        pass  # a cache is an optimisation only


class PatchSampler:
    """Random aligned patch pairs, deterministic in (seed, step): a resumed run draws new batches.

    With a `degradation` (train.degrade_spec.DegradationSpec) each patch's LR is made from its
    (flipped, rotated) HR patch by a chain drawn for that patch, instead of sliced from the
    clean LR."""

    def __init__(self, pairs: PairSet, patch: int = 96, batch: int = 16, seed: int = 0, degradation=None):
        if patch % pairs.scale:
            raise DataError(f"patch size {patch} is not a multiple of the scale {pairs.scale}")
        usable = [i for i, hr in enumerate(pairs.hr) if min(hr.shape[:2]) >= patch]
        if not usable:
            raise DataError(f"no training image is at least {patch}x{patch} pixels")
        self.pairs, self.patch, self.batch, self.seed = pairs, patch, batch, seed
        self.degradation = degradation
        self._usable = np.array(usable)
        areas = np.array([pairs.hr[i].shape[0] * pairs.hr[i].shape[1] for i in usable], dtype=np.float64)
        self._p = areas / areas.sum()  # bigger images give more patches

    def batch_at(self, step: int) -> tuple[np.ndarray, np.ndarray]:
        """The batch for `step`: (lr, hr) float32 [0,1], shapes (B, p/s, p/s, 3) and (B, p, p, 3)."""
        rng = np.random.default_rng([self.seed, step])
        chains = np.random.default_rng([self.seed, step, 17])   # the degradations' own stream: same patches
        s, p = self.pairs.scale, self.patch
        q = p // s
        lr_batch = np.empty((self.batch, q, q, 3), np.float32)
        hr_batch = np.empty((self.batch, p, p, 3), np.float32)
        for b in range(self.batch):
            i = int(rng.choice(self._usable, p=self._p))
            lr_img, hr_img = self.pairs.lr[i], self.pairs.hr[i]
            y = int(rng.integers(0, lr_img.shape[0] - q + 1))
            x = int(rng.integers(0, lr_img.shape[1] - q + 1))
            lr_patch = lr_img[y:y + q, x:x + q]
            hr_patch = hr_img[y * s:(y + q) * s, x * s:(x + q) * s]
            k = int(rng.integers(0, 4))
            if rng.random() < 0.5:
                lr_patch, hr_patch = lr_patch[:, ::-1], hr_patch[:, ::-1]
            hr_batch[b] = np.rot90(hr_patch, k) / 255.0
            if self.degradation is None:
                lr_batch[b] = np.rot90(lr_patch, k) / 255.0
            else:
                hr_seen = np.ascontiguousarray(np.rot90(hr_patch, k))
                lr_batch[b] = degrade(hr_seen, self.degradation.sample(chains), s) / 255.0
        return lr_batch, hr_batch


def make_dataset(sampler: PatchSampler, start_step: int):
    """tf.data pipeline of the sampler's batches from `start_step` on, prefetched in the background."""
    import tensorflow as tf

    s, p, b = sampler.pairs.scale, sampler.patch, sampler.batch

    def gen():
        step = start_step
        while True:
            yield sampler.batch_at(step)
            step += 1

    spec = (tf.TensorSpec((b, p // s, p // s, 3), tf.float32), tf.TensorSpec((b, p, p, 3), tf.float32))
    return tf.data.Dataset.from_generator(gen, output_signature=spec).prefetch(tf.data.AUTOTUNE)


def tfds_or_fail(name: str):
    """The tensorflow_datasets module, once it is known that `name` can be loaded: installed, and
    prepared locally or downloadable. Otherwise a DataError at once, naming --data FOLDER."""
    try:
        import tensorflow_datasets as tfds
    except ImportError:
        raise DataError("tensorflow-datasets is not installed: `pip install srviewer[datasets]`, "
                        "or pass --data FOLDER with HR images") from None
    if not net_probe.host_reachable(net_probe.TFDS_PROBE_URL) and not (Path(tfds.core.constants.DATA_DIR) / name.split("/")[0]).exists():
        raise DataError(f"tfds:{name} cannot be downloaded (no network) and is not prepared locally: "
                        "pass --data FOLDER with HR images instead")
    return tfds


def load_tfds_pairs(name: str, scale: int = 4, kernel: str = "matlab", limit: int | None = None) -> PairSet:
    """HR images of a TensorFlow Datasets set (e.g. `div2k/bicubic_x4`, its `hr` feature)."""
    tfds = tfds_or_fail(name)
    try:
        ds = tfds.load(name, split="train")
    except Exception as exc:  # noqa: BLE001
        raise DataError(f"tfds:{name} could not be loaded ({exc}); pass --data FOLDER instead") from None
    hrs, lrs, names = [], [], []
    for i, item in enumerate(tfds.as_numpy(ds)):
        if limit is not None and i >= limit:
            break
        hr = mod_crop(item["hr"] if isinstance(item, dict) else item[0], scale)
        hrs.append(hr)
        lrs.append(downscale(hr, scale, kernel))
        names.append(f"tfds:{name}#{i}")
    if not hrs:
        raise DataError(f"tfds:{name} holds no images")
    return PairSet(hrs, lrs, scale, kernel, names)


def is_named_source(item: str) -> bool:
    """A `--data` value that names a source (`tfds:NAME`, `sample`) rather than a folder."""
    return str(item).startswith("tfds:") or str(item) == SAMPLE_SOURCE


def load_sample_pairs(scale: int = 4, kernel: str = "matlab") -> PairSet:
    """scikit-image's bundled colour photos (SAMPLE_PHOTOS) as training pairs: offline, any machine."""
    import skimage.data

    hrs, lrs, names = [], [], []
    for name in SAMPLE_PHOTOS:
        photo = getattr(skimage.data, name)()
        photo = photo[0] if isinstance(photo, tuple) else photo   # stereo_motorcycle: (left, right, disparity)
        hr = np.ascontiguousarray(mod_crop(to_uint8(photo[..., :3]), scale))
        hrs.append(hr)
        lrs.append(downscale(hr, scale, kernel))
        names.append(f"{SAMPLE_SOURCE}:{name}")
    return PairSet(hrs, lrs, scale, kernel, names)


def load_training_data(spec: list[str], scale: int, kernel: str, min_size: int) -> PairSet:
    """`--data` values: folders, one `tfds:NAME`, or `sample` (scikit-image's photos)."""
    tfds_names = [s for s in spec if s.startswith("tfds:")]
    if tfds_names:
        return load_tfds_pairs(tfds_names[0][5:], scale, kernel)
    if list(spec) == [SAMPLE_SOURCE]:
        return load_sample_pairs(scale, kernel)
    return load_pairs(spec, scale, kernel, min_size)
