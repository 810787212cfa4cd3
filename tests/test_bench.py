"""The benchmark: Set5 bicubic reproduces the published 28.42 / 0.810; rows, means and LR pairing."""

import numpy as np
import pytest

from conftest import SET5, needs_set5
from srviewer.core.bench import bench, pair_lr_files
from srviewer.core.conventions import downscale, mod_crop, upscale_bicubic
from srviewer.core.images import from_float, to_float, write_image
from srviewer.core.metrics import score, sharpness_ratio
from srviewer.errors import SrviewerError


@needs_set5
@pytest.mark.parametrize("given_lr", [False, True], ids=["own-degradation", "LR_bicubic-files"])
def test_set5_bicubic_matches_the_published_figure(registry, given_lr):
    lr_dir = SET5 / "LR_bicubic" / "X4" if given_lr else None
    rows = bench(SET5 / "HR", ["bicubic"], registry, lr_dir=lr_dir)
    mean = rows[-1]
    assert mean["image"] == "mean" and len(rows) == 6
    assert mean["psnr_y"] == pytest.approx(28.42, abs=0.03)
    assert mean["ssim_y"] == pytest.approx(0.810, abs=0.003)
    assert 0 < mean["sharpness"] < 1  # bicubic is blurrier than the truth


@pytest.fixture
def folder(tmp_path, rng):
    """Three small RGB HR images (one not a multiple of 4) and their MATLAB-kernel LR files."""
    hr_dir, lr_dir = tmp_path / "HR", tmp_path / "LR"
    images = {}
    for i, (h, w) in enumerate([(48, 64), (50, 42), (32, 32)], start=1):
        y, x = np.mgrid[0:h, 0:w]
        img = np.stack([x * 3 + i * 20, y * 4, (x * y) % 256], -1) + rng.normal(0, 6, (h, w, 3))
        img = np.clip(img, 0, 255).astype(np.uint8)
        images[f"img_{i:03d}"] = img
        write_image(hr_dir / f"img_{i:03d}.png", img)
        write_image(lr_dir / f"img_{i:03d}x4.png", downscale(img, 4))
    return hr_dir, lr_dir, images


def test_rows_are_per_image_scores_then_the_mean(registry, folder):
    hr_dir, _, images = folder
    rows = bench(hr_dir, ["bicubic", "bicubic_cv"], registry)
    assert [r["image"] for r in rows] == ["img_001", "img_002", "img_003", "mean"] * 2
    for r in rows:
        if r["image"] == "mean":
            continue
        hr = mod_crop(images[r["image"]], 4)
        kernel = "matlab" if r["method"] == "bicubic" else "opencv"
        # LR by the bench kernel (matlab); the engine upscales the float LR, quantise once to uint8, then score
        sr = from_float(upscale_bicubic(to_float(downscale(hr, 4, "matlab")), 4, kernel), 8)
        assert {k: r[k] for k in ("psnr_y", "ssim_y", "psnr_rgb", "ssim_rgb")} == pytest.approx(score(sr, hr, 4))
        assert r["sharpness"] == pytest.approx(sharpness_ratio(sr, hr))
    bic = [r for r in rows if r["method"] == "bicubic"]
    assert bic[-1]["psnr_y"] == pytest.approx(np.mean([r["psnr_y"] for r in bic[:-1]]))


def test_given_lr_files_equal_own_degradation_with_the_same_kernel(registry, folder):
    hr_dir, lr_dir, _ = folder
    own = bench(hr_dir, ["bicubic"], registry)
    given = bench(hr_dir, ["bicubic"], registry, lr_dir=lr_dir)
    assert [r["psnr_y"] for r in given] == pytest.approx([r["psnr_y"] for r in own])


def test_lr_files_pair_by_name_then_by_sorted_order(tmp_path):
    hr = [tmp_path / n for n in ("a.png", "b.png", "c.png")]
    assert pair_lr_files(hr, [tmp_path / n for n in ("c_x4.png", "ax4.png", "b.png")]) == [
        tmp_path / "ax4.png", tmp_path / "b.png", tmp_path / "c_x4.png"]
    other = [tmp_path / n for n in ("1.png", "2.png", "3.png")]
    assert pair_lr_files(hr, other) == other
    with pytest.raises(SrviewerError):
        pair_lr_files(hr, other[:2])


def test_bad_folders_and_mismatched_lr_sizes_are_user_errors(registry, folder, tmp_path):
    hr_dir, lr_dir, _ = folder
    with pytest.raises(SrviewerError):
        bench(tmp_path / "missing", ["bicubic"], registry)
    (tmp_path / "empty").mkdir()
    with pytest.raises(SrviewerError):
        bench(tmp_path / "empty", ["bicubic"], registry)
    write_image(lr_dir / "img_002x4.png", np.zeros((5, 5, 3), np.uint8))
    with pytest.raises(SrviewerError, match="img_002"):
        bench(hr_dir, ["bicubic"], registry, lr_dir=lr_dir)


@pytest.mark.parametrize("side", [3, 8])
def test_an_image_too_small_to_score_is_named_in_a_user_error(registry, tmp_path, side):
    write_image(tmp_path / "big.png", np.full((32, 32, 3), 128, np.uint8))
    write_image(tmp_path / "tiny.png", np.full((side, 40, 3), 128, np.uint8))
    with pytest.raises(SrviewerError, match=f"tiny.png \\(40x{side}\\) is too small"):
        bench(tmp_path, ["bicubic"], registry)
