"""`--data tfds:div2k/bicubic_x4` through the tf.data pipeline: aligned random crops of the set's own
MATLAB-bicubic LR and HR, on the fly. The set itself is mocked (tfds.testing.mock_data): no download."""

import numpy as np
import pytest

from srviewer.core.conventions import downscale
from srviewer.train import net_probe, sr_tfds

tfds = pytest.importorskip("tensorflow_datasets", reason="the optional `datasets` extra")


def _dihedral(a):
    """The 8 flips/rotations of a patch, each with the function that applies the same to another."""
    for flip in (False, True):
        for k in range(4):
            yield (lambda x, k=k, flip=flip: np.rot90(x[:, ::-1] if flip else x, k)), np.rot90(a[:, ::-1] if flip else a, k)


def test_div2k_batches_are_aligned_random_crops_of_its_lr_and_hr(monkeypatch):
    import tensorflow as tf

    rng = np.random.default_rng(0)
    hrs = [rng.integers(0, 256, (48 + 8 * i, 64, 3), dtype=np.uint8) for i in range(3)]
    lrs = [downscale(h, 4, "matlab") for h in hrs]

    def as_dataset(*_args, **_kwargs):
        return tf.data.Dataset.from_generator(lambda: ({"lr": lr, "hr": hr} for lr, hr in zip(lrs, hrs)),
                                              output_signature={"lr": tf.TensorSpec((None, None, 3), tf.uint8),
                                                                "hr": tf.TensorSpec((None, None, 3), tf.uint8)})

    monkeypatch.setattr(net_probe, "host_reachable", lambda *a, **k: True)
    with tfds.testing.mock_data(num_examples=3, as_dataset_fn=as_dataset):
        ds, _images = sr_tfds.patch_dataset("div2k/bicubic_x4", 4, 16, 6, seed=0, start=0)
        batches = [next(it) for it in [iter(ds)] for _ in range(3)]
    seen = set()
    for lr_b, hr_b in batches:
        lr_b, hr_b = lr_b.numpy(), hr_b.numpy()
        assert lr_b.shape == (6, 4, 4, 3) and hr_b.shape == (6, 16, 16, 3) and lr_b.dtype == np.float32
        for lr_p, hr_p in zip(np.rint(lr_b * 255).astype(np.uint8), np.rint(hr_b * 255).astype(np.uint8)):
            found = None
            for i, hr in enumerate(hrs):       # where this HR patch comes from (undoing its flip/rotation)
                for undo, candidate in _dihedral(hr_p):
                    hits = [(y, x) for y in range(0, hr.shape[0] - 15, 4) for x in range(0, hr.shape[1] - 15, 4)
                            if np.array_equal(hr[y:y + 16, x:x + 16], candidate)]
                    if hits:
                        found = (i, hits[0], undo)
                        break
                if found:
                    break
            assert found, "an HR patch that is no aligned crop of any HR image"
            i, (y, x), undo = found
            np.testing.assert_array_equal(undo(lr_p), lrs[i][y // 4:y // 4 + 4, x // 4:x // 4 + 4])
            seen.add((i, y, x))
    assert len(seen) > 6                                   # random crops, not one place again and again


def test_only_div2ks_own_bicubic_lr_goes_through_the_pipeline():
    assert sr_tfds.matches(["tfds:div2k/bicubic_x4"], 4, "matlab", None) == "div2k/bicubic_x4"
    assert sr_tfds.matches(["tfds:div2k/bicubic_x4"], 4, "opencv", None) is None      # another kernel: degrade HR
    assert sr_tfds.matches(["tfds:div2k/bicubic_x4"], 4, "matlab", object()) is None  # a degradation
    assert sr_tfds.matches(["tfds:div2k/unknown_x4"], 4, "matlab", None) is None
    assert sr_tfds.matches(["/data/folder"], 4, "matlab", None) is None
