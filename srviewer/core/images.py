"""Reading and writing images: whatever the file, RGB HWC uint8 or uint16 at the edges.

`read_image` accepts PNG, JPEG, BMP, TIFF, WebP and GIF (and whatever else Pillow decodes):
8- and 16-bit, grey, grey+alpha, RGB, RGBA, palette (transparency becomes alpha), CMYK
(converted to RGB), float TIFF (scaled to 16-bit), with the EXIF orientation applied and the
first frame of an animation. What was done to the file is said in `LoadedImage.notes`.
Every failure raises `ImageReadError` with one line that names the file.
"""

from __future__ import annotations

import os
import struct
import threading
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps

from srviewer.core import decoder_output
from srviewer.core.atomic import atomic_write
from srviewer.errors import ImageReadError, ImageWriteError

IMAGE_SUFFIXES = (".png", ".bmp", ".jpg", ".jpeg", ".tif", ".tiff", ".webp", ".gif")
"""The file names taken as images where a folder is read (bench, training data, result folders, the
Training tab's drops): the formats `read_image` is written for, lower case."""

MAX_PIXELS = 100_000_000
"""Largest image (width x height) read, checked from the header before any pixel is decoded."""

FAST_PNG_PIXELS = 16_000_000
"""Above this many pixels a PNG is written by `png_writer` (zlib level 1, on every core): a 10 MP
photo x4 is 161 MP, minutes at Pillow's default level 6 on one core."""

_pillow_limit = threading.Lock()   # held while Image.MAX_IMAGE_PIXELS is set to a reader's limit

_WRITE_FORMATS = {".png": "PNG", ".jpg": "JPEG", ".jpeg": "JPEG", ".bmp": "BMP",
                  ".tif": "TIFF", ".tiff": "TIFF", ".webp": "WEBP"}


@dataclass
class LoadedImage:
    """An image as srviewer holds it.

    rgb: HxWx3 RGB, uint8 (bit_depth 8) or uint16 (bit_depth 16). alpha: HxW of the same dtype,
    or None. is_grey: the file stored grey values (the three channels are equal; metrics score
    the grey values). notes: what reading did ("EXIF orientation 6 applied", ...).
    """

    rgb: np.ndarray
    alpha: np.ndarray | None = None
    bit_depth: int = 8
    is_grey: bool = False
    path: Path | None = None
    notes: list[str] = field(default_factory=list)

    @property
    def height(self) -> int:
        return self.rgb.shape[0]

    @property
    def width(self) -> int:
        return self.rgb.shape[1]


def to_float(rgb: np.ndarray) -> np.ndarray:
    """uint8 / uint16 -> float32 in [0, 1]; float input is returned as float32 unchanged."""
    rgb = np.asarray(rgb)
    if rgb.dtype == np.uint8:
        return rgb.astype(np.float32) / 255.0
    if rgb.dtype == np.uint16:
        return rgb.astype(np.float32) / 65535.0
    return rgb.astype(np.float32, copy=False)


def from_float(x: np.ndarray, bit_depth: int = 8) -> np.ndarray:
    """float in [0, 1] -> uint8 (bit_depth 8) or uint16 (16): clipped and rounded."""
    peak, dtype = (255.0, np.uint8) if bit_depth == 8 else (65535.0, np.uint16)
    return np.floor(np.clip(np.asarray(x, dtype=np.float32), 0.0, 1.0) * peak + 0.5).astype(dtype)


def to_uint8(rgb: np.ndarray) -> np.ndarray:
    """Any supported array (uint8, uint16, float [0,1]) -> uint8 0..255, for display and metrics."""
    rgb = np.asarray(rgb)
    if rgb.dtype == np.uint8:
        return rgb
    if rgb.dtype == np.uint16:
        return ((rgb.astype(np.uint32) * 255 + 32767) // 65535).astype(np.uint8)
    return from_float(rgb, 8)


def to_metric_range(rgb: np.ndarray) -> np.ndarray:
    """uint8 stays; uint16 -> float64 0..255 (not rounded): the range metrics expect."""
    rgb = np.asarray(rgb)
    if rgb.dtype == np.uint16:
        return rgb.astype(np.float64) * (255.0 / 65535.0)
    return rgb


def from_array(arr: np.ndarray, notes: list[str] | None = None) -> LoadedImage:
    """Wrap an array: HxW grey, HxWx1, HxWx2 (grey+alpha), HxWx3, HxWx4 (RGBA).

    uint8 and uint16 keep their depth; bool becomes 0/255; float is taken as [0, 1] and
    becomes 16-bit; other integers are clipped into 16-bit.
    """
    arr = np.asarray(arr)
    notes = list(notes or [])
    if arr.ndim == 2:
        arr = arr[:, :, None]
    if arr.ndim != 3 or arr.shape[2] not in (1, 2, 3, 4) or 0 in arr.shape:
        raise ImageReadError(f"unsupported image array of shape {arr.shape}")
    if arr.dtype == bool:
        arr = arr.astype(np.uint8) * 255
    elif np.issubdtype(arr.dtype, np.floating):
        if not np.all(np.isfinite(arr)):
            notes.append("non-finite values set to 0")
            arr = np.nan_to_num(arr, nan=0.0, posinf=1.0, neginf=0.0)
        lo, hi = float(arr.min()), float(arr.max())
        if lo < 0 or hi > 1:
            notes.append(f"float values {lo:.3g}..{hi:.3g} clipped to 0..1")
        arr = from_float(arr, 16)
    elif arr.dtype not in (np.uint8, np.uint16):
        arr = np.clip(arr, 0, 65535).astype(np.uint16)
    channels = arr.shape[2]
    is_grey = channels in (1, 2)
    colour = arr[:, :, :1] if is_grey else arr[:, :, :3]
    rgb = np.ascontiguousarray(np.repeat(colour, 3, axis=2) if is_grey else colour)
    alpha = np.ascontiguousarray(arr[:, :, -1]) if channels in (2, 4) else None
    return LoadedImage(rgb=rgb, alpha=alpha, bit_depth=16 if arr.dtype == np.uint16 else 8,
                       is_grey=is_grey, notes=notes)


def _open_checked(path: Path, max_pixels: int) -> Image.Image:
    try:
        size = path.stat().st_size
    except FileNotFoundError:
        raise ImageReadError(f"{path}: no such file") from None
    except OSError as exc:
        raise ImageReadError(f"{path}: cannot be read ({exc.strerror or exc})") from None
    if path.is_dir():
        raise ImageReadError(f"{path}: is a folder, not an image")
    if size == 0:
        raise ImageReadError(f"{path}: the file is empty")
    try:
        with _pillow_limit, warnings.catch_warnings():   # Pillow's limit is a global: one reader sets it at a time
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            old_limit, Image.MAX_IMAGE_PIXELS = Image.MAX_IMAGE_PIXELS, max_pixels
            try:
                image = Image.open(path)     # reads the header only; the bomb check happens here
            finally:
                Image.MAX_IMAGE_PIXELS = old_limit
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise ImageReadError(f"{path}: image is larger than the limit of {max_pixels:,} pixels") from None
    except Exception as exc:  # noqa: BLE001 - Pillow raises many types for bad data
        raise ImageReadError(f"{path}: not an image srviewer can read ({_short(exc)})") from None
    width, height = image.size
    if width * height > max_pixels:
        image.close()
        raise ImageReadError(
            f"{path}: {width}x{height} is {width * height:,} pixels, above the limit of {max_pixels:,}"
        )
    if width == 0 or height == 0:
        raise ImageReadError(f"{path}: the image has no pixels ({width}x{height})")
    return image


def _short(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    return text[:160]


def _decode(image: Image.Image, notes: list[str]) -> np.ndarray:
    """Pillow image -> array of HxW(xC) with 1-4 channels, uint8/uint16/float32."""
    frames = getattr(image, "n_frames", 1)
    if frames > 1:
        image.seek(0)
        notes.append(f"first frame of {frames} shown")
    image.load()
    transposed = ImageOps.exif_transpose(image)
    orientation = image.getexif().get(0x0112, 1)
    if orientation in (2, 3, 4, 5, 6, 7, 8):
        notes.append(f"EXIF orientation {orientation} applied")
    elif orientation not in (None, 1):
        notes.append(f"EXIF orientation {orientation} ignored (not 1-8)")
    image = transposed if transposed is not None else image
    mode = image.mode
    if mode == "P" or mode == "PA":
        has_alpha = "transparency" in image.info or mode == "PA"
        image = image.convert("RGBA" if has_alpha else "RGB")
    elif mode == "CMYK":
        image = image.convert("RGB")
        notes.append("CMYK converted to RGB")
    elif mode in ("1", "L", "LA", "RGB", "RGBA"):
        pass
    elif mode in ("I;16", "I;16B", "I;16L", "I;16N"):
        return np.asarray(image).astype(np.uint16)
    elif mode == "I":
        arr = np.asarray(image)
        if arr.max(initial=0) > 65535 or arr.min(initial=0) < 0:
            notes.append("32-bit integer values clipped to 16-bit")
        return np.clip(arr, 0, 65535).astype(np.uint16)
    elif mode == "F":
        arr = np.asarray(image, dtype=np.float32)
        lo, hi = float(np.nanmin(arr)), float(np.nanmax(arr))
        if hi > 1.0 or lo < 0.0:
            span = hi - lo if hi > lo else 1.0
            arr = (arr - lo) / span
            notes.append(f"float values {lo:.3g}..{hi:.3g} scaled to 16-bit")
        else:
            notes.append("float image stored as 16-bit")
        return arr
    elif mode in ("YCbCr", "LAB", "HSV", "RGBX", "RGBa", "La"):
        image = image.convert("RGBA" if "a" in mode.lower() and mode != "LAB" else "RGB")
    else:
        image = image.convert("RGBA" if "A" in mode else "RGB")
        notes.append(f"{mode} converted to RGB")
    return np.asarray(image)


def _decode_16bit_rgb(path: Path) -> np.ndarray | None:
    """Pillow reads 16-bit RGB(A) PNG/TIFF as 8-bit; OpenCV keeps 16 bits. None if not such a file."""
    import cv2

    data = np.fromfile(path, dtype=np.uint8)
    arr = cv2.imdecode(data, cv2.IMREAD_UNCHANGED)
    if arr is None or arr.dtype != np.uint16 or arr.ndim != 3:
        return None
    return cv2.cvtColor(arr, cv2.COLOR_BGRA2RGBA if arr.shape[2] == 4 else cv2.COLOR_BGR2RGB)


def _decode_with_pillow(image: Image.Image, path: Path, notes: list[str]) -> np.ndarray:
    with image:
        try:
            arr = _decode(image, notes)
        except ImageReadError:
            raise
        except Exception as exc:  # noqa: BLE001 - truncated and damaged data
            raise ImageReadError(f"{path}: the image data is damaged or truncated ({_short(exc)})") from None
        fmt = image.format
        orientation = image.getexif().get(0x0112, 1)
    only_orientation = all(n.startswith("EXIF orientation") for n in notes)
    if fmt in ("PNG", "TIFF") and arr.dtype == np.uint8 and arr.ndim == 3 and only_orientation:
        wide = _decode_16bit_rgb(path)
        if wide is not None:
            wide = _orient(wide, orientation)     # OpenCV's IMREAD_UNCHANGED ignores EXIF orientation
            if wide.shape == arr.shape:
                arr = wide
    return arr


def _orient(arr: np.ndarray, orientation: int) -> np.ndarray:
    """What Pillow's exif_transpose does for EXIF orientation 1-8, on an HxW(xC) array."""
    turn = {
        2: lambda a: a[:, ::-1],                        # mirrored left-right
        3: lambda a: a[::-1, ::-1],                     # 180 degrees
        4: lambda a: a[::-1],                           # mirrored top-bottom
        5: lambda a: a.swapaxes(0, 1),                  # transpose
        6: lambda a: np.rot90(a, -1),                   # 90 degrees clockwise
        7: lambda a: a[::-1, ::-1].swapaxes(0, 1),      # transverse
        8: lambda a: np.rot90(a, 1),                    # 90 degrees counter-clockwise
    }.get(orientation)
    return np.ascontiguousarray(turn(arr)) if turn else arr


def _tiff_size(data: bytes) -> tuple[int, int] | None:
    """(width, height) from the first IFD of a classic TIFF header, or None."""
    try:
        order = {b"II": "<", b"MM": ">"}[data[:2]]
        if struct.unpack(order + "H", data[2:4])[0] != 42:
            return None
        offset = struct.unpack(order + "I", data[4:8])[0]
        (count,) = struct.unpack(order + "H", data[offset:offset + 2])
        size = {}
        for i in range(count):
            entry = data[offset + 2 + 12 * i: offset + 14 + 12 * i]
            tag, typ = struct.unpack(order + "HH", entry[:4])
            if tag in (256, 257):
                fmt = "H" if typ == 3 else "I"
                size[tag] = struct.unpack(order + fmt, entry[8:8 + struct.calcsize(fmt)])[0]
        return size[256], size[257]
    except (KeyError, struct.error, IndexError):
        return None


def _decode_float_colour_tiff(path: Path, max_pixels: int, notes: list[str]) -> np.ndarray | None:
    """A float32 RGB(A) TIFF (Pillow cannot identify it) via OpenCV -> 16-bit; None if not one.

    The size is checked from the TIFF header before decoding. Values in [0, 1] are taken as the
    full range; anything else is clipped into [0, 1] (said in notes).
    """
    import cv2

    try:
        data = path.read_bytes() if path.is_file() else b""
    except OSError:
        return None
    size = _tiff_size(data)
    if size is None:
        return None
    if size[0] * size[1] > max_pixels:
        raise ImageReadError(f"{path}: {size[0]}x{size[1]} is {size[0] * size[1]:,} pixels, "
                             f"above the limit of {max_pixels:,}")
    arr = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_UNCHANGED)
    if arr is None or not np.issubdtype(arr.dtype, np.floating) or arr.ndim != 3:
        return None
    arr = cv2.cvtColor(arr, cv2.COLOR_BGRA2RGBA if arr.shape[2] == 4 else cv2.COLOR_BGR2RGB)
    notes.append("float TIFF scaled from [0, 1] to 16-bit")
    return arr  # from_array turns float [0, 1] into 16-bit (and notes any clipping)


def _decode_file(path: Path, max_pixels: int, notes: list[str]) -> np.ndarray:
    try:
        image = _open_checked(path, max_pixels)
    except ImageReadError:
        arr = _decode_float_colour_tiff(path, max_pixels, notes)  # Pillow cannot open these
        if arr is None:
            raise
        return arr
    return _decode_with_pillow(image, path, notes)


def read_image(path: str | os.PathLike, max_pixels: int = MAX_PIXELS) -> LoadedImage:
    """Read an image file; raises ImageReadError with one clear line for anything unreadable.

    What the decoders say meanwhile (Pillow's warnings, libtiff's and OpenCV's stderr) is not
    printed: it becomes notes "decoder: ..." (or, on failure, the error's `details`).
    """
    path = Path(path)
    notes: list[str] = []
    error = None
    with decoder_output.captured() as said:   # Pillow's warnings, libtiff's and OpenCV's stderr
        try:
            arr = _decode_file(path, max_pixels, notes)
        except ImageReadError as exc:
            error = exc
    if error is not None:
        error.details = [f"decoder: {line}" for line in said]   # for `-v`; the message stays one line
        raise error
    notes += [f"decoder: {line}" for line in said]
    loaded = from_array(arr, notes)
    loaded.path = path
    return loaded


def write_image(path: str | os.PathLike, rgb: np.ndarray, alpha: np.ndarray | None = None) -> None:
    """Write RGB HWC uint8/uint16 (+ optional HxW alpha of the same dtype) atomically.

    PNG and TIFF keep 16 bits; JPEG, BMP and WebP are written as 8-bit. The format follows the
    extension; an unknown one raises ImageWriteError, and so does a failed write (the previous
    file, if any, is left as it was).
    """
    path = Path(path)
    fmt = _WRITE_FORMATS.get(path.suffix.lower())
    if fmt is None:
        raise ImageWriteError(f"{path}: unknown image extension (use {', '.join(sorted(_WRITE_FORMATS))})")
    rgb = np.asarray(rgb)
    if rgb.ndim != 3 or rgb.shape[2] != 3:
        raise ImageWriteError(f"{path}: expected an HxWx3 RGB array, got shape {rgb.shape}")
    if rgb.dtype not in (np.uint8, np.uint16):
        rgb = from_float(rgb, 8)
    keep16 = rgb.dtype == np.uint16 and fmt in ("PNG", "TIFF")
    if not keep16 and rgb.dtype == np.uint16:
        rgb = to_uint8(rgb)
        alpha = None if alpha is None else to_uint8(alpha)
    if alpha is not None:
        alpha = np.asarray(alpha)
        if alpha.dtype != rgb.dtype:
            alpha = to_uint8(alpha) if rgb.dtype == np.uint8 else (to_uint8(alpha).astype(np.uint16) * 257)
    try:
        if fmt == "PNG" and rgb.shape[0] * rgb.shape[1] > FAST_PNG_PIXELS:   # compressed on every core
            from srviewer.core.png_writer import write_png

            with atomic_write(path, "wb") as handle:
                write_png(handle, rgb if alpha is None else np.dstack([rgb, alpha]))
        elif keep16:
            data = _encode_16bit(rgb, alpha, fmt)
            with atomic_write(path, "wb") as handle:
                handle.write(data)
        else:
            mode_arr = rgb if alpha is None or fmt in ("JPEG", "BMP") else np.dstack([rgb, alpha])
            options = {"JPEG": {"quality": 95}, "WEBP": {"lossless": True}}.get(fmt, {})
            image = Image.fromarray(np.ascontiguousarray(mode_arr))
            with atomic_write(path, "wb") as handle:   # encoded straight into the file: no second copy
                image.save(handle, format=fmt, **options)
    except ImageWriteError:
        raise
    except OSError as exc:
        raise ImageWriteError(f"{path}: could not be written ({exc.strerror or exc})") from None
    except Exception as exc:  # noqa: BLE001
        raise ImageWriteError(f"{path}: could not be written ({_short(exc)})") from None


def _encode_16bit(rgb: np.ndarray, alpha: np.ndarray | None, fmt: str) -> bytes:
    import cv2

    arr = cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR) if alpha is None else cv2.cvtColor(
        np.dstack([rgb, alpha]), cv2.COLOR_RGBA2BGRA)
    ok, encoded = cv2.imencode(".png" if fmt == "PNG" else ".tiff", arr)
    if not ok:
        raise ImageWriteError(f"OpenCV could not encode a 16-bit {fmt}")
    return encoded.tobytes()


def sample_image() -> LoadedImage:
    """scikit-image's `chelsea` (the cat of the original notebook), from the installed package."""
    from skimage import data

    loaded = from_array(data.chelsea())
    loaded.notes.append("sample image: scikit-image data.chelsea()")
    return loaded
