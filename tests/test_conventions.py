"""MATLAB imresize reproduction and the paper's bicubic figure on Set5."""

import numpy as np
import pytest
from PIL import Image

from conftest import SET5, needs_set5
from srviewer.core import conventions, metrics


def _set5_pairs():
    for hr_path in sorted((SET5 / "HR").glob("*.png")):
        lr_path = SET5 / "LR_bicubic" / "X4" / f"{hr_path.stem}x4.png"
        yield np.array(Image.open(hr_path).convert("RGB")), np.array(Image.open(lr_path).convert("RGB"))


@needs_set5
def test_matlab_downscale_reproduces_the_set5_lr_files_exactly():
    for hr, lr in _set5_pairs():
        assert np.array_equal(conventions.downscale(hr, 4, "matlab"), lr)


@needs_set5
def test_set5_bicubic_matches_the_published_figure():
    psnrs, ssims = [], []
    for hr, _ in _set5_pairs():
        hr = conventions.mod_crop(hr, 4)
        sr = conventions.upscale_bicubic(conventions.downscale(hr, 4), 4)
        s = metrics.score(sr, hr, border=4)
        psnrs.append(s["psnr_y"])
        ssims.append(s["ssim_y"])
    assert np.mean(psnrs) == pytest.approx(28.42, abs=0.03)
    assert np.mean(ssims) == pytest.approx(0.810, abs=0.003)


@pytest.mark.parametrize("dtype", [np.uint8, np.uint16, np.float32])
@pytest.mark.parametrize("kernel", conventions.KERNELS)
def test_resizing_keeps_dtype_and_sizes(dtype, kernel, smooth_rgb):
    img = smooth_rgb[:47, :63].astype(dtype)  # not a multiple of 4: mod-cropped to 44x60
    if dtype == np.float32:
        img = img / 255.0
    lr = conventions.downscale(img, 4, kernel)
    assert lr.dtype == dtype and lr.shape == (11, 15, 3)
    up = conventions.upscale_bicubic(lr, 4, kernel)
    assert up.dtype == dtype and up.shape == (44, 60, 3)


def test_matlab_kernel_preserves_constants_and_differs_from_opencv(smooth_rgb):
    flat = np.full((32, 32, 3), 77, np.uint8)
    assert np.all(conventions.imresize(flat, 0.25) == 77)
    assert np.all(conventions.imresize(flat, 4.0) == 77)
    a = conventions.downscale(smooth_rgb, 4, "matlab").astype(int)
    b = conventions.downscale(smooth_rgb, 4, "opencv").astype(int)
    assert np.abs(a - b).max() > 0  # antialiasing vs none


def test_rgb_to_y_matches_bt601_extremes():
    img = np.array([[[0, 0, 0], [255, 255, 255], [255, 0, 0]]], np.uint8)
    y = conventions.rgb_to_y(img)
    assert y[0, 0] == pytest.approx(16.0)
    assert y[0, 1] == pytest.approx(235.0)
    assert y[0, 2] == pytest.approx(16 + 65.481)


def test_unknown_kernel_is_refused(smooth_rgb):
    with pytest.raises(ValueError, match="kernel"):
        conventions.downscale(smooth_rgb, 4, "lanczos")
