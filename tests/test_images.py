"""Reading and writing every kind of file people have; clear errors for the rest."""

import struct
import zlib

import numpy as np
import pytest
from PIL import Image

from srviewer.core import images
from srviewer.errors import ImageReadError, ImageWriteError


@pytest.mark.parametrize("ext", ["png", "bmp", "tif", "webp"])
def test_lossless_formats_round_trip(tmp_path, smooth_rgb, ext):
    path = tmp_path / f"a.{ext}"
    images.write_image(path, smooth_rgb)
    loaded = images.read_image(path)
    assert loaded.rgb.dtype == np.uint8 and loaded.bit_depth == 8
    assert np.array_equal(loaded.rgb, smooth_rgb)


def test_jpeg_round_trips_closely(tmp_path, smooth_rgb):
    images.write_image(tmp_path / "a.jpg", smooth_rgb)
    loaded = images.read_image(tmp_path / "a.jpg")
    assert loaded.rgb.shape == smooth_rgb.shape
    assert np.abs(loaded.rgb.astype(int) - smooth_rgb).mean() < 6


@pytest.mark.parametrize("ext", ["png", "tif"])
def test_sixteen_bit_with_alpha_is_kept(tmp_path, rng, ext):
    rgb = rng.integers(0, 65536, (12, 17, 3)).astype(np.uint16)
    alpha = rng.integers(0, 65536, (12, 17)).astype(np.uint16)
    images.write_image(tmp_path / f"a.{ext}", rgb, alpha)
    loaded = images.read_image(tmp_path / f"a.{ext}")
    assert loaded.bit_depth == 16
    assert np.array_equal(loaded.rgb, rgb) and np.array_equal(loaded.alpha, alpha)


def test_grey_and_grey_alpha(tmp_path, rng):
    grey = rng.integers(0, 256, (9, 13)).astype(np.uint8)
    Image.fromarray(grey).save(tmp_path / "g.png")
    loaded = images.read_image(tmp_path / "g.png")
    assert loaded.is_grey and loaded.rgb.shape == (9, 13, 3)
    assert np.array_equal(loaded.rgb[..., 1], grey)
    Image.fromarray(np.dstack([grey, 255 - grey]), "LA").save(tmp_path / "ga.png")
    la = images.read_image(tmp_path / "ga.png")
    assert la.is_grey and np.array_equal(la.alpha, 255 - grey)


def test_palette_with_transparency_gets_alpha(tmp_path):
    pal = Image.new("P", (8, 8), 0)
    pal.putpalette([0, 0, 0, 200, 10, 10] + [0] * 762)
    pal.putpixel((3, 3), 1)
    pal.save(tmp_path / "p.png", transparency=0)
    loaded = images.read_image(tmp_path / "p.png")
    assert loaded.alpha is not None and loaded.alpha[0, 0] == 0 and loaded.alpha[3, 3] == 255
    assert tuple(loaded.rgb[3, 3]) == (200, 10, 10)


def test_cmyk_jpeg_becomes_rgb(tmp_path):
    Image.new("CMYK", (10, 10), (0, 255, 255, 0)).save(tmp_path / "k.jpg")
    loaded = images.read_image(tmp_path / "k.jpg")
    r, g, b = loaded.rgb[5, 5].astype(int)
    assert r > 200 and g < 60 and b < 60  # pure magenta+yellow ink is red
    assert any("CMYK" in n for n in loaded.notes)


@pytest.mark.parametrize("orientation", range(1, 9))
def test_every_exif_orientation_is_applied(tmp_path, orientation):
    arr = np.zeros((10, 20, 3), np.uint8)
    arr[0, 0] = 255  # a marked corner
    im = Image.fromarray(arr)
    exif = im.getexif()
    exif[0x0112] = orientation
    im.save(tmp_path / "e.png", exif=exif)
    loaded = images.read_image(tmp_path / "e.png")
    expected = (10, 20) if orientation in (1, 2, 3, 4) else (20, 10)
    assert loaded.rgb.shape[:2] == expected
    from PIL import ImageOps

    reference = np.asarray(ImageOps.exif_transpose(Image.open(tmp_path / "e.png")))
    assert np.array_equal(loaded.rgb, reference)


def _png_with_exif(png: bytes, orientation: int) -> bytes:
    """The PNG with an eXIf chunk (EXIF orientation) inserted before its first IDAT."""
    exif = Image.Exif()
    exif[0x0112] = orientation
    data = exif.tobytes()[6:]                     # the TIFF structure, without "Exif\0\0"
    chunk = struct.pack(">I", len(data)) + b"eXIf" + data + struct.pack(">I", zlib.crc32(b"eXIf" + data))
    at = png.index(b"IDAT") - 4
    return png[:at] + chunk + png[at:]


@pytest.mark.parametrize("orientation", range(1, 9))
def test_16_bit_png_with_exif_orientation_keeps_16_bits_and_is_turned(tmp_path, orientation):
    import cv2

    rgb16 = np.random.default_rng(orientation).integers(0, 65536, (6, 9, 3), dtype=np.uint16)
    ok, png = cv2.imencode(".png", rgb16[..., ::-1])
    (tmp_path / "w.png").write_bytes(_png_with_exif(png.tobytes(), orientation))
    ok, png8 = cv2.imencode(".png", (rgb16 >> 8).astype(np.uint8)[..., ::-1])
    (tmp_path / "n.png").write_bytes(_png_with_exif(png8.tobytes(), orientation))
    from PIL import ImageOps

    upright8 = np.asarray(ImageOps.exif_transpose(Image.open(tmp_path / "n.png")))   # Pillow's turn, 8-bit proxy
    loaded = images.read_image(tmp_path / "w.png")
    assert loaded.bit_depth == 16 and loaded.rgb.dtype == np.uint16
    assert np.array_equal(loaded.rgb >> 8, upright8)
    assert np.array_equal(np.sort(loaded.rgb, axis=None), np.sort(rgb16, axis=None))   # low bytes kept too
    assert (orientation == 1) != any(f"EXIF orientation {orientation} applied" in n for n in loaded.notes)


def test_animation_reads_its_first_frame(tmp_path):
    frames = [Image.new("RGB", (8, 8), (60 * i, 0, 0)) for i in range(3)]
    frames[0].save(tmp_path / "a.gif", save_all=True, append_images=frames[1:])
    loaded = images.read_image(tmp_path / "a.gif")
    assert loaded.rgb[0, 0, 0] == 0 and any("first frame of 3" in n for n in loaded.notes)


def test_float_tiff_is_scaled_to_sixteen_bit(tmp_path, rng):
    Image.fromarray((rng.random((6, 7)) * 40 - 10).astype(np.float32)).save(tmp_path / "f.tif")
    loaded = images.read_image(tmp_path / "f.tif")
    assert loaded.bit_depth == 16 and loaded.rgb.min() == 0 and loaded.rgb.max() == 65535



def test_float_colour_tiff_pillow_cannot_open_is_read_as_sixteen_bit(tmp_path, rng):
    import cv2

    rgb = rng.random((5, 6, 3)).astype(np.float32)
    cv2.imwrite(str(tmp_path / "f.tif"), np.ascontiguousarray(rgb[:, :, ::-1]))
    loaded = images.read_image(tmp_path / "f.tif")
    assert loaded.bit_depth == 16 and not loaded.is_grey
    np.testing.assert_allclose(loaded.rgb / 65535.0, rgb, atol=1 / 65535)
    assert any("float TIFF" in n for n in loaded.notes)

def _png_claiming(width, height):
    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"\0" * 64)) + chunk(b"IEND", b"")


def test_decompression_bomb_is_refused_from_the_header(tmp_path):
    (tmp_path / "bomb.png").write_bytes(_png_claiming(60000, 60000))
    with pytest.raises(ImageReadError, match="limit"):
        images.read_image(tmp_path / "bomb.png")


@pytest.mark.parametrize("content", [b"", b"hello, not an image", b"\x89PNG\r\n\x1a\n\0\0"])
def test_garbage_raises_one_clear_error(tmp_path, content):
    (tmp_path / "x.png").write_bytes(content)
    with pytest.raises(ImageReadError, match="x.png"):
        images.read_image(tmp_path / "x.png")


@pytest.mark.parametrize("ext", ["png", "jpg"])
def test_truncated_files_raise(tmp_path, smooth_rgb, ext):
    images.write_image(tmp_path / f"a.{ext}", smooth_rgb)
    data = (tmp_path / f"a.{ext}").read_bytes()
    (tmp_path / f"t.{ext}").write_bytes(data[: len(data) // 2])
    with pytest.raises(ImageReadError, match="damaged|truncated"):
        images.read_image(tmp_path / f"t.{ext}")


def test_missing_file_and_folder(tmp_path):
    with pytest.raises(ImageReadError, match="no such file"):
        images.read_image(tmp_path / "nope.png")
    with pytest.raises(ImageReadError, match="folder"):
        images.read_image(tmp_path)


def test_write_refuses_unknown_extension_and_keeps_old_file(tmp_path, smooth_rgb):
    with pytest.raises(ImageWriteError, match="extension"):
        images.write_image(tmp_path / "a.xyz", smooth_rgb)
    target = tmp_path / "keep.png"
    images.write_image(target, smooth_rgb)
    before = target.read_bytes()
    with pytest.raises(ImageWriteError):
        images.write_image(target, np.zeros((4, 4), np.uint8))  # not RGB
    assert target.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["keep.png"]  # no temporary files left


def test_float_and_integer_conversions():
    x = np.array([0.0, 0.5, 1.0, 1.5, -1.0], np.float32)
    assert list(images.from_float(x, 8)) == [0, 128, 255, 255, 0]
    assert list(images.to_uint8(np.array([0, 257, 65535], np.uint16))) == [0, 1, 255]
    assert images.to_float(np.array([255], np.uint8))[0] == pytest.approx(1.0)


def test_sample_image_is_the_notebook_cat():
    cat = images.sample_image()
    assert cat.rgb.shape == (300, 451, 3) and cat.rgb.dtype == np.uint8


def test_readers_with_different_limits_in_threads_do_not_see_each_others_limit(tmp_path):
    import threading

    images.write_image(tmp_path / "a.png", np.zeros((60, 60, 3), np.uint8))
    failures, small_refused, pillow_default = [], [], Image.MAX_IMAGE_PIXELS

    def read_big_limit():
        for _ in range(150):
            try:
                images.read_image(tmp_path / "a.png")
            except ImageReadError as exc:   # a 3600-pixel image under a 100M limit: never
                failures.append(str(exc))

    def read_small_limit():
        for _ in range(150):
            with pytest.raises(ImageReadError, match="limit"):
                images.read_image(tmp_path / "a.png", max_pixels=100)
            small_refused.append(True)

    threads = [threading.Thread(target=read_big_limit), threading.Thread(target=read_small_limit)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert failures == [] and len(small_refused) == 150
    assert Image.MAX_IMAGE_PIXELS == pillow_default
