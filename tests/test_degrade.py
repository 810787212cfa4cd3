"""The degradation chain, step by step on synthetic images, and as a whole."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import ndimage

from srviewer.core import degrade as dg
from srviewer.core.conventions import downscale
from srviewer.core.metrics import psnr
from srviewer.errors import DegradationError, SrviewerError


def _smooth(h=96, w=128, seed=0) -> np.ndarray:
    """A smooth colour image with some detail: gradients plus low-frequency waves (uint8 RGB)."""
    y, x = np.mgrid[0:h, 0:w].astype(np.float64)
    rgb = np.stack([128 + 90 * np.sin(x / 9.0) * np.cos(y / 13.0),
                    60 + 120 * x / w + 10 * np.sin(y / 5.0),
                    200 - 150 * y / h + 20 * np.cos((x + y) / 7.0)], axis=-1)
    return np.clip(rgb + 0.5, 0, 255).astype(np.uint8)


def _texture(h=96, w=128, seed=0) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, (h, w, 3), dtype=np.uint8)


# -- blur ---------------------------------------------------------------------------------------------
def test_blur_sigma_zero_is_the_identity():
    img = _texture()
    assert np.array_equal(dg.blur(img, 0.0), img)
    assert np.array_equal(dg.degrade(img, dg.parse_chain("blur=0,kernel=nearest")), dg.downscale(img, 4, "nearest"))


@pytest.mark.parametrize("sigma, minor, angle", [(0.5, None, 0), (1.2, None, 0), (3.0, 1.0, 30), (2.0, 0.0, 90)])
def test_blur_kernel_sums_to_one_and_is_symmetric(sigma, minor, angle):
    k = dg.gaussian_kernel(sigma, minor, angle)
    assert k.shape[0] == k.shape[1] and k.shape[0] % 2 == 1
    assert k.sum() == pytest.approx(1.0, abs=1e-12)
    assert np.allclose(k, k[::-1, ::-1])          # point symmetric about its centre
    assert k.min() >= 0


def test_isotropic_blur_matches_scipy_gaussian_filter():
    img = _texture()
    ours = dg.blur(img, 1.5).astype(np.float64)
    ref = ndimage.gaussian_filter(img.astype(np.float64), sigma=(1.5, 1.5, 0), mode="mirror", truncate=3.0)
    assert np.abs(ours - ref).max() <= 0.5 + 1e-9      # equal up to the rounding to uint8


def test_anisotropic_blur_follows_the_angle():
    """A line blur along x smears a vertical edge, and leaves a horizontal edge sharp; at 90 degrees
    the other way round."""
    img = np.zeros((41, 41), np.uint8)
    img[:, 20:] = 255                                  # a vertical edge (varies along x)
    along_x = dg.blur(img, 3.0, 0.0, angle=0)
    along_y = dg.blur(img, 3.0, 0.0, angle=90)
    assert 0 < along_x[20, 18] < 255                   # smeared across the edge
    assert np.array_equal(along_y, img)                # a blur parallel to the edge changes nothing


# -- kernels -----------------------------------------------------------------------------------------
@pytest.mark.parametrize("kernel", dg.KERNELS)
def test_every_kernel_downscales_by_four(kernel):
    img = _smooth(97, 130)
    lr = dg.downscale(img, 4, kernel)
    assert lr.shape == (24, 32, 3) and lr.dtype == np.uint8
    assert abs(float(lr.mean()) - float(img[:96, :128].mean())) < 2.0


def test_nearest_and_area_against_numpy():
    img = _texture(16, 16)
    area = img.astype(np.float64).reshape(4, 4, 4, 4, 3).mean(axis=(1, 3))
    assert np.abs(dg.downscale(img, 4, "area").astype(np.float64) - area).max() <= 0.5 + 1e-9
    nearest = dg.downscale(img, 4, "nearest")
    block = img[:4, :4].reshape(16, 3)
    assert any(np.array_equal(nearest[0, 0], px) for px in block)   # one of its block's pixels, unmixed


def test_kernel_alone_equals_todays_lr_exactly():
    img = _texture(100, 123)
    for kernel in ("matlab", "opencv"):
        assert np.array_equal(dg.degrade(img, dg.parse_chain(f"kernel={kernel}")), downscale(img, 4, kernel))
    wide = (_texture(64, 64).astype(np.uint16) * 257)
    assert np.array_equal(dg.degrade(wide, dg.CLEAN), downscale(wide, 4, "matlab"))


# -- noise -------------------------------------------------------------------------------------------
@pytest.mark.parametrize("sigma", [2.0, 5.0, 15.0])
def test_noise_has_the_asked_sigma(sigma):
    img = np.full((256, 256, 3), 128, np.uint8)
    noisy = dg.add_noise(img, sigma, np.random.default_rng(1)).astype(np.float64) - 128
    assert abs(noisy.mean()) < 0.1
    # 196608 samples: the sample sigma is within ~0.2 % of the true one; rounding adds 1/12 variance
    assert np.sqrt(noisy.var() - 1 / 12) == pytest.approx(sigma, rel=0.01)


def test_grey_noise_is_the_same_on_every_channel_and_rgb_noise_is_not():
    img = np.full((64, 64, 3), 100, np.uint8)
    grey = dg.add_noise(img, 10, np.random.default_rng(0), grey=True)
    assert np.array_equal(grey[..., 0], grey[..., 1]) and np.array_equal(grey[..., 1], grey[..., 2])
    rgb = dg.add_noise(img, 10, np.random.default_rng(0))
    assert not np.array_equal(rgb[..., 0], rgb[..., 1])


def test_sixteen_bit_noise_is_in_255_units():
    img = np.full((128, 128, 3), 30000, np.uint16)
    noisy = dg.add_noise(img, 4.0, np.random.default_rng(2)).astype(np.float64)
    assert np.std(noisy) / 257 == pytest.approx(4.0, rel=0.02)


# -- JPEG --------------------------------------------------------------------------------------------
def test_jpeg_100_is_near_lossless_and_lower_qualities_lose_more():
    img = _smooth(128, 128)
    scores = {q: psnr(dg.jpeg(img, q), img, border=0) for q in (100, 90, 60, 30, 10)}
    assert scores[100] > 40.0
    assert scores[100] > scores[90] > scores[60] > scores[30] > scores[10]
    assert dg.jpeg(img, 60).dtype == np.uint8 and dg.jpeg(img, 60).shape == img.shape


def test_jpeg_keeps_sixteen_bit_dtype():
    img = _smooth(64, 64).astype(np.uint16) * 257
    out = dg.jpeg(img, 95)
    assert out.dtype == np.uint16 and psnr(out / 257.0, img / 257.0, border=0) > 35


# -- the chain ---------------------------------------------------------------------------------------
def test_chain_is_deterministic_for_a_seed_and_differs_across_seeds():
    img = _smooth()
    chain = dg.parse_chain("blur=1.2,kernel=matlab,noise=5,jpeg=60,seed=7")
    first, again = dg.degrade(img, chain), dg.degrade(img, chain)
    assert np.array_equal(first, again)
    other = dg.degrade(img, chain.with_value("seed", 8))
    assert not np.array_equal(first, other)


def test_chain_values_are_pinned_across_machines():
    """The seeded noise stream is PCG64's: the first values for seed 0 are fixed by NumPy's contract."""
    chain = dg.parse_chain("kernel=nearest,noise=10,seed=0")
    lr = dg.degrade(np.full((8, 8, 3), 128, np.uint8), chain)
    expected = np.floor(np.clip(128 + 10 * np.random.default_rng(0).standard_normal((2, 2, 3)), 0, 255) + 0.5)
    assert np.array_equal(lr, expected.astype(np.uint8))
    assert lr[0, 0, 0] == 129   # 128 + 10 * 0.1257...


def test_chain_order_blur_before_downscale_noise_before_jpeg():
    img = _texture(64, 64)
    chain = dg.parse_chain("blur=2,kernel=area,noise=3,jpeg=80,seed=1")
    by_hand = dg.blur(img, 2.0)
    by_hand = dg.downscale(by_hand, 4, "area")
    by_hand = dg.add_noise(by_hand, 3.0, np.random.default_rng(1))
    by_hand = dg.jpeg(by_hand, 80)
    assert np.array_equal(dg.degrade(img, chain), by_hand)


def test_chain_string_round_trips():
    for text in ("kernel=matlab", "blur=1.2,kernel=matlab,noise=5,jpeg=60,seed=0",
                 "blur=3:1,angle=30,kernel=bilinear", "kernel=area,noise=2.5,noise_mode=grey,seed=4"):
        assert str(dg.parse_chain(text)) == text
        assert dg.parse_chain(str(dg.parse_chain(text))) == dg.parse_chain(text)
    assert str(dg.parse_chain("jpeg=60, noise=5 ,blur=1.2")) == "blur=1.2,kernel=matlab,noise=5,jpeg=60,seed=0"
    assert dg.parse_chain("") == dg.CLEAN and dg.parse_chain("kernel=matlab").is_clean
    assert not dg.parse_chain("jpeg=95").is_clean


@pytest.mark.parametrize("text, words", [
    ("blur=-1", "blur"), ("noise=abc", "noise"), ("jpeg=101", "jpeg"), ("jpeg=50.5", "jpeg"),
    ("kernel=lanczos", "kernel"), ("sharpen=2", "sharpen"), ("noise", "KEY=VALUE"), ("seed=x", "seed"),
    ("noise_mode=blue", "noise_mode"), ("noise=nan", "noise"),
])
def test_bad_chain_is_one_clear_line(text, words):
    with pytest.raises(DegradationError) as info:
        dg.parse_chain(text)
    assert isinstance(info.value, SrviewerError)
    assert words in str(info.value) and "\n" not in str(info.value)
