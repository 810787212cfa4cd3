"""Folder layouts, the deterministic split, and fast clear failures for tfds offline."""

import sys
import threading
import types

import numpy as np
import pytest
from PIL import Image

from srviewer.errors import DataError
from srviewer.train import augment_data, net_probe


def _write_classes(root, classes=("a", "b"), per_class=5, size=(12, 10)):
    for c in classes:
        (root / c).mkdir(parents=True)
        for i in range(per_class):
            Image.fromarray(np.full((size[1], size[0], 3), i * 20, np.uint8)).save(root / c / f"{i}.png")


def test_given_train_val_split_is_used_as_is(tmp_path):
    _write_classes(tmp_path / "train", per_class=4)
    _write_classes(tmp_path / "val", per_class=2)
    split = augment_data.scan_folder(tmp_path)
    assert split.given_split and split.classes == ["a", "b"]
    assert len(split.train) == 8 and len(split.val) == 4
    assert all("/val/" in p for p, _ in split.val) and {c for _, c in split.train} == {0, 1}


def test_class_folders_split_deterministically_by_seed(tmp_path):
    _write_classes(tmp_path, classes=("x", "y", "z"), per_class=10)
    a = augment_data.scan_folder(tmp_path, val_fraction=0.3, seed=1)
    b = augment_data.scan_folder(tmp_path, val_fraction=0.3, seed=1)
    c = augment_data.scan_folder(tmp_path, val_fraction=0.3, seed=2)
    assert not a.given_split and a.train == b.train and a.val == b.val and a.val != c.val
    assert len(a.val) == 9 and len(a.train) == 21
    assert not {p for p, _ in a.train} & {p for p, _ in a.val}
    assert [sum(1 for _, k in a.val if k == i) for i in range(3)] == [3, 3, 3]


def test_unusable_folders_raise_data_error(tmp_path):
    with pytest.raises(DataError, match="not found"):
        augment_data.scan_folder(tmp_path / "missing")
    (tmp_path / "only").mkdir()
    _write_classes(tmp_path / "one", classes=("a",))
    with pytest.raises(DataError, match="at least 2 class"):
        augment_data.scan_folder(tmp_path / "one")
    _write_classes(tmp_path / "train", per_class=2)
    _write_classes(tmp_path / "val", classes=("a", "c"), per_class=2)
    with pytest.raises(DataError, match="different class"):
        augment_data.scan_folder(tmp_path)


def test_open_source_resizes_to_float_batches_in_the_unit_range(tmp_path):
    _write_classes(tmp_path, per_class=6, size=(30, 20))
    source = augment_data.open_source(str(tmp_path), size=16, val_fraction=0.5, seed=0)
    assert (source.num_classes, source.train_size, source.val_size) == (2, 6, 6)
    batches = list(source.train_batches(epoch=1, batch=4, seed=0))
    x, y = batches[0]
    assert x.shape == (4, 16, 16, 3) and x.dtype.name == "float32" and y.dtype.name == "int32"
    assert float(x.numpy().min()) >= 0.0 and float(x.numpy().max()) <= 1.0
    again = list(source.train_batches(epoch=1, batch=4, seed=0, skip_batches=1))
    np.testing.assert_array_equal(again[0][1].numpy(), batches[1][1].numpy())  # skip keeps the order


def test_tfds_missing_package_fails_naming_the_folder_alternative(monkeypatch):
    monkeypatch.setitem(sys.modules, "tensorflow_datasets", None)   # import raises ImportError
    with pytest.raises(DataError, match="not installed.*--data FOLDER"):
        augment_data.open_source("tfds:stanford_dogs")


def test_tfds_offline_fails_fast_instead_of_retrying(monkeypatch, tmp_path):
    downloads = []
    builder = types.SimpleNamespace(data_dir=str(tmp_path / "stanford_dogs" / "0.2.0"),
                                    download_and_prepare=lambda: downloads.append(1))
    fake_tfds = types.SimpleNamespace(builder=lambda name, data_dir=None: builder)
    monkeypatch.setattr(augment_data, "_import_tfds", lambda: fake_tfds)
    monkeypatch.setattr(net_probe, "TFDS_PROBE_URL", "http://127.0.0.1:9/")  # nothing listens: refused
    with pytest.raises(DataError, match="127.0.0.1:9/ cannot be reached.*--data FOLDER"):
        augment_data.open_source("tfds:stanford_dogs")
    assert downloads == []  # tfds's own download (minutes of retries offline) was never started


def test_the_network_probe_abandons_a_lookup_that_never_returns(monkeypatch):
    """A stuck DNS lookup or silent server: the probe says 'unreachable' and leaves it behind."""
    import urllib.request

    stuck, release = threading.Event(), threading.Event()

    def never_answers(*args, **kwargs):
        stuck.set()
        release.wait(120)
        raise OSError("released")

    monkeypatch.setattr(urllib.request, "urlopen", never_answers)
    answer = []
    caller = threading.Thread(target=lambda: answer.append(net_probe.host_reachable("http://example.invalid/", 0.2)))
    caller.start()
    caller.join(60)                       # a guard so that a broken probe fails instead of hanging
    try:
        assert stuck.is_set() and answer == [False]
        assert not release.is_set()       # returned while the lookup was still blocked
    finally:
        release.set()


def test_the_network_probe_counts_a_refused_or_silent_host_as_unreachable():
    import socket

    with socket.socket() as server:  # accepts the connection (backlog) but never answers
        server.bind(("127.0.0.1", 0))
        server.listen(1)
        assert net_probe.host_reachable(f"http://127.0.0.1:{server.getsockname()[1]}/", timeout=0.5) is False
    assert net_probe.host_reachable("http://127.0.0.1:9/", timeout=0.5) is False
