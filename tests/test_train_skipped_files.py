"""Training on a folder with unreadable and too small files says how many were used and skipped,
and names the skipped ones (in log.txt and in the `started` event)."""

import numpy as np
import pytest

from srviewer.cli import main
from srviewer.core.images import write_image
from srviewer.train import sr_data
from srviewer.train.events import read_events


@pytest.fixture
def mixed_folder(tmp_path, rng, monkeypatch):
    monkeypatch.setattr(sr_data, "CACHE_DIR", tmp_path / "cache")
    folder = tmp_path / "train"
    for i in range(3):
        write_image(folder / f"good_{i}.png", rng.integers(0, 256, (48, 48, 3)).astype(np.uint8))
    write_image(folder / "small.png", rng.integers(0, 256, (16, 16, 3)).astype(np.uint8))
    (folder / "broken.jpg").write_bytes(b"\xff\xd8\xff\xe0 not really a jpeg")
    (folder / "sub").mkdir()
    (folder / "sub" / "cut.png").write_bytes((folder / "good_0.png").read_bytes()[:200])
    return folder


def test_load_pairs_names_the_files_it_skipped_also_from_its_cache(mixed_folder):
    for _ in range(2):   # the second time from the cache
        pairs = sr_data.load_pairs([mixed_folder], min_size=24)
        assert sorted(n.rsplit("/", 1)[-1] for n in pairs.names) == ["good_0.png", "good_1.png", "good_2.png"]
        reasons = {f.rsplit("/", 1)[-1]: why for f, why in pairs.skipped}
        assert sorted(reasons) == ["broken.jpg", "cut.png", "small.png"]
        assert reasons["small.png"] == "smaller than 24x24 pixels"
        assert "broken.jpg" not in reasons["broken.jpg"]   # the reason alone, the file is named beside it
    assert list((mixed_folder.parent / "cache").glob("pairs_*.npz"))


def test_a_folder_of_only_bad_files_says_how_many_it_skipped(tmp_path, monkeypatch):
    monkeypatch.setattr(sr_data, "CACHE_DIR", tmp_path / "cache")
    (tmp_path / "d").mkdir()
    (tmp_path / "d" / "x.png").write_bytes(b"nope")
    with pytest.raises(sr_data.DataError, match=r"\(1 files skipped\)"):
        sr_data.load_pairs([tmp_path / "d"])


def test_a_training_run_logs_and_announces_the_skipped_files(tmp_path, mixed_folder):
    run = tmp_path / "run"
    assert main(["train", "srcnn", "--data", str(mixed_folder), "--val", "none", "--steps", "2", "--batch", "2",
                 "--patch", "24", "--n1", "8", "--n2", "4", "--xla", "off", "--out", str(run)]) == 0
    started = next(e for e in read_events(run) if e["event"] == "started")
    assert started["images"] == 3 and started["skipped_images"] == 3
    assert sorted(s["file"].rsplit("/", 1)[-1] for s in started["skipped"]) == ["broken.jpg", "cut.png", "small.png"]
    log = (run / "log.txt").read_text()
    assert "3 training images, 3 files skipped" in log
    for name in ("broken.jpg", "cut.png", "small.png"):
        assert f"skipped {mixed_folder}" in log and name in log
