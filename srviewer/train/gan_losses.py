"""Adversarial recipes for SRGAN that need no ImageNet VGG19 (`--content-loss vgg54` stays the
default where it can be downloaded). Each is a setting of `srviewer train srgan`:

- `--gan-loss bce` (default): the SRGAN paper's standard GAN, D(x) = sigmoid(C(x)) with C the
  discriminator's logit; generator term -log D(G(z)) (Ledig et al. 2017, eq. 6).
- `--gan-loss ragan`: the relativistic average discriminator of ESRGAN (Wang et al. 2018, eq. 1-3,
  after Jolicoeur-Martineau 2018): D_Ra(a, b) = sigmoid(C(a) - mean C(b));
  L_D = -mean log D_Ra(real, fake) - mean log(1 - D_Ra(fake, real)),
  L_G = -mean log(1 - D_Ra(real, fake)) - mean log D_Ra(fake, real): the generator also pulls the
  real images' scores down, so it gets a gradient from both.
- `--feature-matching W`: W x mean over the discriminator's nine LeakyReLU outputs of the mean
  |D_l(SR) - D_l(HR)| per pair (the per-sample L1 feature matching of pix2pixHD, Wang et al. 2018,
  eq. 4; Salimans et al. 2016 matched batch means). The discriminator learns what separates real
  from fake, so its features are a learned, data-specific replacement for VGG's.
- `--texture-weight W`: W x mean squared difference of Gram matrices (Gatys et al. 2015) of a
  fixed random one-layer multi-scale convolution + ReLU (kernel sizes 3, 5, 7, 11; 16 filters
  each; zero-mean Gaussian filters from a fixed seed, nothing to download or store). Ustyuzhaninov
  et al. 2017 ("What does it take to generate natural textures?", ICLR) showed that Gram matrices
  of such a single random multi-scale layer already synthesise natural textures comparable to
  VGG's; He, Wang & Hopcroft 2016 (NeurIPS) used random-weight deep networks likewise. A Gram
  matrix compares texture statistics, not positions, so it asks for the truth's kind of texture
  without pixel alignment (EnhanceNet, Sajjadi et al. 2017, used it with VGG for x4 SR).
- `--spectral-norm`: the discriminator's convolutions and dense layers under spectral
  normalisation (Miyato et al. 2018; keras.layers.SpectralNormalization, one power iteration per
  step), without batch norm, as SN-GAN's discriminators are.

Data: float32 NHWC RGB in [0, 1].
"""

from __future__ import annotations

import numpy as np

GAN_LOSSES = ("bce", "ragan")
TEXTURE_KERNELS = (3, 5, 7, 11)
TEXTURE_FILTERS = 16
TEXTURE_SEED = 1234
_PLAN = [(1, 2), (2, 1), (2, 2), (4, 1), (4, 2), (8, 1), (8, 2)]   # the SRGAN paper's (filters x, stride)


# -- the maths, on tensors -------------------------------------------------------------------
def bce_losses(real_logit, fake_logit):
    """(generator term, discriminator loss) of the standard GAN from logits."""
    import tensorflow as tf

    ce = tf.nn.sigmoid_cross_entropy_with_logits
    g = tf.reduce_mean(ce(labels=tf.ones_like(fake_logit), logits=fake_logit))
    d = (tf.reduce_mean(ce(labels=tf.ones_like(real_logit), logits=real_logit))
         + tf.reduce_mean(ce(labels=tf.zeros_like(fake_logit), logits=fake_logit)))
    return g, d


def ragan_losses(real_logit, fake_logit):
    """(generator term, discriminator loss) of the relativistic average GAN (ESRGAN eq. 2-3)."""
    import tensorflow as tf

    ce = tf.nn.sigmoid_cross_entropy_with_logits
    real_rel = real_logit - tf.reduce_mean(fake_logit)
    fake_rel = fake_logit - tf.reduce_mean(real_logit)
    d = (tf.reduce_mean(ce(labels=tf.ones_like(real_rel), logits=real_rel))
         + tf.reduce_mean(ce(labels=tf.zeros_like(fake_rel), logits=fake_rel)))
    g = (tf.reduce_mean(ce(labels=tf.zeros_like(real_rel), logits=real_rel))
         + tf.reduce_mean(ce(labels=tf.ones_like(fake_rel), logits=fake_rel)))
    return g, d


def feature_matching(sr_feats, hr_feats):
    """Mean over layers of mean |f(SR) - f(HR)|; the real side is a target (no gradient)."""
    import tensorflow as tf

    terms = [tf.reduce_mean(tf.abs(a - tf.stop_gradient(b))) for a, b in zip(sr_feats, hr_feats)]
    return tf.add_n(terms) / len(terms)


def gram(features):
    """(N, H, W, C) -> (N, C, C): F^T F / (H W C) with F the (H W, C) matrix of each image."""
    import tensorflow as tf

    shape = tf.shape(features)
    flat = tf.reshape(features, [shape[0], shape[1] * shape[2], shape[3]])
    size = tf.cast(shape[1] * shape[2] * shape[3], features.dtype)
    return tf.matmul(flat, flat, transpose_a=True) / size


def texture_filters(kernels=TEXTURE_KERNELS, filters=TEXTURE_FILTERS, seed=TEXTURE_SEED) -> list[np.ndarray]:
    """The fixed random filters: per size k, (k, k, 3, filters) zero-mean Gaussian, std 1/sqrt(3 k k)."""
    rng = np.random.default_rng(seed)
    out = []
    for k in kernels:
        w = rng.normal(0.0, 1.0 / np.sqrt(3 * k * k), (k, k, 3, filters)).astype(np.float32)
        out.append(w - w.mean(axis=(0, 1, 2), keepdims=True))   # zero mean: blind to flat colour
    return out


class TextureLoss:
    """Gram-matrix distance on the fixed random multi-scale layer (see the module docstring)."""

    def __init__(self):
        import tensorflow as tf

        self.filters = [tf.constant(w) for w in texture_filters()]

    def features(self, images):
        import tensorflow as tf

        x = images - 0.5
        return [tf.nn.relu(tf.nn.conv2d(x, w, 1, "SAME")) for w in self.filters]

    def __call__(self, sr, hr):
        import tensorflow as tf

        terms = [tf.reduce_mean(tf.square(gram(a) - tf.stop_gradient(gram(b))))
                 for a, b in zip(self.features(sr), self.features(hr))]
        return tf.add_n(terms) / len(terms)


# -- the discriminator and its heads ---------------------------------------------------------
def sn_discriminator(hr_size: int = 96, num_filters: int = 64):
    """The SRGAN discriminator's plan with spectral normalisation on every convolution and dense
    layer and no batch norm; out: the logit (N, 1). In: HR (N, hr_size, hr_size, 3) RGB [0, 1]."""
    import keras
    from keras import layers

    sn = layers.SpectralNormalization
    inp = keras.Input((hr_size, hr_size, 3), name="hr")
    x = layers.Rescaling(2.0, offset=-1.0, name="to_pm1")(inp)
    x = sn(layers.Conv2D(num_filters, 3, padding="same"), name="d_conv0")(x)
    x = layers.LeakyReLU(0.2, name="d_lrelu0")(x)
    for i, (mult, stride) in enumerate(_PLAN, start=1):
        x = sn(layers.Conv2D(num_filters * mult, 3, strides=stride, padding="same"), name=f"d_conv{i}")(x)
        x = layers.LeakyReLU(0.2, name=f"d_lrelu{i}")(x)
    x = layers.Flatten(name="d_flatten")(x)
    x = sn(layers.Dense(1024), name="d_dense")(x)
    x = layers.LeakyReLU(0.2, name="d_lrelu_dense")(x)
    out = sn(layers.Dense(1), name="d_logit")(x)
    return keras.Model(inp, out, name="sn_discriminator")


def build_discriminator(cfg):
    """The run's discriminator: the paper's (core/models.py) or the spectrally normalised one."""
    from srviewer.core import models

    if getattr(cfg, "spectral_norm", False):
        return sn_discriminator(hr_size=cfg.patch)
    return models.discriminator(hr_size=cfg.patch)


class DiscriminatorHeads:
    """Calls the discriminator once and returns (features of its LeakyReLU layers, logit).

    The paper's discriminator ends in Dense(1, sigmoid); its logit is that layer's kernel and bias
    applied to the layer's input (the probability saturates in float32 where the logit does not)."""

    def __init__(self, discriminator):
        import keras

        self.disc = discriminator
        names = [layer.name for layer in discriminator.layers if layer.name.startswith("d_lrelu")]
        outputs = [discriminator.get_layer(n).output for n in names]
        self.sn = discriminator.layers[-1].name == "d_logit"
        if self.sn:
            outputs.append(discriminator.output)
            self.prob = None
        else:
            self.prob = discriminator.get_layer("d_prob")
        self.model = keras.Model(discriminator.input, outputs, name="discriminator_heads")
        self.n_features = len(names)

    def __call__(self, images, training=True):
        outs = self.model(images, training=training)
        feats = list(outs[: self.n_features])
        if self.sn:
            return feats, outs[-1]
        import tensorflow as tf

        return feats, tf.matmul(tf.cast(feats[-1], tf.float32), tf.cast(self.prob.kernel, tf.float32)) + tf.cast(
            self.prob.bias, tf.float32)


class GanObjective:
    """The generator's adversarial-side terms and the discriminator's loss for one batch."""

    def __init__(self, cfg, discriminator):
        self.cfg = cfg
        self.heads = DiscriminatorHeads(discriminator)
        self.texture = TextureLoss() if cfg.texture_weight else None
        self.pair = ragan_losses if cfg.gan_loss == "ragan" else bce_losses

    def __call__(self, sr, hr):
        """(generator loss without the content term, discriminator loss, logs)."""
        import tensorflow as tf

        real_feats, real = self.heads(hr, training=True)
        fake_feats, fake = self.heads(sr, training=True)
        real, fake = tf.cast(real, tf.float32), tf.cast(fake, tf.float32)      # mixed precision: losses in float32
        real_feats = [tf.cast(f, tf.float32) for f in real_feats]
        fake_feats = [tf.cast(f, tf.float32) for f in fake_feats]
        adv, d_loss = self.pair(real, fake)
        g_loss = self.cfg.adv_weight * adv
        logs = {"adv_loss": adv, "d_loss": d_loss, "d_real": tf.reduce_mean(tf.sigmoid(real)),
                "d_fake": tf.reduce_mean(tf.sigmoid(fake))}
        if self.cfg.feature_matching:
            fm = feature_matching(fake_feats, real_feats)
            g_loss += self.cfg.feature_matching * fm
            logs["fm_loss"] = fm
        if self.texture is not None:
            tex = self.texture(tf.cast(sr, tf.float32), tf.cast(hr, tf.float32))
            g_loss += self.cfg.texture_weight * tex
            logs["texture_loss"] = tex
        return g_loss, d_loss, logs
