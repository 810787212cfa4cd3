"""The VGG-free adversarial recipes (train/gan_losses.py): their maths by hand, and short runs."""

import math

import numpy as np
import pytest
import tensorflow as tf

from srviewer.cli import main
from srviewer.train import gan_losses
from srviewer.train.events import read_events
from gan_data import GAN
from gan_data import gan_start as make_gan_start


def _sp(x):          # softplus: -log sigmoid(-x) = -log(1 - sigmoid(x))
    return math.log1p(math.exp(x))


def test_standard_gan_losses_from_logits_by_hand():
    g, d = gan_losses.bce_losses(tf.constant([[1.0], [3.0]]), tf.constant([[0.0], [2.0]]))
    # -log sigmoid(x) = softplus(-x); -log(1 - sigmoid(x)) = softplus(x)
    assert float(g) == pytest.approx((_sp(-0.0) + _sp(-2.0)) / 2, rel=1e-6)
    assert float(d) == pytest.approx((_sp(-1.0) + _sp(-3.0)) / 2 + (_sp(0.0) + _sp(2.0)) / 2, rel=1e-6)


def test_relativistic_average_losses_by_hand():
    real, fake = tf.constant([[1.0], [3.0]]), tf.constant([[0.0], [2.0]])
    g, d = gan_losses.ragan_losses(real, fake)
    # mean C(real) = 2, mean C(fake) = 1: real relative to fake [0, 2], fake relative to real [-2, 0]
    d_hand = (_sp(-0.0) + _sp(-2.0)) / 2 + (_sp(-2.0) + _sp(0.0)) / 2
    g_hand = (_sp(0.0) + _sp(2.0)) / 2 + (_sp(2.0) + _sp(-0.0)) / 2
    assert float(d) == pytest.approx(d_hand, rel=1e-6) and float(g) == pytest.approx(g_hand, rel=1e-6)


def test_feature_matching_by_hand_and_only_the_fake_side_gets_a_gradient():
    sr = [tf.Variable([[1.0, 2.0]]), tf.Variable([[0.0, 0.0, 3.0]])]
    hr = [tf.Variable([[2.0, 2.0]]), tf.Variable([[1.0, 1.0, 1.0]])]
    with tf.GradientTape(persistent=True) as tape:
        loss = gan_losses.feature_matching(sr, hr)
    assert float(loss) == pytest.approx(((1 + 0) / 2 + (1 + 1 + 2) / 3) / 2)
    assert tape.gradient(loss, hr[0]) is None
    np.testing.assert_allclose(tape.gradient(loss, sr[0]).numpy(), [[-0.25, 0.0]])   # sign(1-2)/2/2


def test_gram_matrix_by_hand():
    f = tf.constant([[[[1.0, 2.0], [3.0, 4.0]]]])          # N=1, H=1, W=2, C=2: F = [[1, 2], [3, 4]]
    # F^T F = [[1+9, 2+12], [2+12, 4+16]] over H W C = 4
    np.testing.assert_allclose(gan_losses.gram(f).numpy()[0], [[2.5, 3.5], [3.5, 5.0]])


def test_texture_loss_is_fixed_blind_to_position_and_sees_texture():
    filters = gan_losses.texture_filters()
    assert [w.shape for w in filters] == [(k, k, 3, 16) for k in gan_losses.TEXTURE_KERNELS]
    assert all(np.array_equal(a, b) for a, b in zip(filters, gan_losses.texture_filters()))   # same each run
    rng = np.random.default_rng(0)
    stripes = np.tile(((np.arange(64) // 2) % 2).astype(np.float32), (64, 1))
    img = np.stack([stripes] * 3, -1)[None]
    shifted = np.roll(img, 2, axis=2)                      # the same texture, moved
    flat = np.full_like(img, 0.5) + rng.normal(0, 0.01, img.shape).astype(np.float32)
    loss = gan_losses.TextureLoss()
    moved, lost = float(loss(tf.constant(shifted), tf.constant(img))), float(loss(tf.constant(flat), tf.constant(img)))
    assert moved < 0.05 * lost and lost > 0


def test_spectral_norm_discriminator_keeps_each_kernel_at_unit_spectral_norm():
    disc = gan_losses.sn_discriminator(hr_size=16, num_filters=4)
    x = tf.random.uniform((2, 16, 16, 3), seed=1)
    for _ in range(30):                                    # power iterations run in training calls
        disc(x, training=True)
    for name in ("d_conv3", "d_dense", "d_logit"):
        kernel = disc.get_layer(name).layer.kernel.numpy()
        top = np.linalg.svd(kernel.reshape(-1, kernel.shape[-1]), compute_uv=False)[0]
        assert top == pytest.approx(1.0, abs=0.05), name
    heads = gan_losses.DiscriminatorHeads(disc)
    feats, logit = heads(x)
    assert len(feats) == 9 and logit.shape == (2, 1)


def test_heads_of_the_papers_discriminator_give_its_logit():
    from srviewer.core import models

    disc = models.discriminator(hr_size=16, num_filters=4)
    x = tf.random.uniform((2, 16, 16, 3), seed=2)
    _, logit = gan_losses.DiscriminatorHeads(disc)(x, training=False)
    np.testing.assert_allclose(tf.sigmoid(logit).numpy(), disc(x, training=False).numpy(), rtol=1e-5)


@pytest.fixture(scope="module")
def gan_start(tmp_path_factory):
    return make_gan_start(tmp_path_factory.mktemp("gan"))


@pytest.mark.parametrize("recipe, term", [
    (["--gan-loss", "ragan"], "adv_loss"),
    (["--feature-matching", "0.01"], "fm_loss"),
    (["--texture-weight", "10"], "texture_loss"),
    (["--spectral-norm", "--gan-loss", "ragan"], "adv_loss"),
])
def test_each_recipe_lowers_the_generator_loss_in_a_few_steps(tmp_path, gan_start, recipe, term):
    train, init = gan_start
    run = tmp_path / "run"
    assert main(["train", "srgan", "--data", str(train), "--init", str(init), "--steps", "20",
                 "--checkpoint-every", "20", "--out", str(run), *GAN, "--lr", "0.0005", *recipe]) == 0
    rows = [e for e in read_events(run) if e["event"] == "train"]
    assert len(rows) == 20 and all(math.isfinite(e[term]) and e[term] > 0 for e in rows)
    first, last = np.mean([e["loss"] for e in rows[:5]]), np.mean([e["loss"] for e in rows[-5:]])
    assert last < first, (first, last)
