"""The headless command line: upscale, compare --json, bench on Set5, exit codes and one-line errors."""

import json
import os
import subprocess
import sys

import numpy as np
import pytest

from conftest import REPO, SET5, needs_set5
from srviewer.cli import main
from srviewer.core.conventions import upscale_bicubic
from srviewer.core.images import read_image, write_image
from srviewer.core.metrics import score


def test_upscale_bicubic_writes_a_4x_image(tmp_path, smooth_rgb, capsys, empty_weights):
    src, out = tmp_path / "in.png", tmp_path / "out.png"
    write_image(src, smooth_rgb)
    assert main(["upscale", str(src), "--method", "bicubic", "-o", str(out)]) == 0
    result = read_image(out)
    assert result.rgb.shape == (4 * 48, 4 * 64, 3) and result.rgb.dtype == np.uint8
    expected = np.clip(upscale_bicubic(smooth_rgb.astype(np.float32) / 255, 4, "matlab"), 0, 1) * 255
    assert np.abs(result.rgb.astype(float) - expected).max() <= 1.0
    assert "256x192" in capsys.readouterr().out


def test_compare_json_prints_scores(tmp_path, smooth_rgb, capsys, empty_weights):
    src = tmp_path / "hr.png"
    write_image(src, smooth_rgb)
    assert main(["compare", str(src), "--methods", "bicubic", "--json"]) == 0
    report = json.loads(capsys.readouterr().out)         # stdout holds the JSON object only
    scores = report["results"]["bicubic"]["scores"]
    assert set(scores) == {"psnr_y", "ssim_y", "psnr_rgb", "ssim_rgb"}
    assert report["mode"] == "reference" and report["kernel"] == "matlab"
    # the same figure as scoring the bicubic upscale of the MATLAB-degraded image by hand
    from srviewer.core.conventions import downscale

    sr = upscale_bicubic(downscale(smooth_rgb, 4, "matlab"), 4, "matlab")
    assert scores["psnr_y"] == pytest.approx(score(sr, smooth_rgb, border=4)["psnr_y"], abs=0.05)
    assert 0 < scores["ssim_y"] < 1


def test_compare_with_out_dir_exports(tmp_path, smooth_rgb, capsys, empty_weights):
    src, out = tmp_path / "hr.png", tmp_path / "export"
    write_image(src, smooth_rgb)
    assert main(["compare", str(src), "--methods", "bicubic", "-o", str(out)]) == 0
    names = {p.name for p in out.iterdir()}
    assert {"lr.png", "hr.png", "bicubic.png", "metrics.csv", "manifest.json", "figure.png"} <= names
    assert "PSNR-Y" in capsys.readouterr().out


def _bench_json(capsys, *extra):
    rc = main(["bench", str(SET5 / "HR"), "--methods", "bicubic", "--json", *extra])
    assert rc == 0
    return json.loads(capsys.readouterr().out)["methods"]["bicubic"]


@needs_set5
def test_bench_set5_bicubic_matches_the_published_figure(capsys, empty_weights):
    given = _bench_json(capsys, "--lr-dir", str(SET5 / "LR_bicubic" / "X4"))
    own = _bench_json(capsys)                               # LR made by srviewer's MATLAB imresize
    for row in (given, own):
        assert row["n"] == 5
        assert row["psnr_y"] == pytest.approx(28.42, abs=0.03)
        assert row["ssim_y"] == pytest.approx(0.810, abs=0.003)


def test_text_file_named_png_is_one_line_exit_2(tmp_path, capsys, empty_weights):
    fake = tmp_path / "notes.png"
    fake.write_text("this is not a picture\n")
    assert main(["upscale", str(fake), "--method", "bicubic", "-o", str(tmp_path / "o.png")]) == 2
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1 and "notes.png" in err and "Traceback" not in err
    assert not (tmp_path / "o.png").exists()


def test_unknown_or_unavailable_method_is_one_line_exit_2(tmp_path, smooth_rgb, capsys, empty_weights):
    src = tmp_path / "in.png"
    write_image(src, smooth_rgb)
    assert main(["upscale", str(src), "--method", "nope", "-o", str(tmp_path / "o.png")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "nope" in err[0] and "bicubic" in err[0]   # names the known methods
    assert main(["upscale", str(src), "--method", "srgan", "-o", str(tmp_path / "o.png")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "srgan.weights.h5 not found" in err[0]
    assert not (tmp_path / "o.png").exists()


def test_bad_bench_folder_and_usage_errors_exit_2(tmp_path, capsys, empty_weights):
    assert main(["bench", str(tmp_path / "absent"), "--methods", "bicubic"]) == 2
    assert "is not a folder" in capsys.readouterr().err
    with pytest.raises(SystemExit) as exc:                  # argparse: bad choice
        main(["bench", str(tmp_path), "--kernel", "lanczos"])
    assert exc.value.code == 2


def test_python_m_srviewer_help_runs_in_a_subprocess():
    proc = subprocess.run([sys.executable, "-m", "srviewer", "--help"], cwd=REPO, capture_output=True,
                          text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    for command in ("upscale", "compare", "bench"):
        assert command in proc.stdout


def test_missing_image_is_one_line_exit_2(tmp_path, capsys, empty_weights):
    for command in (["upscale", "--method", "bicubic"], ["compare", "--methods", "bicubic"]):
        assert main([command[0], str(tmp_path / "absent.png"), *command[1:]]) == 2
        err = capsys.readouterr().err.strip().splitlines()
        assert len(err) == 1 and "absent.png" in err[0]


def test_compare_notes_an_unavailable_method_and_runs_the_others(tmp_path, smooth_rgb, capsys, empty_weights):
    src = tmp_path / "in.png"
    write_image(src, smooth_rgb)
    assert main(["compare", str(src), "--methods", "bicubic,srgan", "--json"]) == 0
    captured = capsys.readouterr()
    assert set(json.loads(captured.out)["results"]) == {"bicubic"}
    assert [line for line in captured.err.splitlines() if "srgan" in line][0].startswith("srviewer: skipping srgan")


def test_compare_crop_outside_the_image_is_one_line_exit_2(tmp_path, smooth_rgb, capsys, empty_weights):
    src = tmp_path / "in.png"
    write_image(src, smooth_rgb)
    assert main(["compare", str(src), "--methods", "bicubic", "--crop", "500,500,8,8"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "--crop" in err[0]


def test_python_m_srviewer_upscale_keeps_alpha_and_names_the_output(tmp_path, smooth_rgb, empty_weights):
    rgba = np.dstack([smooth_rgb[:16, :20], np.full((16, 20), 200, np.uint8)])
    src = tmp_path / "tiny.png"
    write_image(src, rgba[..., :3], rgba[..., 3])
    proc = subprocess.run([sys.executable, "-m", "srviewer", "upscale", str(src), "--method", "bicubic"],
                          cwd=REPO, capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert "bicubic" in proc.stderr            # the progress line
    out = read_image(tmp_path / "tiny_x4_bicubic.png")
    assert out.rgb.shape == (64, 80, 3) and out.alpha is not None and int(out.alpha.min()) == 200


def test_bad_output_name_fails_before_any_work(tmp_path, smooth_rgb, capsys, empty_weights, monkeypatch):
    src = tmp_path / "in.png"
    write_image(src, smooth_rgb)
    import srviewer.core.methods as methods

    monkeypatch.setattr(methods, "upscale_image", lambda *a, **k: pytest.fail("upscaled before checking -o"))
    for out in (tmp_path / "result.xyz", tmp_path):
        assert main(["upscale", str(src), "--method", "bicubic", "-o", str(out)]) == 2
        err = capsys.readouterr().err.strip().splitlines()
        assert len(err) == 1 and ("extension" in err[0] or "folder" in err[0])


@pytest.mark.parametrize("tile", ["0", "-5", "big"])
def test_tile_must_be_a_positive_number(tmp_path, tile, capsys):
    with pytest.raises(SystemExit) as exc:
        main(["upscale", str(tmp_path / "in.png"), "--tile", tile])
    assert exc.value.code == 2 and "--tile" in capsys.readouterr().err


def test_compare_out_onto_a_file_is_a_user_error(tmp_path, smooth_rgb, capsys, empty_weights):
    src, taken = tmp_path / "hr.png", tmp_path / "taken"
    write_image(src, smooth_rgb)
    taken.write_text("keep me")
    assert main(["compare", str(src), "--methods", "bicubic", "-o", str(taken)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "taken" in err[0] and "internal" not in err[0]
    assert taken.read_text() == "keep me"


def test_precision_mixed_reaches_the_learned_method(tmp_path, smooth_rgb, capsys):
    from srviewer.core import models
    from srviewer.core.atomic import atomic_write_json

    kwargs = {"num_filters": 8, "num_res_blocks": 1, "batch_norm": False}
    folder = tmp_path / "weights"
    folder.mkdir()
    models.build({"factory": "sr_resnet", "kwargs": kwargs}).save_weights(str(folder / "srresnet.weights.h5"))
    atomic_write_json(folder / "srresnet.json", {"factory": "sr_resnet", "kwargs": kwargs, "scale": 4,
                                                 "input": "lr", "label": "tiny", "format": 1})
    write_image(tmp_path / "in.png", smooth_rgb)
    outs = {}
    for precision in ("float32", "mixed"):
        out = tmp_path / f"{precision}.png"
        assert main(["upscale", str(tmp_path / "in.png"), "--method", "srresnet", "--weights-dir", str(folder),
                     "--precision", precision, "-o", str(out)]) == 0
        outs[precision] = read_image(out).rgb.astype(int)
    assert outs["mixed"].shape == outs["float32"].shape == (smooth_rgb.shape[0] * 4, smooth_rgb.shape[1] * 4, 3)
    diff = np.abs(outs["mixed"] - outs["float32"])
    assert 0 < diff.max() <= 12 and diff.mean() < 1.0       # 16-bit rounding: a few levels at most
    with pytest.raises(SystemExit):
        main(["upscale", str(tmp_path / "in.png"), "--precision", "half"])


def test_a_wrong_model_file_is_one_line_on_stderr_with_tensorflows_start_up_caught(tmp_path):
    """A fresh process imports TensorFlow for the model: its start-up lines (absl's notice, "Could
    not find cuda drivers" on a machine without a GPU) must not come before srviewer's one line."""
    import zipfile

    with zipfile.ZipFile(tmp_path / "cut.keras", "w") as archive:     # a zip, but no Keras model in it
        archive.writestr("notes.txt", "not a model")
    env = dict(os.environ, PYTHONPATH=str(REPO))
    env.pop("TF_CPP_MIN_LOG_LEVEL", None)
    proc = subprocess.run([sys.executable, "-m", "srviewer", "models", "inspect", str(tmp_path / "cut.keras")],
                          cwd=REPO, env=env, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 2
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("srviewer: error: cut.keras: "), lines
