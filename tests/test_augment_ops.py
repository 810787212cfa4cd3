"""CutMix / MixUp label maths exactly, flip + brightness ranges, the preview helper (numpy only)."""

import numpy as np
import pytest

from srviewer.train import augment_ops as ops
from srviewer.train.augment_preview import preview_batch


def _batch(rng, n=4, h=20, w=30, classes=5):
    images = rng.random((n, h, w, 3), dtype=np.float32)
    labels = ops.one_hot(np.arange(n) % classes, classes)
    return images, labels


def test_cutmix_with_known_box_pastes_partner_and_mixes_labels_by_area(rng):
    images, labels = _batch(rng)
    images_before, labels_before = images.copy(), labels.copy()
    partner = [1, 2, 3, 0]
    box = ops.Box(y1=5, y2=15, x1=10, x2=22)  # 10 x 12 = 120 of 600 pixels
    out, mixed, lam = ops.cutmix_with(images, labels, partner, box)
    assert lam == pytest.approx(1 - 120 / 600)
    for i, j in enumerate(partner):
        np.testing.assert_array_equal(out[i, 5:15, 10:22], images[j, 5:15, 10:22])
        inside = np.zeros((20, 30), bool)
        inside[5:15, 10:22] = True
        np.testing.assert_array_equal(out[i][~inside], images[i][~inside])
        expected = np.zeros(5, np.float32)
        expected[i % 5] += 0.8
        expected[j % 5] += 0.2
        np.testing.assert_allclose(mixed[i], expected, atol=1e-7)
    np.testing.assert_allclose(mixed.sum(axis=1), 1.0, atol=1e-6)
    assert not np.shares_memory(out, images)
    np.testing.assert_array_equal(images, images_before)  # the input batch is left untouched
    np.testing.assert_array_equal(labels, labels_before)


def test_cutmix_box_is_clipped_at_the_border_and_lambda_follows_the_clipped_area():
    # lam = 0.75 -> sides half of H and W; centred on the corner, only a quarter of it remains
    box = ops.cutmix_box(40, 40, 0.75, cy=0, cx=0)
    assert box == ops.Box(0, 10, 0, 10)
    images = np.zeros((2, 40, 40, 3), np.float32)
    images[1] = 1.0
    labels = ops.one_hot([0, 1], 2)
    out, mixed, lam = ops.cutmix_with(images, labels, [1, 0], box)
    assert lam == pytest.approx(1 - 100 / 1600)  # not the sampled 0.75
    assert out[0].mean() == pytest.approx(100 / 1600)
    np.testing.assert_allclose(mixed[0], [lam, 1 - lam], atol=1e-7)


@pytest.mark.parametrize("seed", range(8))
def test_random_cutmix_lambda_equals_the_kept_area_fraction(seed):
    rng = np.random.default_rng(seed)
    n, h, w = 6, 24, 32
    images = np.stack([np.full((h, w, 3), i / 10, np.float32) for i in range(n)])  # image i is all i/10
    labels = ops.one_hot(np.arange(n), n)
    out, mixed, info = ops.cutmix(images, labels, rng, alpha=1.0)
    y1, y2, x1, x2 = info["box"]
    assert 0 <= y1 <= y2 <= h and 0 <= x1 <= x2 <= w
    own_fraction = np.array([(out[i] == images[i]).all(axis=-1).mean() for i in range(n)])
    moved = [i for i in range(n) if info["partner"][i] != i]
    np.testing.assert_allclose(own_fraction[moved], info["lambda"], atol=1e-9)
    assert info["lambda"] == pytest.approx(1 - (y2 - y1) * (x2 - x1) / (h * w))
    np.testing.assert_allclose(mixed.sum(axis=1), 1.0, atol=1e-6)
    for i in moved:
        assert mixed[i, i] == pytest.approx(info["lambda"])
        assert mixed[i, info["partner"][i]] == pytest.approx(1 - info["lambda"])


def test_mixup_is_the_convex_mix_of_images_and_labels(rng):
    images, labels = _batch(rng)
    out, mixed = ops.mixup_with(images, labels, [3, 2, 1, 0], 0.3)
    np.testing.assert_allclose(out[0], 0.3 * images[0] + 0.7 * images[3], atol=1e-6)
    np.testing.assert_allclose(mixed[0, 0], 0.3, atol=1e-7)
    np.testing.assert_allclose(mixed[0, 3], 0.7, atol=1e-7)
    out, mixed, info = ops.mixup(images, labels, np.random.default_rng(5), alpha=0.2)
    lam, partner = info["lambda"], info["partner"]
    assert 0.0 <= lam <= 1.0
    np.testing.assert_allclose(out, lam * images + (1 - lam) * images[partner], atol=1e-6)
    np.testing.assert_allclose(mixed, lam * labels + (1 - lam) * labels[partner], atol=1e-6)
    np.testing.assert_allclose(mixed.sum(axis=1), 1.0, atol=1e-6)


def test_mixup_lambda_follows_its_beta_distribution():
    rng = np.random.default_rng(0)
    images, labels = _batch(rng, n=2)
    lams = np.array([ops.mixup(images, labels, rng, alpha=0.2)[2]["lambda"] for _ in range(2000)])
    # Beta(0.2, 0.2): mean 1/2, variance 1/(4 (2 alpha + 1)) = 0.1786, mass near 0 and 1
    assert lams.mean() == pytest.approx(0.5, abs=0.03)
    assert lams.var() == pytest.approx(0.25 / 1.4, abs=0.02)


def test_flip_brightness_ranges_and_exact_result():
    rng = np.random.default_rng(3)
    images = np.random.default_rng(1).uniform(0.3, 0.7, (64, 8, 9, 3)).astype(np.float32)
    labels = ops.one_hot(np.zeros(64, int), 2)
    out, same_labels, info = ops.flip_brightness(images, labels, rng)
    flips, deltas = np.array(info["flipped"]), np.array(info["brightness"])
    assert 10 < flips.sum() < 54  # both outcomes happen
    assert np.all(np.abs(deltas) <= ops.BRIGHTNESS_DELTA) and np.ptp(deltas) > 0.2
    assert out.min() >= 0.0 and out.max() <= 1.0
    np.testing.assert_array_equal(same_labels, labels)
    for i in range(64):  # 0.3..0.7 +- 0.2 never clips, so the result is exact
        source = images[i, :, ::-1] if flips[i] else images[i]
        np.testing.assert_allclose(out[i], source + deltas[i], atol=1e-6)


def test_flip_brightness_clips_to_the_unit_range():
    images = np.ones((2, 4, 4, 3), np.float32)
    out = ops.flip_brightness_with(images, [False, True], [0.2, -0.2])
    assert out[0].max() == 1.0 and out[1].max() == pytest.approx(0.8)


def test_none_is_the_identity_and_names_are_checked(rng):
    images, labels = _batch(rng)
    out, mixed, info = ops.apply_variant("none", images, labels, rng)
    np.testing.assert_array_equal(out, images)
    np.testing.assert_array_equal(mixed, labels)
    with pytest.raises(ValueError, match="unknown variant"):
        ops.apply_variant("rotate", images, labels, rng)
    assert ops.parse_variants("none, cutmix") == ["none", "cutmix"]
    with pytest.raises(ValueError):
        ops.parse_variants("none,blur")
    with pytest.raises(ValueError):
        ops.parse_variants("none,none")


def test_same_batch_seed_gives_the_same_draws():
    images, labels = _batch(np.random.default_rng(0))
    a = ops.apply_variant("cutmix", images, labels, ops.batch_rng(1, 2, 3))
    b = ops.apply_variant("cutmix", images, labels, ops.batch_rng(1, 2, 3))
    c = ops.apply_variant("cutmix", images, labels, ops.batch_rng(1, 2, 4))
    np.testing.assert_array_equal(a[0], b[0])
    assert a[2] == b[2] and a[2] != c[2]


def test_preview_batch_gives_every_variant_and_its_drawing_metadata(tmp_path):
    from PIL import Image

    for c in range(3):
        (tmp_path / f"c{c}").mkdir()
        for i in range(4):
            Image.fromarray(np.full((30, 40, 3), 60 * c + i, np.uint8)).save(tmp_path / f"c{c}" / f"{i}.png")
    preview = preview_batch(tmp_path, n=6, seed=0, size=24)
    assert preview["images"].shape == (6, 24, 24, 3) and preview["classes"] == ["c0", "c1", "c2"]
    variants = preview["variants"]
    assert list(variants) == list(ops.VARIANTS)
    for v in variants.values():
        assert v["images"].shape == (6, 24, 24, 3) and v["images"].dtype == np.float32
        np.testing.assert_allclose(v["labels"].sum(axis=1), 1.0, atol=1e-6)
    y1, y2, x1, x2 = variants["cutmix"]["box"]
    assert variants["cutmix"]["lambda"] == pytest.approx(1 - (y2 - y1) * (x2 - x1) / 24**2)
    assert len(variants["flip_brightness"]["flipped"]) == 6 and 0 <= variants["mixup"]["lambda"] <= 1
    arr = preview_batch((np.random.default_rng(0).random((5, 8, 8, 3)) * 255).astype(np.uint8), n=4)
    assert arr["images"].max() <= 1.0 and arr["variants"]["mixup"]["images"].shape == (4, 8, 8, 3)
