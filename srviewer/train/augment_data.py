"""Data for the augmentation experiment: a folder of class sub-folders, or a tfds data set.

`--data FOLDER` takes either layout:
  FOLDER/train/<class>/*.jpg + FOLDER/val/<class>/*.jpg   a given split (the class lists must match)
  FOLDER/<class>/*.jpg                                      split here, per class, by `seed`
                                                            (`val_fraction` of each class, at least 1)
`--data tfds:NAME` (e.g. `tfds:stanford_dogs`) loads through tensorflow_datasets, imported lazily;
not installed, or not downloaded and the hub unreachable, raise DataError at once naming the
folder alternative (tfds itself retries for minutes offline).

What leaves this module (`Source.train_batches` / `val_batches`): tf.data batches of
**float32 RGB NHWC in [0, 1], size x size** (bilinear, antialiased resize) and **int32 class ids**;
augmentation and the model's preprocessing come after, in augment.py. The order of the training
images is drawn from (seed, epoch) with numpy, so every variant, and a resumed run, sees the same
batches. TensorFlow is imported inside the functions that need it; `load_preview_images` uses
Pillow only.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from srviewer.errors import DataError
from srviewer.train import net_probe

IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png", ".bmp", ".gif", ".webp"}   # what tf.io.decode_image reads (no TIFF)
TFDS_PREFIX = "tfds:"
FOLDER_HINT = "use --data FOLDER with one sub-folder per class (or FOLDER/train/<class> + FOLDER/val/<class>)"


# --- folder layout ------------------------------------------------------------------------------
def _images_in(folder: Path) -> list[Path]:
    return sorted(p for p in folder.iterdir() if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES)


def _class_dirs(folder: Path) -> list[Path]:
    return sorted(p for p in folder.iterdir() if p.is_dir() and not p.name.startswith("."))


@dataclass
class FolderSplit:
    classes: list[str]
    train: list[tuple[str, int]]   # (path, class id)
    val: list[tuple[str, int]]
    given_split: bool              # True: FOLDER/train + FOLDER/val; False: split here by seed


def scan_folder(folder, val_fraction: float = 0.2, seed: int = 0) -> FolderSplit:
    """Find the classes and images of FOLDER (see the module docstring); DataError when unusable."""
    folder = Path(folder)
    if not folder.is_dir():
        raise DataError(f"data folder not found: {folder}")
    if (folder / "train").is_dir() and (folder / "val").is_dir():
        train_classes = [d.name for d in _class_dirs(folder / "train")]
        val_classes = [d.name for d in _class_dirs(folder / "val")]
        if train_classes != val_classes:
            raise DataError(f"{folder}/train and {folder}/val have different class folders")
        classes = train_classes
        train = [(str(p), i) for i, c in enumerate(classes) for p in _images_in(folder / "train" / c)]
        val = [(str(p), i) for i, c in enumerate(classes) for p in _images_in(folder / "val" / c)]
        given = True
    else:
        if not 0.0 < val_fraction < 1.0:
            raise DataError(f"--val-fraction must be between 0 and 1, got {val_fraction}")
        class_dirs = [d for d in _class_dirs(folder) if _images_in(d)]
        classes = [d.name for d in class_dirs]
        rng = np.random.default_rng([int(seed), 7])
        train, val = [], []
        for i, d in enumerate(class_dirs):
            paths = _images_in(d)
            if len(paths) < 2:
                raise DataError(f"class folder {d} needs at least 2 images to split into train and val")
            order = rng.permutation(len(paths))
            n_val = min(len(paths) - 1, max(1, int(round(val_fraction * len(paths)))))
            val += [(str(paths[j]), i) for j in sorted(order[:n_val])]
            train += [(str(paths[j]), i) for j in sorted(order[n_val:])]
        given = False
    if len(classes) < 2:
        raise DataError(f"{folder} needs at least 2 class sub-folders with images, found {len(classes)}")
    if not train or not val:
        raise DataError(f"{folder} has no training or no validation images")
    return FolderSplit(classes, train, val, given)


# --- tfds ---------------------------------------------------------------------------------------
def _import_tfds():
    try:
        import tensorflow_datasets as tfds  # noqa: PLC0415 - optional, heavy
    except ImportError as exc:
        raise DataError(f"tensorflow_datasets is not installed (pip install tensorflow-datasets); {FOLDER_HINT}") from None
    return tfds


def _tfds_builder(name: str, data_dir: str | None = None):
    """A prepared tfds builder for `name`, downloading only when the hub answers; else DataError."""
    tfds = _import_tfds()
    try:
        builder = tfds.builder(name, data_dir=data_dir)
    except Exception as exc:  # noqa: BLE001 - tfds raises many kinds for an unknown name
        raise DataError(f"tfds data set {name!r} unavailable: {exc}; {FOLDER_HINT}") from None
    prepared = Path(str(builder.data_dir), "dataset_info.json").exists()
    if not prepared:
        if not net_probe.host_reachable(net_probe.TFDS_PROBE_URL):
            raise DataError(
                f"tfds:{name} is not downloaded and {net_probe.TFDS_PROBE_URL} cannot be reached (offline?); {FOLDER_HINT}"
            )
        try:
            builder.download_and_prepare()
        except Exception as exc:  # noqa: BLE001
            raise DataError(f"tfds:{name} download failed: {exc}; {FOLDER_HINT}") from None
    return builder


# --- sources ------------------------------------------------------------------------------------
@dataclass
class Source:
    """Training and validation images, resized to size x size; see the module docstring."""

    description: str
    classes: list[str]
    train_size: int
    val_size: int
    size: int = 224
    _folder: FolderSplit | None = field(default=None, repr=False)
    _tfds: object = field(default=None, repr=False)

    @property
    def num_classes(self) -> int:
        return len(self.classes)

    def batches_per_epoch(self, batch: int) -> int:
        return -(-self.train_size // batch)

    def _resize(self, image):
        import tensorflow as tf  # noqa: PLC0415

        image = tf.image.convert_image_dtype(image, tf.float32)  # uint8 -> [0, 1]
        image = tf.image.resize(image, (self.size, self.size), method="bilinear", antialias=True)
        return tf.clip_by_value(image, 0.0, 1.0)

    def _from_paths(self, items: list[tuple[str, int]], batch: int):
        import tensorflow as tf  # noqa: PLC0415

        paths = tf.constant([p for p, _ in items], tf.string)
        labels = tf.constant([c for _, c in items], tf.int32)

        def load(path, label):
            image = tf.io.decode_image(tf.io.read_file(path), channels=3, expand_animations=False)
            image.set_shape([None, None, 3])
            return self._resize(image), label

        ds = tf.data.Dataset.from_tensor_slices((paths, labels))
        return ds.map(load, num_parallel_calls=tf.data.AUTOTUNE, deterministic=True).batch(batch)

    def train_batches(self, epoch: int, batch: int, seed: int, skip_batches: int = 0):
        """The epoch's training batches in the (seed, epoch) order, the first `skip_batches` left out."""
        import tensorflow as tf  # noqa: PLC0415

        if self._folder is not None:
            order = np.random.default_rng([int(seed), int(epoch), 1]).permutation(self.train_size)
            items = [self._folder.train[i] for i in order[skip_batches * batch:]]
            return self._from_paths(items, batch)
        ds = self._tfds.as_dataset(split="train", as_supervised=True, shuffle_files=False)
        ds = ds.shuffle(min(self.train_size, 4096), seed=int(seed) * 1000 + int(epoch), reshuffle_each_iteration=False)
        ds = ds.map(lambda im, lab: (self._resize(im), tf.cast(lab, tf.int32)), num_parallel_calls=tf.data.AUTOTUNE)
        return ds.batch(batch).skip(skip_batches)

    def val_batches(self, batch: int):
        import tensorflow as tf  # noqa: PLC0415

        if self._folder is not None:
            return self._from_paths(self._folder.val, batch)
        ds = self._tfds.as_dataset(split="test", as_supervised=True, shuffle_files=False)
        ds = ds.map(lambda im, lab: (self._resize(im), tf.cast(lab, tf.int32)), num_parallel_calls=tf.data.AUTOTUNE)
        return ds.batch(batch)


def open_source(spec: str, size: int = 224, val_fraction: float = 0.2, seed: int = 0) -> Source:
    """`tfds:NAME` or a folder path -> Source. Raises DataError with a one-line reason."""
    spec = str(spec)
    if spec.startswith(TFDS_PREFIX):
        name = spec[len(TFDS_PREFIX):]
        builder = _tfds_builder(name, os.environ.get("TFDS_DATA_DIR"))
        info = builder.info
        label = info.features["label"]
        return Source(
            description=f"tfds:{name} (train / test splits)",
            classes=list(label.names),
            train_size=int(info.splits["train"].num_examples),
            val_size=int(info.splits["test"].num_examples),
            size=size,
            _tfds=builder,
        )
    split = scan_folder(spec, val_fraction=val_fraction, seed=seed)
    how = "given train/val split" if split.given_split else f"split by seed {seed}, val fraction {val_fraction}"
    return Source(
        description=f"{spec} ({how})",
        classes=split.classes,
        train_size=len(split.train),
        val_size=len(split.val),
        size=size,
        _folder=split,
    )


# --- preview (no TensorFlow) --------------------------------------------------------------------
def load_preview_images(folder, n: int = 8, size: int = 160, seed: int = 0):
    """n training images of a class folder for the preview, with Pillow only.

    Returns (images float32 RGB NHWC [0, 1] of size x size, class ids int (n,), class names).
    """
    from PIL import Image  # noqa: PLC0415

    split = scan_folder(folder, seed=seed)
    order = np.random.default_rng([int(seed), 3]).permutation(len(split.train))[:n]
    images, labels = [], []
    for i in order:
        path, label = split.train[i]
        try:
            with Image.open(path) as im:
                im = im.convert("RGB").resize((size, size), Image.Resampling.BILINEAR)
                images.append(np.asarray(im, np.float32) / 255.0)
        except OSError as exc:
            raise DataError(f"cannot read {path}: {exc}") from None
        labels.append(label)
    return np.stack(images), np.asarray(labels), split.classes
