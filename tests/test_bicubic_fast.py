"""The fast polyphase MATLAB bicubic against the matrix-product reference, and the strip-wise
native-depth upscale of big photos (bounded memory)."""

import tracemalloc

import numpy as np
import pytest

from srviewer.core import bicubic_fast, bicubic_stream, conventions
from srviewer.core.images import LoadedImage, from_float, read_image, to_float
from srviewer.core.methods import BicubicMethod, upscale_image

SHAPES = [(1, 1), (1, 7, 3), (6, 1, 3), (2, 3, 3), (7, 5, 3), (20, 13), (33, 17, 3), (40, 31, 4), (9, 8, 1),
          (61, 50, 3)]


def _random(shape, dtype, rng):
    if dtype == np.uint8:
        return rng.integers(0, 256, shape).astype(np.uint8)
    if dtype == np.uint16:
        return rng.integers(0, 65536, shape).astype(np.uint16)
    return (rng.random(shape) * 1.4 - 0.2).astype(dtype)   # floats are resized as they are, out of range too


@pytest.mark.parametrize("scale", [2, 4, 8])
@pytest.mark.parametrize("dtype", [np.uint8, np.uint16, np.float32])
def test_fast_upscale_is_bit_identical_to_the_matrix_product(scale, dtype):
    rng = np.random.default_rng(scale)
    for shape in SHAPES:
        img = _random(shape, dtype, rng)
        ref = conventions.imresize_general(img, float(scale))
        fast = conventions.imresize(img, float(scale))
        assert fast.dtype == ref.dtype and fast.shape == ref.shape
        np.testing.assert_array_equal(fast, ref, err_msg=f"{shape} {np.dtype(dtype).name} x{scale}")


def test_fast_upscale_of_float64_is_within_float64_rounding():
    rng = np.random.default_rng(1)
    for shape in SHAPES:
        img = _random(shape, np.float64, rng)
        np.testing.assert_allclose(conventions.imresize(img, 4.0), conventions.imresize_general(img, 4.0),
                                   rtol=0, atol=4e-15)


def test_rounding_ties_go_up_like_matlab():
    # x4 weights are k/1024: a flat 128 next to a flat 129 gives sums exactly halfway in places
    img = np.zeros((4, 8), np.uint8)
    img[:, :4], img[:, 4:] = 128, 129
    for dtype in (np.uint8, np.uint16):
        a = img.astype(dtype)
        np.testing.assert_array_equal(conventions.imresize(a, 4.0), conventions.imresize_general(a, 4.0))


def test_an_impulse_spreads_as_the_keys_kernel_at_matlabs_sample_positions():
    """Independent of srviewer's tap tables: the kernel written out by hand (a = -0.5)."""
    def keys(x):
        x = abs(x)
        return 1.5 * x**3 - 2.5 * x**2 + 1 if x <= 1 else (-0.5 * x**3 + 2.5 * x**2 - 4 * x + 2 if x < 2 else 0.0)

    img = np.zeros((9, 9), np.float64)
    img[4, 4] = 1.0
    out = bicubic_fast.upscale(img, 4)
    centre = [(o + 0.5) / 4 - 0.5 for o in range(36)]   # output pixel centres in input pixels (0-based)
    expected = np.array([[keys(cy - 4) * keys(cx - 4) for cx in centre] for cy in centre])
    np.testing.assert_allclose(out, expected, atol=1e-12)


@pytest.mark.parametrize("dtype", [np.uint8, np.uint16, np.float32])
def test_strips_in_any_size_and_any_number_of_threads_give_the_whole_result(dtype):
    img = _random((23, 19, 3), dtype, np.random.default_rng(3))
    whole = bicubic_fast.upscale(img, 4, workers=1)
    for rows in (1, 2, 5, 23):
        for workers in (1, 3):
            blocks = list(bicubic_fast.upscale_strips(img, 4, strip_rows=rows, workers=workers))
            assert [row for row, _ in blocks] == list(range(0, 92, 4 * rows))
            np.testing.assert_array_equal(np.concatenate([b for _, b in blocks]), whole)


def test_scales_without_dyadic_weights_keep_the_general_path():
    img = _random((10, 12, 3), np.uint8, np.random.default_rng(4))
    assert bicubic_fast.fraction_bits(4) == 10          # x4 weights are k / 1024
    assert bicubic_fast.fraction_bits(3) is None        # x3's are thirds
    assert not bicubic_fast.supports(img, 3) and not bicubic_fast.supports(img, 0.25)
    assert not bicubic_fast.supports(img.astype(np.int16), 4)
    assert conventions.imresize(img, 3.0).shape == (30, 36, 3)


@pytest.mark.parametrize("workers", [1, 3])
def test_the_bicubic_method_clips_strip_by_strip_to_the_clipped_matrix_product(workers, monkeypatch):
    monkeypatch.setattr(bicubic_fast, "_strip_rows", lambda w, c, s: 4)   # many strips
    monkeypatch.setattr(bicubic_fast, "_workers", lambda: workers)
    rgb = _random((29, 23, 3), np.float32, np.random.default_rng(9))    # overshoots past 0 and 1
    expected = np.clip(conventions.imresize_general(rgb, 4.0), 0.0, 1.0)
    got = BicubicMethod("matlab").upscale(rgb)
    assert got.dtype == np.float32 and (got.min(), got.max()) == (0.0, 1.0)
    np.testing.assert_array_equal(got, expected)


@pytest.mark.parametrize("kernel,scale", [("matlab", 4), ("matlab", 3), ("opencv", 4)])
def test_a_clipped_upscale_equals_the_upscale_clipped_afterwards(kernel, scale):
    rgb = _random((17, 12, 3), np.float32, np.random.default_rng(3))   # overshoots past 0 and 1
    plain = conventions.upscale_bicubic(rgb, scale, kernel)
    got = conventions.upscale_bicubic(rgb, scale, kernel, clip=(0.0, 1.0))
    assert plain.min() < 0.0 and plain.max() > 1.0                     # there was something to clip
    np.testing.assert_array_equal(got, np.clip(plain, 0.0, 1.0))


@pytest.mark.parametrize("kernel", ["matlab", "opencv"])
@pytest.mark.parametrize("dtype", [np.uint8, np.uint16])
def test_native_upscale_equals_the_float_path_of_the_bicubic_method(kernel, dtype, monkeypatch):
    monkeypatch.setattr(bicubic_stream, "_STRIP_VALUES", 4096)        # many OpenCV strips
    monkeypatch.setattr(bicubic_fast, "_strip_rows", lambda w, c, s: 3)  # many polyphase strips
    rgb = _random((37, 29, 3), dtype, np.random.default_rng(5))
    method = BicubicMethod(kernel)
    bit_depth = 8 if dtype == np.uint8 else 16
    expected = from_float(method.upscale(to_float(rgb)), bit_depth)
    seen = []
    np.testing.assert_array_equal(method.upscale_native(rgb, progress=seen.append), expected)
    assert seen[-1] == 1.0 and seen == sorted(seen)


def test_upscale_image_keeps_alpha_and_depth_and_matches_the_float_formula():
    rng = np.random.default_rng(6)
    loaded = LoadedImage(rgb=_random((15, 11, 3), np.uint16, rng), alpha=_random((15, 11), np.uint16, rng),
                         bit_depth=16)
    out = upscale_image(BicubicMethod(), loaded)
    assert out.rgb.dtype == np.uint16 and out.rgb.shape == (60, 44, 3)
    alpha_f = conventions.imresize_general(to_float(loaded.alpha)[..., None], 4.0)[..., 0]
    np.testing.assert_array_equal(out.alpha, from_float(alpha_f, 16))


def test_a_big_bicubic_upscale_never_holds_the_float_result(monkeypatch):
    """The float32 result of this upscale is 4x the uint8 one; the strip-wise path stays far below it
    (strips made small here so that their buffers are small beside this small image)."""
    monkeypatch.setattr(bicubic_fast, "_strip_rows", lambda w, c, s: 4)
    rgb = _random((400, 600, 3), np.uint8, np.random.default_rng(7))
    float_result_bytes = 1600 * 2400 * 3 * 4
    tracemalloc.start()
    try:
        out = upscale_image(BicubicMethod(), LoadedImage(rgb=rgb))
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert out.rgb.shape == (1600, 2400, 3)
    assert peak < 0.6 * float_result_bytes, f"peak {peak / 2**20:.0f} MiB"


@pytest.mark.parametrize("dtype", [np.uint8, np.uint16])
@pytest.mark.parametrize("with_alpha", [False, True])
def test_big_pngs_take_the_parallel_writer_and_read_back_exactly(tmp_path, monkeypatch, dtype, with_alpha):
    from srviewer.core import images, png_writer
    from srviewer.core.images import write_image

    monkeypatch.setattr(images, "FAST_PNG_PIXELS", 100)     # this small image counts as big
    monkeypatch.setattr(png_writer, "ROWS_PER_PIECE", 5)     # many pieces, compressed in threads
    rng = np.random.default_rng(8)
    rgb = _random((37, 23, 3), dtype, rng)
    alpha = _random((37, 23), dtype, rng) if with_alpha else None
    calls = []
    monkeypatch.setattr(png_writer, "write_png", lambda *a, real=png_writer.write_png, **k: calls.append(1)
                        or real(*a, **k))
    write_image(tmp_path / "big.png", rgb, alpha)
    assert calls
    back = read_image(tmp_path / "big.png")
    np.testing.assert_array_equal(back.rgb, rgb)
    if with_alpha:
        np.testing.assert_array_equal(back.alpha, alpha)
    from PIL import Image

    with Image.open(tmp_path / "big.png") as im:   # a second decoder agrees on what it is
        im.load()
        assert im.size == (23, 37) and im.mode.startswith("RGB")
