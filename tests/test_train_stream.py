"""A folder of tens of thousands of images streams: only headers are read up front, and at most one
window of decoded images is held, whatever the folder's size (counts, not timings)."""

import cv2
import numpy as np
import pytest

from srviewer.core.conventions import downscale
from srviewer.train import sr_stream
from srviewer.train.sr_data import PairSet, PatchSampler

COUNT = 20000


@pytest.fixture(scope="module")
def many_tiny(tmp_path_factory):
    folder = tmp_path_factory.mktemp("many")
    rng = np.random.default_rng(0)
    tiles = rng.integers(0, 256, (64, 16, 16, 3), dtype=np.uint8)
    for i in range(COUNT):
        sub = folder / f"{i // 1000:02d}"
        if i % 1000 == 0:
            sub.mkdir()
        img = tiles[i % 64].copy()
        img[0, 0] = (i % 256, i // 256 % 256, i // 65536)       # each file its own image
        cv2.imwrite(str(sub / f"{i:05d}.png"), img)
    (folder / "00" / "broken.png").write_bytes(b"not a png")
    cv2.imwrite(str(folder / "00" / "small.png"), tiles[0][:8, :8])
    return folder


def test_a_big_folder_streams_with_at_most_one_window_resident(many_tiny, monkeypatch):
    monkeypatch.setenv("SRVIEWER_STREAM_FROM", "2000")
    pairs = sr_stream.load_for_training([str(many_tiny)], 4, "matlab", 16)
    assert isinstance(pairs, sr_stream.StreamedPairs)
    assert len(pairs.hr) == COUNT and pairs.reads == 0                    # headers only, nothing decoded
    assert sorted(why for _f, why in pairs.skipped) == ["not a readable image", "smaller than 16x16 pixels"]
    sampler = sr_stream.make_sampler(pairs, patch=16, batch=8, seed=0)
    windows = set()
    for step in range(3 * sampler.steps_per_window):
        lr, hr = sampler.batch_at(step)
        assert lr.shape == (8, 4, 4, 3) and hr.shape == (8, 16, 16, 3) and lr.dtype == np.float32
        assert 0 <= hr.min() and hr.max() <= 1
        assert pairs.resident_count <= sampler.window                  # memory: one window, never the folder
        windows.add(tuple(sorted(sampler.window_images(step))))
    assert len(windows) == 3 and pairs.reads <= 3 * sampler.window      # each window read once, 3 of them
    assert pairs.reads < COUNT / 50
    again = sr_stream.make_sampler(pairs, patch=16, batch=8, seed=0).batch_at(5)
    np.testing.assert_array_equal(again[1], sampler.batch_at(5)[1])     # deterministic in (seed, step)


def test_streamed_patches_are_the_in_memory_paths_patches(tmp_path, rng):
    """The same images, the same window: the streamed sampler draws exactly PatchSampler's pairs."""
    for i in range(5):
        cv2.imwrite(str(tmp_path / f"{i}.png"), rng.integers(0, 256, (40 + 4 * i, 36, 3), dtype=np.uint8))
    streamed = sr_stream.stream_pairs([str(tmp_path)], 4, "matlab", 16)
    sampler = sr_stream.StreamingPatchSampler(streamed, patch=16, batch=6, seed=2, window=5)
    lr, hr = sampler.batch_at(0)
    hrs = [streamed.hr[i] for i in range(5)]
    # LR made from the whole image with the kernel, as the in-memory path does
    reference = PatchSampler(PairSet(hrs, [downscale(h, 4, "matlab") for h in hrs], 4, "matlab", streamed.names),
                             patch=16, batch=6, seed=2)
    order = sampler.window_images(0)
    reference._usable, reference._p = order, sampler._p
    ref_lr, ref_hr = reference.batch_at(0)
    np.testing.assert_array_equal(hr, ref_hr)
    np.testing.assert_array_equal(lr, ref_lr)


def test_a_small_folder_is_still_loaded_whole(tmp_path, rng, monkeypatch):
    monkeypatch.setenv("SRVIEWER_STREAM_FROM", "10")
    for i in range(3):
        cv2.imwrite(str(tmp_path / f"{i}.png"), rng.integers(0, 256, (32, 32, 3), dtype=np.uint8))
    pairs = sr_stream.load_for_training([str(tmp_path)], 4, "matlab", 16)
    assert isinstance(pairs, PairSet) and len(pairs.hr) == 3
