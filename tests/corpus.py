"""A corpus of damaged and unusual image files, generated (nothing downloaded).

`build_corpus(folder)` writes about 90 small files and returns one `CorpusFile` per file, with
what reading it should give: `expect` is "ok" (a LoadedImage with the stated properties),
"error" (an ImageReadError) or "any" (either, e.g. a bit flip that may land in padding).

Run as a script to build the corpus in a folder: `python tests/corpus.py /tmp/corpus`.
"""

from __future__ import annotations

import io
import struct
import sys
import zlib
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from PIL import Image


@dataclass
class CorpusFile:
    path: Path
    kind: str                    # what the file is: "truncated", "exif", "bomb", ...
    expect: str                  # "ok" | "error" | "any"
    size: tuple[int, int] | None = None   # (width, height) after orientation, when ok
    bit_depth: int | None = None
    alpha: bool | None = None
    grey: bool | None = None
    note: str | None = None      # a substring of one of LoadedImage.notes
    error: str | None = None     # a substring of the ImageReadError message
    upright: np.ndarray | None = field(default=None, repr=False)  # expected RGB (EXIF cases)
    big: bool = False            # too slow to upscale in every test (1x100000)


def _rgb(w: int = 24, h: int = 20, seed: int = 0) -> np.ndarray:
    """A WxH RGB uint8 image with gradients and noise."""
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:h, 0:w]
    base = np.stack([x * 255 / max(w - 1, 1), y * 255 / max(h - 1, 1), (x + y) * 3 % 256], -1)
    return np.clip(base + rng.normal(0, 10, base.shape), 0, 255).astype(np.uint8)


def _quadrants(w: int = 32, h: int = 16) -> np.ndarray:
    """An asymmetric image of four flat quadrants (JPEG keeps them; every flip/rotation differs)."""
    img = np.zeros((h, w, 3), np.uint8)
    img[: h // 2, : w // 2] = (255, 0, 0)
    img[: h // 2, w // 2:] = (0, 255, 0)
    img[h // 2:, : w // 2] = (0, 0, 255)
    img[h // 2:, w // 2:] = (255, 255, 0)
    return img


def _encode(img: Image.Image, fmt: str, **options) -> bytes:
    buf = io.BytesIO()
    img.save(buf, format=fmt, **options)
    return buf.getvalue()


def _png_chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)


def _png_header_bomb(width: int, height: int) -> bytes:
    """A PNG whose IHDR claims width x height RGB but whose data is a few bytes."""
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    idat = zlib.compress(b"\x00" * 64)
    return b"\x89PNG\r\n\x1a\n" + _png_chunk(b"IHDR", ihdr) + _png_chunk(b"IDAT", idat) + _png_chunk(b"IEND", b"")


def _png_zero_bomb(width: int, height: int) -> bytes:
    """A real grey PNG of width x height zeros: small on disk, huge decoded."""
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    comp = zlib.compressobj(9)
    row = b"\x00" * (width + 1)
    parts = [comp.compress(row * 1000) for _ in range(height // 1000)]
    parts.append(comp.compress(row * (height % 1000)))
    parts.append(comp.flush())
    return (b"\x89PNG\r\n\x1a\n" + _png_chunk(b"IHDR", ihdr) + _png_chunk(b"IDAT", b"".join(parts))
            + _png_chunk(b"IEND", b""))


def _tiff_header_bomb(width: int, height: int) -> bytes:
    """A classic little-endian TIFF whose first IFD claims width x height, with no strip data."""
    entries = [(256, 4, 1, width), (257, 4, 1, height), (258, 3, 1, 8), (259, 3, 1, 1),
               (262, 3, 1, 1), (273, 4, 1, 8), (277, 3, 1, 1), (278, 4, 1, height), (279, 4, 1, 16)]
    ifd = struct.pack("<H", len(entries))
    for tag, typ, count, value in entries:
        ifd += struct.pack("<HHI", tag, typ, count) + (struct.pack("<HH", value, 0) if typ == 3
                                                        else struct.pack("<I", value))
    ifd += struct.pack("<I", 0)
    return b"II*\x00" + struct.pack("<I", 8 + 16) + b"\x00" * 16 + ifd


def _jpeg_with_size(data: bytes, width: int, height: int) -> bytes:
    """A JPEG with its SOF0/SOF2 frame size rewritten (the scan data stays small)."""
    out = bytearray(data)
    i = 2
    while i < len(out) - 9:
        if out[i] == 0xFF and out[i + 1] in (0xC0, 0xC1, 0xC2):
            out[i + 5:i + 7] = struct.pack(">H", height)
            out[i + 7:i + 9] = struct.pack(">H", width)
            return bytes(out)
        seg_len = struct.unpack(">H", bytes(out[i + 2:i + 4]))[0]
        i += 2 + seg_len
    raise ValueError("no SOF marker")


def _bit_flipped(data: bytes, seed: int, flips: int) -> bytes:
    """`flips` random bits flipped, outside the first 8 bytes (so the format is still detected)."""
    rng = np.random.default_rng(seed)
    out = bytearray(data)
    for pos in rng.integers(min(8, len(out) - 1), len(out), flips):
        out[pos] ^= 1 << int(rng.integers(0, 8))
    return bytes(out)


def _exif(orientation: int) -> Image.Exif:
    exif = Image.Exif()
    exif[0x0112] = orientation
    return exif


# The stored image for orientation k is the inverse of what the viewer applies for k.
_INVERSE = {1: None, 2: Image.Transpose.FLIP_LEFT_RIGHT, 3: Image.Transpose.ROTATE_180,
            4: Image.Transpose.FLIP_TOP_BOTTOM, 5: Image.Transpose.TRANSPOSE, 6: Image.Transpose.ROTATE_90,
            7: Image.Transpose.TRANSVERSE, 8: Image.Transpose.ROTATE_270}


def build_corpus(folder: str | Path) -> list[CorpusFile]:
    """Write the corpus into `folder` (created) and describe each file."""
    import cv2

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    files: list[CorpusFile] = []

    def put(name: str, data: bytes, kind: str, expect: str, **info) -> None:
        path = folder / name
        path.write_bytes(data)
        files.append(CorpusFile(path, kind, expect, **info))

    rgb = _rgb()
    h, w = rgb.shape[:2]
    im = Image.fromarray(rgb)
    rgba = np.dstack([rgb, np.linspace(0, 255, w * h).reshape(h, w).astype(np.uint8)])
    valid = {
        "png": _encode(im, "PNG"),
        "jpg": _encode(im, "JPEG", quality=90),
        "tif": _encode(im, "TIFF"),
        "webp": _encode(im, "WEBP", quality=80),
        "gif": _encode(im.convert("P"), "GIF"),
        "bmp": _encode(im, "BMP"),
    }

    # -- well-formed but unusual -----------------------------------------------------------
    for ext, data in valid.items():
        put(f"plain.{ext}", data, "plain", "ok", size=(w, h), bit_depth=8)
    put("rgba.png", _encode(Image.fromarray(rgba), "PNG"), "alpha", "ok", size=(w, h), alpha=True)
    put("rgba.webp", _encode(Image.fromarray(rgba), "WEBP", lossless=True), "alpha", "ok", size=(w, h), alpha=True)
    put("rgba.tif", _encode(Image.fromarray(rgba), "TIFF"), "alpha", "ok", size=(w, h), alpha=True)
    grey = rgb[..., 1]
    put("grey.png", _encode(Image.fromarray(grey), "PNG"), "grey", "ok", size=(w, h), grey=True, alpha=False)
    put("grey.jpg", _encode(Image.fromarray(grey), "JPEG"), "grey", "ok", size=(w, h), grey=True)
    put("grey_alpha.png", _encode(Image.fromarray(np.dstack([grey, rgba[..., 3]])), "PNG"), "grey+alpha",
        "ok", size=(w, h), grey=True, alpha=True)
    put("bilevel.png", _encode(Image.fromarray(grey > 128), "PNG"), "1-bit", "ok", size=(w, h), grey=True)
    pal = im.convert("P", palette=Image.Palette.ADAPTIVE, colors=16)
    put("palette.png", _encode(pal, "PNG"), "palette", "ok", size=(w, h), alpha=False)
    put("palette_transparent.png", _encode(pal, "PNG", transparency=0), "palette+transparency", "ok",
        size=(w, h), alpha=True)
    put("palette_transparent.gif", _encode(pal, "GIF", transparency=0), "palette+transparency", "ok",
        size=(w, h), alpha=True)
    pal_alpha = bytes(range(0, 256, 16))       # a tRNS chunk with one alpha per palette entry
    put("palette_trns_table.png", _encode(pal, "PNG", transparency=pal_alpha), "palette+transparency", "ok",
        size=(w, h), alpha=True)
    put("cmyk.jpg", _encode(im.convert("CMYK"), "JPEG"), "cmyk", "ok", size=(w, h), note="CMYK")
    put("cmyk.tif", _encode(im.convert("CMYK"), "TIFF"), "cmyk", "ok", size=(w, h), note="CMYK")
    put("progressive.jpg", _encode(im, "JPEG", progressive=True), "plain", "ok", size=(w, h))
    put("ycbcr_lzw.tif", _encode(im, "TIFF", compression="tiff_lzw"), "plain", "ok", size=(w, h))
    put("trailing_garbage.png", valid["png"] + b"garbage after IEND" * 10, "trailing", "any")
    rgb16 = (rgb.astype(np.uint16) * 257 + 3)
    for ext in ("png", "tif"):
        ok, enc = cv2.imencode("." + ("png" if ext == "png" else "tiff"), cv2.cvtColor(rgb16, cv2.COLOR_RGB2BGR))
        put(f"rgb16.{ext}", enc.tobytes(), "16-bit", "ok", size=(w, h), bit_depth=16)
        ok, enc = cv2.imencode("." + ("png" if ext == "png" else "tiff"), rgb16[..., 1])
        put(f"grey16.{ext}", enc.tobytes(), "16-bit", "ok", size=(w, h), bit_depth=16, grey=True)
    ok, enc = cv2.imencode(".png", cv2.cvtColor(np.dstack([rgb16, rgb16[..., :1]]), cv2.COLOR_RGBA2BGRA))
    put("rgba16.png", enc.tobytes(), "16-bit", "ok", size=(w, h), bit_depth=16, alpha=True)
    fgrey = rgb[..., 0].astype(np.float32) / 255.0
    put("float_grey.tif", _encode(Image.fromarray(fgrey, mode="F"), "TIFF"), "float", "ok", size=(w, h),
        bit_depth=16, grey=True)
    put("float_grey_wide.tif", _encode(Image.fromarray(fgrey * 1000 - 300, mode="F"), "TIFF"), "float", "ok",
        size=(w, h), grey=True)
    nan_grey = fgrey.copy()
    nan_grey[2:5, 3:6] = np.nan
    put("float_grey_nan.tif", _encode(Image.fromarray(nan_grey, mode="F"), "TIFF"), "float", "any")
    ok, enc = cv2.imencode(".tiff", cv2.cvtColor(rgb.astype(np.float32) / 255.0, cv2.COLOR_RGB2BGR))
    put("float_rgb.tif", enc.tobytes(), "float", "ok", size=(w, h), bit_depth=16)
    ok, enc = cv2.imencode(".tiff", cv2.cvtColor(rgb.astype(np.float32) / 64.0 - 1.0, cv2.COLOR_RGB2BGR))
    put("float_rgb_wide.tif", enc.tobytes(), "float", "ok", size=(w, h))
    put("int32_grey.tif", _encode(Image.fromarray(rgb[..., 0].astype(np.int32) * 1000, mode="I"), "TIFF"),
        "32-bit", "ok", size=(w, h), grey=True)
    frames = [Image.fromarray(_rgb(seed=i)) for i in range(4)]
    put("animated.gif", _encode(frames[0], "GIF", save_all=True, append_images=frames[1:], duration=50, loop=0),
        "animated", "ok", size=(w, h), note="first frame")
    put("animated.webp", _encode(frames[0], "WEBP", save_all=True, append_images=frames[1:], duration=50),
        "animated", "ok", size=(w, h), note="first frame")
    put("multipage.tif", _encode(frames[0], "TIFF", save_all=True, append_images=frames[1:]), "animated", "ok",
        size=(w, h), note="first frame")

    # tiny and thin
    for name, shape in (("1x1", (1, 1)), ("2x2", (2, 2)), ("3x5", (5, 3)), ("1x100000", (1, 100000)),
                        ("100000x1", (100000, 1)), ("4x7", (7, 4))):
        arr = _rgb(shape[1], shape[0], seed=7)
        put(f"tiny_{name}.png", _encode(Image.fromarray(arr), "PNG"), "tiny", "ok", size=(shape[1], shape[0]),
            big=max(shape) > 1000)
    put("tiny_1x1.jpg", _encode(Image.fromarray(_rgb(1, 1)), "JPEG"), "tiny", "ok", size=(1, 1))
    put("tiny_1x1.gif", _encode(Image.fromarray(_rgb(1, 1)).convert("P"), "GIF"), "tiny", "ok", size=(1, 1))

    # EXIF orientations 1..8 (and out-of-range values), on JPEG and PNG
    upright = _quadrants()
    for k in range(1, 9):
        stored = Image.fromarray(upright)
        if _INVERSE[k] is not None:
            stored = stored.transpose(_INVERSE[k])
        put(f"exif_orientation_{k}.jpg", _encode(stored, "JPEG", quality=95, exif=_exif(k)), "exif", "ok",
            size=(upright.shape[1], upright.shape[0]), upright=upright,
            note=None if k == 1 else f"orientation {k}")
    stored6 = Image.fromarray(upright).transpose(_INVERSE[6])
    put("exif_orientation_6.png", _encode(stored6, "PNG", exif=_exif(6)), "exif", "ok",
        size=(upright.shape[1], upright.shape[0]), upright=upright)
    for bad in (0, 9, 65535):
        put(f"exif_orientation_bad_{bad}.jpg", _encode(Image.fromarray(upright), "JPEG", exif=_exif(bad)),
            "exif", "ok", size=(upright.shape[1], upright.shape[0]))
    put("exif_garbage.jpg", _jpeg_garbage_exif(valid["jpg"]), "exif", "any")

    # -- decompression bombs -----------------------------------------------------------------
    put("bomb_header_60000x60000.png", _png_header_bomb(60000, 60000), "bomb", "error", error="limit")
    put("bomb_zeros_11000x10000.png", _png_zero_bomb(11000, 10000), "bomb", "error", error="limit")
    put("bomb_header_60000x60000.tif", _tiff_header_bomb(60000, 60000), "bomb", "error", error="limit")
    put("bomb_header_60000x60000.jpg", _jpeg_with_size(valid["jpg"], 60000, 60000), "bomb", "error",
        error="limit")
    put("bomb_header_60000x60000.gif", valid["gif"][:6] + struct.pack("<HH", 60000, 60000) + valid["gif"][10:],
        "bomb", "any")
    put("header_2x_wider.jpg", _jpeg_with_size(valid["jpg"], 2 * w, h), "lying header", "any")

    # -- empty, text, random, wrong extension ---------------------------------------------
    for ext in ("png", "jpg", "tif", "webp", "gif"):
        put(f"empty.{ext}", b"", "zero bytes", "error", error="empty")
    put("text.png", b"This is not an image, just some text.\n" * 20, "text", "error")
    put("html.jpg", b"<!doctype html><html><body>404 Not Found</body></html>\n", "text", "error")
    put("svg.png", b'<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10"/>', "text", "error")
    put("random.png", np.random.default_rng(3).bytes(4096), "random", "error")
    put("random.tif", b"II*\x00" + np.random.default_rng(4).bytes(4096), "random", "any")
    put("png_magic_only.png", b"\x89PNG\r\n\x1a\n", "truncated", "error")
    put("jpeg_named.png", valid["jpg"], "wrong extension", "ok", size=(w, h))
    put("png_named.tif", valid["png"], "wrong extension", "ok", size=(w, h))
    put("webp_named.jpg", valid["webp"], "wrong extension", "ok", size=(w, h))
    put("tiff_named.png", valid["tif"], "wrong extension", "ok", size=(w, h))
    put("gif_named.webp", valid["gif"], "wrong extension", "ok", size=(w, h))
    put("no_extension", valid["png"], "wrong extension", "ok", size=(w, h))
    put("UPPER.PNG", valid["png"], "wrong extension", "ok", size=(w, h))
    bad_crc = bytearray(valid["png"])
    bad_crc[29] ^= 0xFF                         # the IHDR CRC
    put("bad_crc.png", bytes(bad_crc), "bit flip", "any")
    big_text = _png_chunk(b"zTXt", b"k\x00\x00" + zlib.compress(b"x" * 20_000_000))
    put("huge_text_chunk.png", valid["png"][:33] + big_text + valid["png"][33:], "text chunk", "any")

    # -- truncated and bit-flipped ----------------------------------------------------------
    for ext in ("png", "jpg", "tif", "webp", "gif"):
        data = valid[ext]
        for frac in (0.05, 0.5, 0.9):
            put(f"truncated_{int(frac * 100):02d}.{ext}", data[: max(9, int(len(data) * frac))], "truncated", "any")
        for seed, flips in ((1, 1), (2, 8), (3, 64)):
            put(f"bitflip_{flips}_{seed}.{ext}", _bit_flipped(data, seed, flips), "bit flip", "any")
    data16 = files_by_name(files, "rgb16.png").path.read_bytes()
    put("truncated_50.rgb16.png", data16[: len(data16) // 2], "truncated", "any")
    put("bitflip_16.rgb16.tif", _bit_flipped(files_by_name(files, "rgb16.tif").path.read_bytes(), 5, 16),
        "bit flip", "any")
    ftif = files_by_name(files, "float_rgb.tif").path.read_bytes()
    put("truncated_50.float_rgb.tif", ftif[: len(ftif) // 2], "truncated", "any")

    # a folder named like an image, and a dangling link
    (folder / "folder.png").mkdir(exist_ok=True)
    files.append(CorpusFile(folder / "folder.png", "folder", "error", error="folder"))
    link = folder / "dangling.png"
    if not link.is_symlink():
        link.symlink_to(folder / "does-not-exist.png")
    files.append(CorpusFile(link, "dangling link", "error"))
    return files


def _jpeg_garbage_exif(jpg: bytes) -> bytes:
    """A JPEG with an APP1 'Exif' segment full of junk after its magic."""
    payload = b"Exif\x00\x00" + b"MM\x00*\x00\x00\x00\x08" + np.random.default_rng(9).bytes(200)
    return jpg[:2] + b"\xff\xe1" + struct.pack(">H", len(payload) + 2) + payload + jpg[2:]


def files_by_name(files: list[CorpusFile], name: str) -> CorpusFile:
    return next(f for f in files if f.path.name == name)


if __name__ == "__main__":  # pragma: no cover
    out = Path(sys.argv[1] if len(sys.argv) > 1 else "/tmp/srviewer-corpus")
    built = build_corpus(out)
    kinds: dict[str, int] = {}
    for f in built:
        kinds[f.kind] = kinds.get(f.kind, 0) + 1
    print(f"{len(built)} files in {out}: " + ", ".join(f"{k} {n}" for k, n in sorted(kinds.items())))
