"""Every file of the damaged/unusual corpus (tests/corpus.py) gives a result or one clear line.

Through `read_image`, through the CLI in this process (`upscale` and `compare`, bicubic), through
the CLI in a child process for a few files (no hang, no death by signal), and through the
window's open action when the window exists.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from corpus import CorpusFile, build_corpus
from srviewer.cli import main
from srviewer.core.images import LoadedImage, read_image
from srviewer.errors import ImageReadError

REPO = Path(__file__).resolve().parents[1]
pytestmark = pytest.mark.filterwarnings("ignore::UserWarning")   # Pillow warns about damaged files


@pytest.fixture(scope="module")
def corpus(tmp_path_factory) -> list[CorpusFile]:
    return build_corpus(tmp_path_factory.mktemp("corpus"))


def _read(f: CorpusFile) -> LoadedImage | ImageReadError:
    try:
        return read_image(f.path)
    except ImageReadError as exc:
        return exc


def test_the_corpus_is_large_and_varied(corpus):
    assert len(corpus) >= 60
    kinds = {f.kind for f in corpus}
    for kind in ("truncated", "bit flip", "zero bytes", "wrong extension", "text", "tiny", "16-bit", "float",
                 "palette+transparency", "grey+alpha", "cmyk", "exif", "animated", "bomb"):
        assert kind in kinds
    exts = {f.path.suffix.lower() for f in corpus if f.kind in ("truncated", "bit flip")}
    assert {".png", ".jpg", ".tif", ".webp"} <= exts


def test_read_image_gives_an_image_or_one_clear_line(corpus):
    for f in corpus:
        got = _read(f)   # anything but ImageReadError escapes and fails the test
        if isinstance(got, ImageReadError):
            assert f.expect in ("error", "any"), f"{f.path.name}: {got}"
            text = str(got)
            assert text and "\n" not in text and len(text) < 400, f"{f.path.name}: {text!r}"
            assert f.path.name in text, f"{f.path.name}: the message should name the file: {text}"
            if f.error:
                assert f.error in text, f"{f.path.name}: {text}"
            continue
        assert f.expect in ("ok", "any"), f"{f.path.name} should have been refused, got {got.width}x{got.height}"
        rgb = got.rgb
        assert rgb.ndim == 3 and rgb.shape[2] == 3 and rgb.flags.c_contiguous, f.path.name
        assert rgb.dtype == (np.uint16 if got.bit_depth == 16 else np.uint8), f.path.name
        if got.alpha is not None:
            assert got.alpha.shape == rgb.shape[:2] and got.alpha.dtype == rgb.dtype, f.path.name
        if got.is_grey:
            assert np.array_equal(rgb[..., 0], rgb[..., 1]) and np.array_equal(rgb[..., 1], rgb[..., 2])
        if f.size is not None:
            assert (got.width, got.height) == f.size, f.path.name
        if f.bit_depth is not None:
            assert got.bit_depth == f.bit_depth, f.path.name
        if f.alpha is not None:
            assert (got.alpha is not None) == f.alpha, f.path.name
        if f.grey is not None:
            assert got.is_grey == f.grey, f.path.name
        if f.note is not None:
            assert any(f.note in n for n in got.notes), f"{f.path.name}: notes {got.notes}"


def test_every_exif_orientation_shows_the_image_upright(corpus):
    cases = [f for f in corpus if f.upright is not None]
    assert len(cases) >= 9       # 1..8 on JPEG, 6 on PNG
    for f in cases:
        got = read_image(f.path)
        assert got.rgb.shape == f.upright.shape, f.path.name
        error = np.abs(got.rgb.astype(np.int16) - f.upright.astype(np.int16)).mean()
        assert error < 12, f"{f.path.name}: mean error {error:.1f} against the upright image"
    for f in corpus:
        if f.path.name.startswith("exif_orientation_bad_"):
            assert not any(" applied" in n for n in read_image(f.path).notes), f.path.name


def test_sixteen_bit_and_float_files_keep_their_values(corpus):
    by_name = {f.path.name: f for f in corpus}
    rgb16 = read_image(by_name["rgb16.png"].path).rgb
    assert rgb16.dtype == np.uint16 and np.any(rgb16 % 257 != 0)   # not widened from 8 bits
    assert np.array_equal(rgb16, read_image(by_name["rgb16.tif"].path).rgb)
    flt = read_image(by_name["float_rgb.tif"].path).rgb.astype(np.float64) / 65535
    plain = read_image(by_name["plain.png"].path).rgb.astype(np.float64) / 255
    assert np.abs(flt - plain).max() < 1e-4


def _cli_line(capsys, argv) -> tuple[int, str, str]:
    code = main(argv)
    out, err = capsys.readouterr()
    return code, out, err


def _assert_clean(name: str, command: str, code: int, err: str) -> None:
    assert "Traceback" not in err, f"{command} {name}: {err}"
    assert code in (0, 2), f"{command} {name}: exit {code}: {err}"
    if code == 2:
        errors = [line for line in err.splitlines() if line.startswith("srviewer: error:")]
        assert len(errors) == 1, f"{command} {name}: {err!r}"
        assert len(errors[0]) < 600, f"{command} {name}: {errors[0]!r}"


def test_cli_upscale_and_compare_never_crash(corpus, tmp_path, capsys, monkeypatch):
    monkeypatch.delenv("SRVIEWER_DEBUG", raising=False)
    monkeypatch.setenv("SRVIEWER_WEIGHTS", str(tmp_path / "no-weights"))
    for i, f in enumerate(corpus):
        expected = _read(f)
        out = tmp_path / f"out_{i}.png"
        code, stdout, err = _cli_line(capsys, ["upscale", str(f.path), "--method", "bicubic", "-o", str(out)])
        _assert_clean(f.path.name, "upscale", code, err)
        if f.path.is_dir():   # upscale takes folders: this one is empty
            assert code == 2 and "folder has no files to upscale" in err, f"upscale {f.path.name}: {err}"
        elif isinstance(expected, ImageReadError):
            assert code == 2 and str(expected) in err, f"upscale {f.path.name}: {err}"
        else:
            assert code == 0, f"upscale {f.path.name}: {err}"
            result = read_image(out)
            assert (result.width, result.height) == (4 * expected.width, 4 * expected.height)
            assert result.bit_depth == expected.bit_depth, f.path.name
            assert (result.alpha is not None) == (expected.alpha is not None), f.path.name
        code, stdout, err = _cli_line(capsys, ["compare", str(f.path), "--methods", "bicubic"])
        _assert_clean(f.path.name, "compare", code, err)
        if isinstance(expected, ImageReadError):
            assert code == 2, f.path.name
        elif min(expected.width, expected.height) >= 16:
            assert code == 0 and "bicubic" in stdout, f"compare {f.path.name}: {err}"
        else:   # too small to make an LR from and still score it: one line naming blind mode
            assert code == 2 and "blind" in err, f"compare {f.path.name}: {err}"
            code, stdout, err = _cli_line(capsys, ["compare", str(f.path), "--blind", "--methods", "bicubic"])
            _assert_clean(f.path.name, "compare --blind", code, err)
            assert code == 0, f"compare --blind {f.path.name}: {err}"


REPRESENTATIVE = ("bomb_zeros_11000x10000.png", "bomb_header_60000x60000.tif", "truncated_50.png",
                  "bitflip_8_2.jpg", "cmyk.jpg", "rgba16.png", "animated.webp", "empty.png")


def test_cli_in_a_child_process_neither_hangs_nor_dies(corpus, tmp_path):
    by_name = {f.path.name: f for f in corpus}
    env = dict(os.environ, SRVIEWER_WEIGHTS=str(tmp_path / "no-weights"), PYTHONPATH=str(REPO))
    env.pop("SRVIEWER_DEBUG", None)
    procs = []
    for i, name in enumerate(REPRESENTATIVE):   # started together: 2 cores, ~1 s of imports each
        f = by_name[name]
        argv = ["upscale", str(f.path), "--method", "bicubic", "-o", str(tmp_path / f"child_{i}.png")] if i % 2 \
            else ["compare", str(f.path), "--methods", "bicubic"]
        procs.append((name, argv, subprocess.Popen([sys.executable, "-m", "srviewer", *argv], cwd=tmp_path, env=env,
                                                   stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)))
    for name, argv, proc in procs:
        try:
            _, err = proc.communicate(timeout=90)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.communicate()
            pytest.fail(f"srviewer {argv[0]} {name} hung (killed after 90 s)")
        assert proc.returncode >= 0, f"{argv[0]} {name} died of signal {-proc.returncode}"
        _assert_clean(name, argv[0], proc.returncode, err)
        assert (proc.returncode == 0) == (by_name[name].expect == "ok"), f"{argv[0]} {name}: {err}"


GUI_SAMPLE = ("plain.png", "empty.jpg", "text.png", "truncated_50.jpg", "bitflip_64_3.png", "bomb_header_60000x60000.png",
              "bomb_zeros_11000x10000.png", "folder.png", "dangling.png", "jpeg_named.png", "tiny_1x1.png",
              "tiny_4x7.png", "tiny_1x100000.png", "cmyk.jpg", "rgba16.png", "float_grey_nan.tif",
              "palette_transparent.png", "grey_alpha.png", "animated.gif", "exif_orientation_6.jpg")


def test_the_window_opens_a_sample_of_the_corpus(corpus, qtbot, tmp_path):
    from PySide6.QtCore import QSettings

    from srviewer.core.methods import BicubicMethod, MethodRegistry
    from srviewer.gui.app import configure_pyqtgraph
    from srviewer.gui.main_window import MainWindow
    from srviewer.gui.settings import WindowSettings

    configure_pyqtgraph()
    registry = MethodRegistry()
    registry.register(BicubicMethod("matlab"))
    settings = WindowSettings(QSettings(str(tmp_path / "settings.ini"), QSettings.IniFormat))
    win = MainWindow(registry, settings=settings, show_dialogs=False)
    qtbot.addWidget(win)
    win.compare.refresh_methods(["bicubic"])
    win.show()
    by_name = {f.path.name: f for f in corpus}
    for name in GUI_SAMPLE:
        f = by_name[name]
        expected = _read(f)
        win.last_error = ""
        controls = win.compare.controls
        controls.select(controls.mode, "reference")   # a tiny image switches the tab to blind mode
        opened = win.open_path(str(f.path))
        assert opened == (not isinstance(expected, ImageReadError)), name
        if opened:
            assert f.path.name in win.windowTitle()
            tab = win.compare
            qtbot.waitUntil(lambda: "bicubic" in tab.session.results or "bicubic" in tab.session.failed or bool(win.last_error),
                            timeout=30000)
            assert "bicubic" in tab.session.results, f"{name}: {win.last_error or tab.session.failed}"
            lr_h, lr_w = tab.session.prepared.lr.shape[:2]
            assert tab.session.results["bicubic"].sr.shape[:2] == (lr_h * 4, lr_w * 4), name
        else:
            assert win.last_error == str(expected) and "\n" not in win.last_error
        assert win.isVisible()
    win.compare.runner.wait_all(5000)
