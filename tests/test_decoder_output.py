"""Decoder chatter on damaged files: caught into notes (shown with -v), never on stderr."""

import io
import os
import warnings

import numpy as np
import pytest
from PIL import Image

from srviewer.cli import main
from srviewer.core import decoder_output
from srviewer.core.images import read_image
from srviewer.errors import ImageReadError


def damaged_tiffs(folder):
    """TIFFs as Pillow (raw, LZW, deflate, JPEG) and OpenCV (16-bit RGB, float RGB) write them,
    truncated at 30/60/90 % and with six bytes flipped in their first 400 (three seeds). On
    Pillow 13 / OpenCV 5 these made Pillow warn, libtiff print `tempfile.tif: Using code not yet
    in table.` and OpenCV print `[ WARN ] ... TIFF_Warning` and `[ERROR] ... TIFF_Error` lines."""
    import cv2

    rng = np.random.default_rng(0)
    rgb = rng.integers(0, 256, (40, 48, 3), dtype=np.uint8)
    sources = {}
    for compression in ("raw", "tiff_lzw", "tiff_deflate", "jpeg"):
        buffer = io.BytesIO()
        Image.fromarray(rgb).save(buffer, format="TIFF", compression=compression)
        sources[f"pil_{compression}"] = buffer.getvalue()
    sources["cv_rgb16"] = cv2.imencode(".tiff", rgb.astype(np.uint16) * 257)[1].tobytes()
    sources["cv_float"] = cv2.imencode(".tiff", rgb.astype(np.float32) / 255)[1].tobytes()
    paths = []
    for name, data in sources.items():
        for percent in (30, 60, 90):
            paths.append(folder / f"{name}_cut{percent}.tif")
            paths[-1].write_bytes(data[: len(data) * percent // 100])
        for seed in range(3):
            flipped = bytearray(data)
            for i in np.random.default_rng(seed).integers(8, min(len(data), 400), 6):
                flipped[i] ^= 0xFF
            paths.append(folder / f"{name}_flip{seed}.tif")
            paths[-1].write_bytes(bytes(flipped))
    return paths


def test_nothing_reaches_stderr_while_damaged_tiffs_are_read(tmp_path, capfd):
    said = []
    for path in damaged_tiffs(tmp_path):
        try:
            said += [n for n in read_image(path).notes if n.startswith("decoder:")]
        except ImageReadError as exc:
            assert "\n" not in str(exc)
            said += exc.details
    out, err = capfd.readouterr()
    assert err == "" and out == ""
    text = "\n".join(said)
    # what used to be printed is kept, as notes: Pillow's warnings, libtiff's and OpenCV's own lines
    assert "Truncated File Read" in text
    assert "TIFF_Error" in text and "Using code not yet in table" in text


def test_the_capture_catches_warnings_and_fd2_and_gives_fd2_back(capfd):
    with decoder_output.captured() as lines:
        warnings.warn("odd chunk", UserWarning)
        os.write(2, b"libfoo: bad tag\n\n")
    os.write(2, b"after\n")
    assert lines == ["odd chunk", "libfoo: bad tag"]
    assert capfd.readouterr().err == "after\n"


def test_a_readable_file_with_decoder_warnings_keeps_them_as_notes(tmp_path):
    from corpus import build_corpus

    files = {f.path.name: f for f in build_corpus(tmp_path)}
    loaded = read_image(files["exif_garbage.jpg"].path)
    assert any(n.startswith("decoder: Corrupt EXIF data") for n in loaded.notes)


@pytest.mark.parametrize("verbose", [False, True])
def test_cli_says_one_line_on_a_damaged_tiff_and_the_decoders_lines_with_v(tmp_path, capfd, verbose, empty_weights):
    bad = next(p for p in damaged_tiffs(tmp_path) if p.name == "pil_raw_flip2.tif")
    argv = ["upscale", str(bad), "--method", "bicubic", "-o", str(tmp_path / "o.png")] + (["-v"] if verbose else [])
    assert main(argv) == 2
    lines = capfd.readouterr().err.splitlines()
    assert lines[0].startswith("srviewer: error: ") and bad.name in lines[0]
    if verbose:
        assert len(lines) > 2 and all(line.startswith("  decoder: ") for line in lines[1:])
        assert any("TIFF_Error" in line for line in lines)
    else:
        assert len(lines) == 1
