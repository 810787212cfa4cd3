"""Property tests (hypothesis) of the metric, conversion, resize, swipe and tiling functions.

Random shapes (tiny ones included), dtypes and values; each property is what the docstrings
and docs/ARCHITECTURE.md promise. Example counts are kept small so the file runs in seconds.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from srviewer.core import conventions, images, inspection_images, metrics
from srviewer.errors import ImageReadError

FAST = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
SLOW = settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])

DTYPES = st.sampled_from([np.uint8, np.uint16, np.float32, np.float64])


@st.composite
def image_pair(draw, min_side=1, max_side=40, channels=(None, 3)):
    """Two images of one shape, values 0..255 in the drawn dtype (uint16 holds 0..255 too)."""
    h = draw(st.integers(min_side, max_side))
    w = draw(st.integers(min_side, max_side))
    c = draw(st.sampled_from(channels))
    dtype = draw(DTYPES)
    shape = (h, w) if c is None else (h, w, c)
    seed = draw(st.integers(0, 2**31 - 1))
    rng = np.random.default_rng(seed)
    a = rng.uniform(0, 255, shape)
    b = np.clip(a + rng.normal(0, draw(st.sampled_from([0.0, 1.0, 20.0])), shape), 0, 255)
    if np.issubdtype(dtype, np.integer):
        a, b = np.round(a), np.round(b)
    return a.astype(dtype), b.astype(dtype)


# -- metrics ---------------------------------------------------------------------------------
@FAST
@given(image_pair(), st.integers(0, 6))
def test_psnr_is_inf_exactly_for_identical_images_and_matches_its_formula(pair, border):
    a, b = pair
    if 2 * border >= min(a.shape[:2]):
        with pytest.raises(ValueError):
            metrics.psnr(a, b, border=border)
        return
    value = metrics.psnr(a, b, border=border)
    sl = (slice(border, a.shape[0] - border), slice(border, a.shape[1] - border))
    mse = np.mean((a[sl].astype(np.float64) - b[sl].astype(np.float64)) ** 2)
    if mse == 0:
        assert value == math.inf
    else:
        assert math.isfinite(value) and value == pytest.approx(10 * math.log10(255**2 / mse), rel=1e-9)
    assert value == metrics.psnr(b, a, border=border)


@FAST
@given(image_pair(max_side=30))
def test_ssim_is_nan_below_the_window_and_in_range_above_it(pair):
    a, b = pair
    value = metrics.ssim(a, b, border=0)
    if min(a.shape[:2]) < 11:
        assert math.isnan(value)
        return
    assert -1.0 <= value <= 1.0 + 1e-12
    assert value == pytest.approx(metrics.ssim(b, a, border=0), abs=1e-12)
    assert metrics.ssim(a, a, border=0) == pytest.approx(1.0, abs=1e-9)


@SLOW
@given(image_pair(min_side=11, max_side=32))
def test_ssim_and_psnr_equal_scikit_image(pair):
    from skimage.metrics import peak_signal_noise_ratio, structural_similarity

    a, b = (x.astype(np.float64) for x in pair)
    ref = structural_similarity(a, b, gaussian_weights=True, sigma=1.5, use_sample_covariance=False,
                                data_range=255, channel_axis=-1 if a.ndim == 3 else None)
    assert metrics.ssim(a, b, border=0) == pytest.approx(ref, abs=1e-4)
    if not np.array_equal(a, b):
        assert metrics.psnr(a, b, border=0) == pytest.approx(peak_signal_noise_ratio(b, a, data_range=255), abs=1e-4)


@FAST
@given(image_pair(), st.integers(0, 4), st.booleans())
def test_score_gives_the_four_figures_or_a_value_error(pair, border, is_grey):
    a, b = pair
    if 2 * border >= min(a.shape[:2]):
        with pytest.raises(ValueError):
            metrics.score(a, b, border=border, is_grey=is_grey)
        return
    s = metrics.score(a, b, border=border, is_grey=is_grey)
    assert set(s) == {"psnr_y", "ssim_y", "psnr_rgb", "ssim_rgb"}
    small = min(a.shape[:2]) - 2 * border < 11
    for key in ("ssim_y", "ssim_rgb"):
        assert math.isnan(s[key]) == small
    identical = np.array_equal(a, b)
    assert (s["psnr_rgb"] == math.inf) == identical
    assert not math.isnan(s["psnr_y"]) and not math.isnan(s["psnr_rgb"])
    if is_grey and a.ndim == 3:
        assert s["psnr_y"] == metrics.psnr(a[..., 0], b[..., 0], border)


@FAST
@given(image_pair(channels=(3,)), st.tuples(st.integers(-50, 60), st.integers(-50, 60),
                                            st.integers(1, 70), st.integers(1, 70)))
def test_score_region_clips_the_rect_or_says_it_is_outside(pair, rect):
    a, b = pair
    h, w = a.shape[:2]
    x, y, rw, rh = rect
    x0, y0, x1, y1 = max(0, x), max(0, y), min(w, x + rw), min(h, y + rh)
    if x1 <= x0 or y1 <= y0:
        with pytest.raises(ValueError):
            metrics.score_region(a, b, rect)
        return
    s = metrics.score_region(a, b, rect)
    assert s == metrics.score(a[y0:y1, x0:x1], b[y0:y1, x0:x1], border=0) or all(
        (math.isnan(s[k]) and math.isnan(v)) or s[k] == v
        for k, v in metrics.score(a[y0:y1, x0:x1], b[y0:y1, x0:x1], border=0).items())


@FAST
@given(st.integers(1, 20), st.integers(1, 20), st.integers(1, 20), st.integers(1, 20))
def test_mismatched_shapes_are_value_errors(h1, w1, h2, w2):
    assume((h1, w1) != (h2, w2))
    a, b = np.zeros((h1, w1, 3)), np.zeros((h2, w2, 3))
    for fn in (metrics.psnr, metrics.ssim, metrics.score, metrics.error_map, metrics.ssim_map):
        with pytest.raises(ValueError):
            fn(a, b)
    with pytest.raises(ValueError):
        metrics.score_region(a, b, (0, 0, 5, 5))
    with pytest.raises(ValueError):
        inspection_images.swipe(a, b, 0.5)


# -- conventions -----------------------------------------------------------------------------
@st.composite
def any_image(draw, max_side=24):
    h, w = draw(st.integers(1, max_side)), draw(st.integers(1, max_side))
    c = draw(st.sampled_from([None, 1, 3, 4]))
    dtype = draw(DTYPES)
    shape = (h, w) if c is None else (h, w, c)
    rng = np.random.default_rng(draw(st.integers(0, 2**31 - 1)))
    if dtype == np.uint8:
        return rng.integers(0, 256, shape).astype(np.uint8)
    if dtype == np.uint16:
        return rng.integers(0, 65536, shape).astype(np.uint16)
    return rng.random(shape).astype(dtype)


@FAST
@given(any_image(), st.sampled_from([4, 3, 2, 0.5, 0.25, 1.7]))
def test_imresize_shape_and_dtype(img, scale):
    out = conventions.imresize(img, scale)
    assert out.shape[:2] == (math.ceil(img.shape[0] * scale), math.ceil(img.shape[1] * scale))
    assert out.shape[2:] == img.shape[2:] and out.dtype == img.dtype
    assert np.all(np.isfinite(out.astype(np.float64)))


@FAST
@given(any_image(), st.sampled_from(conventions.KERNELS), st.sampled_from([2, 3, 4]))
def test_upscale_and_downscale_shapes_dtypes_and_range(img, kernel, scale):
    up = conventions.upscale_bicubic(img, scale, kernel)
    assert up.shape[:2] == (img.shape[0] * scale, img.shape[1] * scale)
    assert up.shape[2:] == img.shape[2:] and up.dtype == img.dtype
    if img.dtype == np.uint8:
        assert up.min() >= 0 and up.max() <= 255
    if np.issubdtype(img.dtype, np.floating):   # bicubic overshoots a little, never far
        assert up.min() >= -0.5 and up.max() <= 1.5
    if min(img.shape[:2]) < scale:
        with pytest.raises(ValueError):
            conventions.downscale(img, scale, kernel)
        return
    down = conventions.downscale(img, scale, kernel)
    assert down.shape[:2] == (img.shape[0] // scale, img.shape[1] // scale)
    assert down.shape[2:] == img.shape[2:] and down.dtype == img.dtype


@FAST
@given(st.integers(1, 30), st.integers(1, 30), st.sampled_from([None, 3]), DTYPES,
       st.floats(0, 1), st.sampled_from(conventions.KERNELS))
def test_a_constant_image_stays_constant(h, w, c, dtype, level, kernel):
    peak = {np.uint8: 255, np.uint16: 65535}.get(dtype, 1.0)
    value = np.asarray(level * peak).astype(dtype) if np.issubdtype(dtype, np.integer) else dtype(level)
    img = np.full((h, w) if c is None else (h, w, c), value, dtype=dtype)
    tol = 0 if np.issubdtype(dtype, np.integer) else 1e-5
    up = conventions.upscale_bicubic(img, 4, kernel)
    assert np.abs(up.astype(np.float64) - float(value)).max() <= tol
    if min(h, w) >= 4:
        down = conventions.downscale(img, 4, kernel)
        assert np.abs(down.astype(np.float64) - float(value)).max() <= tol


def test_a_thin_image_upscales_without_a_huge_weight_matrix():
    line = np.linspace(0, 1, 100_000, dtype=np.float32)[None, :, None].repeat(3, axis=2)
    up = conventions.upscale_bicubic(line, 4)
    assert up.shape == (4, 400_000, 3)
    small = conventions.upscale_bicubic(line[:, :500], 4)   # the dense path on a piece of it
    assert np.abs(up[:, 8:1900] - small[:, 8:1900]).max() < 1e-5


# -- images ----------------------------------------------------------------------------------
@st.composite
def raw_array(draw):
    h, w = draw(st.integers(0, 12)), draw(st.integers(0, 12))
    c = draw(st.sampled_from([None, 1, 2, 3, 4, 5]))
    dtype = draw(st.sampled_from([np.uint8, np.uint16, np.float32, np.float64, np.int32, np.bool_]))
    shape = (h, w) if c is None else (h, w, c)
    if dtype == np.bool_:
        return draw(arrays(dtype, shape))
    if np.issubdtype(dtype, np.floating):
        return draw(arrays(dtype, shape, elements=st.floats(-2, 3, width=32)
                           | st.sampled_from([math.nan, math.inf, -math.inf])))
    return draw(arrays(dtype, shape))


@FAST
@given(raw_array())
def test_from_array_gives_a_valid_image_or_an_image_read_error(arr):
    ok_shape = arr.ndim == 2 or (arr.ndim == 3 and arr.shape[2] in (1, 2, 3, 4))
    if not ok_shape or 0 in arr.shape:
        with pytest.raises(ImageReadError):
            images.from_array(arr)
        return
    img = images.from_array(arr)
    assert img.rgb.shape == arr.shape[:2] + (3,) and img.rgb.flags.c_contiguous
    assert img.rgb.dtype == (np.uint16 if img.bit_depth == 16 else np.uint8)
    assert img.is_grey == (arr.ndim == 2 or arr.shape[2] in (1, 2))
    assert (img.alpha is not None) == (arr.ndim == 3 and arr.shape[2] in (2, 4))
    if img.alpha is not None:
        assert img.alpha.shape == arr.shape[:2] and img.alpha.dtype == img.rgb.dtype
    u8 = images.to_uint8(img.rgb)
    assert u8.dtype == np.uint8 and u8.shape == img.rgb.shape


@FAST
@given(arrays(np.float32, st.tuples(st.integers(1, 8), st.integers(1, 8), st.just(3)),
              elements=st.floats(-1, 2, width=32)), st.sampled_from([8, 16]))
def test_from_float_clips_rounds_and_round_trips(x, depth):
    q = images.from_float(x, depth)
    peak = 255 if depth == 8 else 65535
    assert q.dtype == (np.uint8 if depth == 8 else np.uint16)
    expected = np.clip(x.astype(np.float64), 0, 1) * peak
    assert np.abs(q.astype(np.float64) - expected).max() <= 0.5 + 1e-3 * peak / 255
    assert np.array_equal(images.from_float(images.to_float(q), depth), q)
    if depth == 16:   # 16 -> 8 bit agrees with quantising straight to 8 bits within one level
        assert np.abs(images.to_uint8(q).astype(int) - images.from_float(x, 8).astype(int)).max() <= 1


@FAST
@given(arrays(np.uint8, st.tuples(st.integers(1, 8), st.integers(1, 8), st.just(3))))
def test_to_uint8_inverts_widening_to_16_bits(u8):
    assert np.array_equal(images.to_uint8(u8.astype(np.uint16) * 257), u8)
    assert images.to_uint8(u8) is u8 or np.array_equal(images.to_uint8(u8), u8)


# -- swipe -----------------------------------------------------------------------------------
@FAST
@given(st.integers(1, 20), st.integers(1, 40), st.floats(-0.5, 1.5))
def test_swipe_shows_a_left_and_b_right_of_the_split(h, w, fraction):
    rng = np.random.default_rng(h * 100 + w)
    a = rng.integers(0, 200, (h, w, 3)).astype(np.uint8)
    b = rng.integers(0, 200, (h, w, 3)).astype(np.uint8)
    out = inspection_images.swipe(a, b, fraction)
    split = int(round(min(max(fraction, 0.0), 1.0) * w))
    assert out.shape == a.shape and out.dtype == a.dtype
    assert np.array_equal(out[:, :split], a[:, :split])
    if 0 < split < w:
        assert np.all(out[:, split] == 255)
        assert np.array_equal(out[:, split + 1:], b[:, split + 1:])
    elif split == 0:
        assert np.array_equal(out, b)


# -- tiling ----------------------------------------------------------------------------------
from srviewer.core import tiling


@FAST
@given(st.integers(1, 70), st.integers(1, 70), st.integers(1, 40), st.integers(0, 20))
def test_plan_tiles_covers_every_pixel_exactly_once(h, w, tile, overlap):
    count = np.zeros((h, w), np.int32)
    for t in tiling.plan_tiles(h, w, tile, overlap):
        assert 0 <= t.py0 <= t.y0 < t.y1 <= t.py1 <= h and 0 <= t.px0 <= t.x0 < t.x1 <= t.px1 <= w
        assert t.y1 - t.y0 <= tile and t.x1 - t.x0 <= tile
        assert t.y0 - t.py0 <= overlap and t.py1 - t.y1 <= overlap
        count[t.y0:t.y1, t.x0:t.x1] += 1
    assert np.all(count == 1)


@FAST
@given(st.integers(1, 90), st.integers(1, 90), st.integers(1, 5000), st.integers(0, 20))
def test_budget_tiles_cover_every_pixel_once_and_fit_when_they_can(h, w, budget, overlap):
    count = np.zeros((h, w), np.int32)
    tiles = tiling.plan_tiles_within(h, w, budget, overlap)
    for t in tiles:
        assert 0 <= t.py0 <= t.y0 < t.y1 <= t.py1 <= h and 0 <= t.px0 <= t.x0 < t.x1 <= t.px1 <= w
        assert t.y0 - t.py0 <= overlap and t.py1 - t.y1 <= overlap
        count[t.y0:t.y1, t.x0:t.x1] += 1
    assert np.all(count == 1)
    if min(h, 1 + 2 * overlap) * min(w, 1 + 2 * overlap) <= budget:   # one-pixel cores would fit
        assert all((t.py1 - t.py0) * (t.px1 - t.px0) <= budget for t in tiles)


def _box3_then_nearest(scale):
    """A local 'network': 3x3 box blur with zero padding (like a 'same' conv), then nearest x scale."""
    def fn(x):
        p = np.pad(x, ((1, 1), (1, 1), (0, 0)))
        blur = sum(p[i:i + x.shape[0], j:j + x.shape[1]] for i in range(3) for j in range(3)) / 9.0
        return np.repeat(np.repeat(blur, scale, 0), scale, 1).astype(np.float32)
    return fn


@FAST
@given(st.integers(1, 48), st.integers(1, 48), st.integers(1, 32), st.sampled_from([4, 8, 16]),
       st.sampled_from([1, 2, 4]), st.integers(0, 2**31 - 1))
def test_run_tiled_equals_the_untiled_result(h, w, tile, overlap, scale, seed):
    x = np.random.default_rng(seed).random((h, w, 3)).astype(np.float32)
    fn = _box3_then_nearest(scale)
    calls = []
    out = tiling.run_tiled(fn, x, scale=scale, tile=tile, overlap=overlap, progress=calls.append)
    assert out.shape == (h * scale, w * scale, 3) and out.dtype == np.float32
    assert np.abs(out - fn(x)).max() < 1e-5
    assert calls and calls[-1] == pytest.approx(1.0) and calls == sorted(calls)


@FAST
@given(st.integers(1, 2_000_000), st.integers(0, 64))
def test_tile_for_budget_is_at_least_eight_and_fits_when_it_can(budget, overlap):
    side = tiling.tile_for_budget(budget, overlap)
    assert side >= 8
    if side > 8:
        assert (side + 2 * overlap) ** 2 <= budget
