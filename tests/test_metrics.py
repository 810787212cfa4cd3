"""PSNR/SSIM against scikit-image, edge cases, and the derived maps."""

import math

import numpy as np
import pytest
from skimage.metrics import peak_signal_noise_ratio, structural_similarity

from srviewer.core import metrics
from srviewer.core.conventions import rgb_to_y


def _noisy_pair(rng, shape=(60, 70, 3)):
    a = rng.integers(0, 256, shape).astype(np.uint8)
    b = np.clip(a + rng.normal(0, 12, shape), 0, 255).astype(np.uint8)
    return a, b


def _sk_ssim(a, b):
    return structural_similarity(a, b, gaussian_weights=True, sigma=1.5, use_sample_covariance=False,
                                 data_range=255, channel_axis=2 if a.ndim == 3 else None)


@pytest.mark.parametrize("shape", [(60, 70, 3), (33, 41), (11, 11)])
def test_psnr_and_ssim_equal_scikit_image(rng, shape):
    a, b = _noisy_pair(rng, shape)
    assert metrics.psnr(a, b, border=0) == pytest.approx(peak_signal_noise_ratio(a, b, data_range=255), abs=1e-9)
    assert metrics.ssim(a, b, border=0) == pytest.approx(_sk_ssim(a, b), abs=1e-4)


def test_y_channel_and_border_follow_the_paper_convention(rng):
    a, b = _noisy_pair(rng)
    ya, yb = rgb_to_y(a)[4:-4, 4:-4], rgb_to_y(b)[4:-4, 4:-4]
    assert metrics.psnr(a, b, border=4, y_channel=True) == pytest.approx(
        peak_signal_noise_ratio(ya, yb, data_range=255))
    assert metrics.ssim(a, b, border=4, y_channel=True) == pytest.approx(
        structural_similarity(ya, yb, gaussian_weights=True, sigma=1.5, use_sample_covariance=False,
                              data_range=255), abs=1e-4)


def test_identical_images_score_inf_and_one(rng):
    a, _ = _noisy_pair(rng)
    s = metrics.score(a, a)
    assert s["psnr_y"] == math.inf and s["psnr_rgb"] == math.inf
    assert s["ssim_y"] == pytest.approx(1.0) and s["ssim_rgb"] == pytest.approx(1.0)


def test_mismatched_shapes_raise(rng):
    a, b = _noisy_pair(rng)
    with pytest.raises(ValueError, match="shape"):
        metrics.psnr(a, b[:-1])


def test_grey_images_are_scored_on_their_grey_values(rng):
    g, h = _noisy_pair(rng, (40, 40))
    grey_a, grey_b = np.repeat(g[..., None], 3, 2), np.repeat(h[..., None], 3, 2)
    s = metrics.score(grey_a, grey_b, border=4, is_grey=True)
    assert s["psnr_y"] == pytest.approx(peak_signal_noise_ratio(g[4:-4, 4:-4], h[4:-4, 4:-4], data_range=255))


def test_region_scores_the_crop_only(rng):
    a, b = _noisy_pair(rng)
    b[:30] = a[:30]  # the top half is perfect
    top = metrics.score_region(b, a, (0, 0, 70, 30))
    assert top["psnr_rgb"] == math.inf
    assert math.isnan(metrics.score_region(b, a, (0, 40, 5, 5))["ssim_y"])  # below the 11x11 window
    with pytest.raises(ValueError):
        metrics.score_region(b, a, (500, 500, 10, 10))


def test_maps_have_image_size_and_sensible_values(rng):
    a, b = _noisy_pair(rng)
    err = metrics.error_map(b, a)
    assert err.shape == a.shape[:2] and err.dtype == np.float32
    assert err.mean() == pytest.approx(np.abs(a.astype(float) - b).mean(), rel=1e-5)
    smap = metrics.ssim_map(a, a)
    assert smap.shape == a.shape[:2] and np.allclose(smap, 1.0)


def test_sharpness_ratio_is_below_one_for_blur_and_one_for_identity(rng):
    import cv2

    a, _ = _noisy_pair(rng, (64, 64, 3))
    blurred = cv2.GaussianBlur(a, (5, 5), 1.5)
    assert metrics.sharpness_ratio(a, a) == pytest.approx(1.0)
    assert metrics.sharpness_ratio(blurred, a) < 0.5


def test_psnr_ssim_and_score_shave_one_default_border(rng):
    a, b = _noisy_pair(rng)
    shaved = a[4:-4, 4:-4], b[4:-4, 4:-4]
    assert metrics.psnr(a, b) == pytest.approx(peak_signal_noise_ratio(*shaved, data_range=255), abs=1e-9)
    assert metrics.ssim(a, b) == pytest.approx(_sk_ssim(*shaved), abs=1e-4)
    s = metrics.score(a, b)
    assert s["psnr_rgb"] == metrics.psnr(a, b) and s["ssim_rgb"] == metrics.ssim(a, b)


@pytest.mark.parametrize("is_grey", [False, True])
def test_region_scores_equal_scikit_image_on_the_cropped_arrays(rng, is_grey):
    a, b = _noisy_pair(rng, (60, 70, 3))
    if is_grey:
        a, b = np.repeat(a[..., :1], 3, 2), np.repeat(b[..., :1], 3, 2)
    rect = (-5, 12, 40, 33)  # clipped on the left: columns 0..34, rows 12..44
    ca, cb = a[12:45, 0:35], b[12:45, 0:35]
    ya, yb = (ca[..., 0].astype(np.float64), cb[..., 0].astype(np.float64)) if is_grey else (rgb_to_y(ca), rgb_to_y(cb))
    full = metrics.score_region(a, b, rect, is_grey=is_grey)
    assert full["psnr_y"] == pytest.approx(peak_signal_noise_ratio(yb, ya, data_range=255), abs=1e-9)
    assert full["ssim_y"] == pytest.approx(_sk_ssim(ya, yb), abs=1e-4)
    assert full["psnr_rgb"] == pytest.approx(peak_signal_noise_ratio(cb, ca, data_range=255), abs=1e-9)
    assert full["ssim_rgb"] == pytest.approx(_sk_ssim(ca, cb), abs=1e-4)
    y_only = metrics.score_region(a, b, rect, is_grey=is_grey, y_only=True)
    assert y_only == {"psnr_y": full["psnr_y"], "ssim_y": full["ssim_y"]}


def test_ssim_map_equals_scikit_image_full_map(rng):
    a, b = _noisy_pair(rng, (40, 50, 3))
    _, ref = structural_similarity(rgb_to_y(a), rgb_to_y(b), gaussian_weights=True, sigma=1.5,
                                   use_sample_covariance=False, data_range=255, full=True)
    ours = metrics.ssim_map(a, b)
    # scikit-image pads with 'reflect' (scipy); only the interior, where no padding enters, must agree
    assert ours.shape == ref.shape
    assert np.allclose(ours[5:-5, 5:-5], ref[5:-5, 5:-5], atol=1e-4)
    assert float(ours[5:-5, 5:-5].mean()) == pytest.approx(metrics.ssim(a, b, border=0, y_channel=True), abs=1e-5)
