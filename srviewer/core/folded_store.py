"""The folded fast-path weights of sr_resnet models, kept per weights file, so a launch skips Keras.

Loading `srresnet.weights.h5` the first time builds the Keras model, loads its weights, runs the
16x16 probe, folds the weights for the fast path and checks the fold against the model
(`sr_resnet_inference.fold`): about 0.7 s on a 2-core CPU, twice per launch of the window (SRResNet
and the SRGAN generator). The checked fold is kept here; a later load of the very same file runs
it directly (`sr_resnet_inference.fast_call(folded)`), with no Keras model built.

An entry is found by a key over everything the fold depends on: the bytes of the weights file and
of its sidecar, the source of the code that builds and folds the model (models.py, layers.py,
sr_resnet_inference.py, this file) and the Keras and NumPy versions. Any change to one of them
is another key: the old entry is never used for it (the file is either run as checked or loaded
again and checked again). Entries are .npz files of plain arrays (read with allow_pickle=False,
so no code), in user_cache.cache_dir()/folded/, the newest MAX_ENTRIES kept; a damaged or
unreadable entry is removed and the model loaded the long way. Only srviewer's own format (a
`.weights.h5` with a JSON sidecar naming the factory) is kept: other files would have to be hashed
in full on every load before anyone knew they were sr_resnets.
"""

from __future__ import annotations

import hashlib
import json
import logging
from importlib import metadata
from pathlib import Path

import numpy as np

from srviewer.core.atomic import atomic_write
from srviewer.core.sidecar import sidecar_path
from srviewer.core.user_cache import cache_dir

log = logging.getLogger(__name__)
FOLDER = "folded"
MAX_ENTRIES = 8          # about 6 MB each for the shipped 16-block, 64-filter generators
_CODE = ("models.py", "layers.py", "sr_resnet_inference.py", "folded_store.py")   # in srviewer/core
_code_digest: str | None = None


def wanted(path) -> bool:
    """Is `path` a file whose fold is kept here (srviewer's `.weights.h5` + sidecar format)?"""
    path = Path(path)
    return path.name.lower().endswith(".weights.h5") and sidecar_path(path).is_file()


def _code() -> str:
    global _code_digest
    if _code_digest is None:
        digest = hashlib.sha256()
        here = Path(__file__).resolve().parent
        for name in _CODE:
            digest.update((here / name).read_bytes())
        for package in ("keras", "numpy"):
            try:
                digest.update(f"{package} {metadata.version(package)}".encode())
            except metadata.PackageNotFoundError:
                digest.update(f"{package} ?".encode())
        _code_digest = digest.hexdigest()
    return _code_digest


def key_for(path) -> str:
    """The entry's name for this weights file as it is now (its bytes, its sidecar's, the code's)."""
    path = Path(path)
    digest = hashlib.sha256(_code().encode())
    for part in (path, sidecar_path(path)):
        digest.update(hashlib.sha256(part.read_bytes()).digest())
    return digest.hexdigest()[:40]


def _entry(key: str) -> Path:
    return cache_dir() / FOLDER / f"{key}.npz"


def load(key: str):
    """(Folded, meta dict) kept under `key`, or None. A damaged entry is removed (and logged)."""
    from srviewer.core.sr_resnet_inference import Folded

    entry = _entry(key)
    if not entry.is_file():
        return None
    try:
        with np.load(entry, allow_pickle=False) as data:
            meta = json.loads(str(data["meta"]))
            folded = Folded.from_arrays(str(meta["name"]), data)
    except Exception as exc:  # noqa: BLE001 - whatever is wrong with it, the long way still works
        log.warning("removing the damaged folded-weights entry %s (%s)", entry, exc)
        entry.unlink(missing_ok=True)
        return None
    entry.touch()    # the newest are kept
    return folded, meta


def save(key: str, folded, meta: dict) -> None:
    """Keep `folded` (+ JSON-able `meta`) under `key`; a folder that cannot be written is only logged."""
    entry = _entry(key)
    try:
        entry.parent.mkdir(parents=True, exist_ok=True)
        with atomic_write(entry) as handle:
            np.savez(handle, meta=np.array(json.dumps({**meta, "name": folded.name})), **folded.as_arrays())
        _prune(entry.parent)
    except OSError as exc:
        log.info("could not keep the folded weights in %s (%s)", entry.parent, exc)


def _prune(folder: Path) -> None:
    entries = sorted(folder.glob("*.npz"), key=lambda p: p.stat().st_mtime, reverse=True)
    for old in entries[MAX_ENTRIES:]:
        old.unlink(missing_ok=True)
