"""`srviewer upscale FOLDER --method NAME -o OUTDIR`: skips and names bad files, keeps finished
outputs (resume), overwrites only with --overwrite."""

import numpy as np
import pytest

from srviewer.cli import main
from srviewer.core import methods
from srviewer.core.conventions import upscale_bicubic
from srviewer.core.images import from_float, read_image, to_float, write_image


@pytest.fixture
def folder(tmp_path, smooth_rgb):
    src = tmp_path / "photos"
    src.mkdir()
    write_image(src / "a.png", smooth_rgb)
    write_image(src / "b.png", smooth_rgb[::-1], alpha=np.full(smooth_rgb.shape[:2], 200, np.uint8))
    write_image(src / "deep.tif", smooth_rgb.astype(np.uint16) * 257)
    (src / "notes.txt").write_text("not an image")
    (src / "cut.png").write_bytes((src / "a.png").read_bytes()[:300])
    (src / ".hidden.png").write_bytes(b"ignored")
    return src


def _expected(rgb, bit_depth=8):
    return from_float(np.clip(upscale_bicubic(to_float(rgb), 4, "matlab"), 0, 1), bit_depth)


def test_a_folder_is_upscaled_and_the_unreadable_files_are_named(folder, tmp_path, capsys, smooth_rgb,
                                                                  empty_weights):
    out = tmp_path / "big"
    assert main(["upscale", str(folder), "--method", "bicubic", "-o", str(out)]) == 2   # some files failed
    captured = capsys.readouterr()
    assert sorted(p.name for p in out.iterdir()) == ["a_x4_bicubic.png", "b_x4_bicubic.png", "deep_x4_bicubic.png"]
    a = read_image(out / "a_x4_bicubic.png")
    np.testing.assert_array_equal(a.rgb, _expected(smooth_rgb))
    b = read_image(out / "b_x4_bicubic.png")
    assert b.alpha is not None and b.alpha.shape == (192, 256) and np.all(b.alpha == 200)
    deep = read_image(out / "deep_x4_bicubic.png")
    assert deep.bit_depth == 16
    np.testing.assert_array_equal(deep.rgb, _expected(smooth_rgb.astype(np.uint16) * 257, 16))
    err = captured.err.splitlines()
    assert any(line.startswith("[3/5] cut.png: skipped:") for line in err)
    assert any(line.startswith("[5/5] notes.txt: skipped:") for line in err)
    assert not any(".hidden" in line for line in err)
    assert captured.out.strip() == (f"3 upscaled, 0 already done, 2 skipped into {out} "
                                    "(could not upscale: cut.png, notes.txt)")


def test_a_second_run_keeps_finished_outputs_and_overwrite_redoes_them(folder, tmp_path, capsys, empty_weights):
    out = tmp_path / "big"
    main(["upscale", str(folder), "--method", "bicubic", "-o", str(out)])
    marker = b"finished earlier"
    (out / "a_x4_bicubic.png").write_bytes(marker)
    capsys.readouterr()
    main(["upscale", str(folder), "--method", "bicubic", "-o", str(out)])
    assert (out / "a_x4_bicubic.png").read_bytes() == marker
    assert capsys.readouterr().out.startswith("0 upscaled, 3 already done, 2 skipped")
    main(["upscale", str(folder), "--method", "bicubic", "-o", str(out), "--overwrite"])
    assert read_image(out / "a_x4_bicubic.png").width == 256
    assert capsys.readouterr().out.startswith("3 upscaled, 0 already done")


def test_an_interrupted_run_resumes_where_it_stopped(folder, tmp_path, capsys, monkeypatch, empty_weights):
    out = tmp_path / "big"
    real, seen = methods.upscale_image, []

    def interrupted_at_the_second(method, loaded, **kwargs):
        seen.append(loaded.path.name)
        if len(seen) == 2:
            raise KeyboardInterrupt
        return real(method, loaded, **kwargs)

    monkeypatch.setattr(methods, "upscale_image", interrupted_at_the_second)
    assert main(["upscale", str(folder), "--method", "bicubic", "-o", str(out)]) == 130
    assert [p.name for p in out.iterdir()] == ["a_x4_bicubic.png"]
    monkeypatch.setattr(methods, "upscale_image", lambda method, loaded, **kw: seen.append(loaded.path.name)
                        or real(method, loaded, **kw))
    seen.clear()
    assert main(["upscale", str(folder), "--method", "bicubic", "-o", str(out)]) == 2
    assert seen == ["b.png", "deep.tif"]   # a.png was done; cut.png and notes.txt fail before upscaling
    assert len(list(out.iterdir())) == 3


def test_same_stems_keep_their_extension_and_a_file_as_outdir_is_refused(tmp_path, smooth_rgb, capsys,
                                                                         empty_weights):
    src = tmp_path / "in"
    src.mkdir()
    write_image(src / "x.png", smooth_rgb)
    write_image(src / "x.jpg", smooth_rgb)
    out = tmp_path / "out"
    assert main(["upscale", str(src), "--method", "bicubic", "-o", str(out)]) == 0
    assert sorted(p.name for p in out.iterdir()) == ["x_jpg_x4_bicubic.png", "x_png_x4_bicubic.png"]
    (tmp_path / "file.png").write_bytes(b"")
    capsys.readouterr()
    assert main(["upscale", str(src), "--method", "bicubic", "-o", str(tmp_path / "file.png")]) == 2
    assert capsys.readouterr().err.count("\n") == 1
