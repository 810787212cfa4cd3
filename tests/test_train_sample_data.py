"""The `sample` training source: scikit-image's bundled photos, so a run starts on any machine."""

import numpy as np
import skimage.data

from srviewer.cli import main
from srviewer.core.conventions import downscale
from srviewer.train.events import read_events
from srviewer.train.sr_data import SAMPLE_PHOTOS, load_sample_pairs, load_training_data


def test_sample_pairs_are_the_bundled_photos_mod_cropped_with_their_lr():
    pairs = load_training_data(["sample"], scale=4, kernel="matlab", min_size=96)
    assert len(pairs.hr) == len(SAMPLE_PHOTOS) and "chelsea" not in SAMPLE_PHOTOS   # the window's photo is held out
    astronaut = skimage.data.astronaut()
    assert np.array_equal(pairs.hr[0], astronaut)                                     # 512x512: nothing cropped
    for hr, lr in zip(pairs.hr, pairs.lr):
        assert hr.dtype == lr.dtype == np.uint8 and hr.shape[2] == 3
        assert hr.shape[0] % 4 == 0 and hr.shape[1] % 4 == 0
        assert lr.shape == (hr.shape[0] // 4, hr.shape[1] // 4, 3)
    assert np.array_equal(pairs.lr[1], downscale(pairs.hr[1], 4, "matlab"))
    assert load_sample_pairs(kernel="opencv").kernel == "opencv"


def test_training_on_the_sample_source_needs_no_folder_and_lowers_the_loss(tmp_path):
    run = tmp_path / "run"
    code = main(["train", "srcnn", "--data", "sample", "--val", "none", "--steps", "40", "--batch", "4",
                 "--patch", "24", "--n1", "8", "--n2", "4", "--xla", "off", "--log-every", "1", "--lr", "0.003",
                 "--checkpoint-every", "40", "--out", str(run)])
    assert code == 0
    losses = [e["loss"] for e in read_events(run) if e["event"] == "train"]
    assert len(losses) == 40 and np.mean(losses[-5:]) < 0.5 * np.mean(losses[:5])
    assert (run / "latest.weights.h5").exists()
