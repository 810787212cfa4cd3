"""`--degrade` for compare and bench, `bench --sweep`: the chain reaches the LR, the exports and the JSON."""

from __future__ import annotations

import csv
import json

import numpy as np
import pytest
from PIL import Image

from conftest import SET5, needs_set5
from srviewer.cli import main
from srviewer.core import degrade as dg
from srviewer.core.images import read_image, write_image
from srviewer.core.session import ComparisonSession
from srviewer.core.sweep import parse_sweep
from srviewer.errors import DegradationError


def test_compare_degrade_makes_that_lr_and_records_the_chain(tmp_path, smooth_rgb, capsys, empty_weights):
    src, out = tmp_path / "hr.png", tmp_path / "out"
    hr = np.tile(smooth_rgb, (2, 2, 1))
    write_image(src, hr)
    chain = "blur=1,kernel=bilinear,noise=4,jpeg=70,seed=5"
    assert main(["compare", str(src), "--methods", "bicubic", "--degrade", chain, "-o", str(out)]) == 0
    assert f"LR: {chain}" in capsys.readouterr().out
    expected = dg.degrade(hr, dg.parse_chain(chain))
    assert np.array_equal(read_image(out / "lr.png").rgb, expected)
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["degradation"]["chain"] == chain and manifest["degradation"]["seed"] == 5
    with open(out / "metrics.csv", newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert rows[0]["degradation"] == chain


def test_compare_json_names_the_chain_and_the_kernel_comes_from_kernel(tmp_path, smooth_rgb, capsys, empty_weights):
    src = tmp_path / "hr.png"
    write_image(src, smooth_rgb)
    assert main(["compare", str(src), "--methods", "bicubic", "--kernel", "opencv", "--degrade", "noise=3", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["degradation"] == "kernel=opencv,noise=3,seed=0"


@pytest.mark.parametrize("args, words", [
    (["--degrade", "noise=-3"], "noise=-3"),
    (["--degrade", "sharpen=1"], "sharpen"),
])
def test_bad_degrade_is_one_line_exit_2(tmp_path, smooth_rgb, capsys, empty_weights, args, words):
    src = tmp_path / "hr.png"
    write_image(src, smooth_rgb)
    assert main(["compare", str(src), "--methods", "bicubic", *args]) == 2
    err = capsys.readouterr().err.strip()
    assert words in err and len(err.splitlines()) == 1


def test_bench_refuses_lr_dir_with_degrade_and_bad_sweeps(tmp_path, smooth_rgb, capsys, empty_weights):
    write_image(tmp_path / "HR" / "a.png", smooth_rgb)
    for extra, words in ((["--lr-dir", str(tmp_path), "--degrade", "noise=2"], "--lr-dir"),
                         (["--sweep", "kernel=matlab,area"], "KEY=V1"), (["--sweep", "noise=5"], "two values"),
                         (["--sweep", "noise=0,300"], "noise=300"), (["--out", str(tmp_path / "o")], "--sweep")):
        assert main(["bench", str(tmp_path / "HR"), "--methods", "bicubic", *extra]) == 2
        err = capsys.readouterr().err.strip()
        assert words in err and len(err.splitlines()) == 1, (extra, err)


def test_parse_sweep_keeps_the_rest_of_the_chain():
    sweep = parse_sweep("jpeg=90,60,30", dg.parse_chain("blur=1,noise=2,seed=3"))
    assert sweep.key == "jpeg" and sweep.values == [90, 60, 30]
    assert [str(c) for c in sweep.chains] == [f"blur=1,kernel=matlab,noise=2,jpeg={q},seed=3" for q in (90, 60, 30)]
    with pytest.raises(DegradationError):
        parse_sweep("noise=0,x", dg.CLEAN)


def test_session_preview_lr_is_the_lr_the_run_sees(smooth_rgb, registry):
    from srviewer.core.images import from_array

    session = ComparisonSession(registry)
    seen = []
    session.events.degradation_changed.connect(seen.append)
    session.set_image(from_array(np.tile(smooth_rgb, (2, 2, 1))))
    chain = dg.parse_chain("blur=0.8,noise=6,seed=2")
    session.set_degradation(chain)
    assert seen == [chain]
    preview = session.preview_lr()
    session.set_methods(["bicubic"])
    finished = session.run()
    assert np.array_equal(preview, session.prepared.lr) and finished.results["bicubic"].scores is not None
    assert session.prepared.degradation == str(chain)
    session.set_mode("blind")
    assert session.preview_lr() is None


@needs_set5
def test_sweep_on_set5_starts_at_the_plain_bench_and_falls_with_noise(tmp_path, capsys, empty_weights):
    assert main(["bench", str(SET5 / "HR"), "--methods", "bicubic", "--json"]) == 0
    plain = json.loads(capsys.readouterr().out)["methods"]["bicubic"]
    out = tmp_path / "sweep"
    assert main(["bench", str(SET5 / "HR"), "--methods", "bicubic", "--sweep", "noise=0,5,10,20",
                 "--json", "--out", str(out)]) == 0
    document = json.loads(capsys.readouterr().out)
    assert set(document) == {"sweep"} and set(document["sweep"]) == {"key", "values", "methods"}
    sweep = document["sweep"]
    assert sweep["key"] == "noise" and sweep["values"] == [0, 5, 10, 20]
    bicubic = sweep["methods"]["bicubic"]
    assert set(bicubic) == {"psnr_y", "ssim_y", "sharpness"}
    for key in ("psnr_y", "ssim_y", "sharpness"):
        assert bicubic[key][0] == pytest.approx(plain[key], abs=1e-9)       # at 0: the plain bench
    assert all(a > b for a, b in zip(bicubic["psnr_y"], bicubic["psnr_y"][1:]))   # falls with the noise
    assert all(a > b for a, b in zip(bicubic["ssim_y"], bicubic["ssim_y"][1:]))
    with open(out / "sweep.csv", newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert len(rows) == 4 and rows[1]["chain"] == "kernel=matlab,noise=5,seed=0"
    assert float(rows[1]["psnr_y"]) == pytest.approx(bicubic["psnr_y"][1], abs=1e-5)
    plot = np.asarray(Image.open(out / "sweep.png").convert("RGB"))
    assert plot.shape[0] > 200 and plot.shape[1] > 600 and _pixels(plot, BLUE) > 200


BLUE, RED = (31, 119, 180), (214, 39, 40)   # the first two methods' colours (core.figure)


def _pixels(plot, colour) -> int:
    return int((np.abs(plot.astype(int) - np.array(colour)).sum(-1) == 0).sum())


def test_sweep_plot_draws_one_line_per_method(tmp_path, smooth_rgb, registry):
    from srviewer.core.sweep import run_sweep, sweep_plot

    write_image(tmp_path / "a.png", np.tile(smooth_rgb, (2, 2, 1)))
    result = run_sweep(parse_sweep("jpeg=90,50,20", dg.CLEAN), tmp_path, ["bicubic", "bicubic_cv"], registry)
    assert [len(result.methods[n]["psnr_y"]) for n in ("bicubic", "bicubic_cv")] == [3, 3]
    plot = sweep_plot(result)
    assert _pixels(plot, BLUE) > 100 and _pixels(plot, RED) > 100
    only_one = sweep_plot(type(result)(result.key, result.values, result.chains, {"bicubic": result.methods["bicubic"]}))
    assert _pixels(only_one, RED) == 0


def test_sweep_on_one_image_equals_the_bench_of_a_folder_holding_it(tmp_path, smooth_rgb, registry):
    from srviewer.core.sweep import run_sweep, sweep_image

    hr = np.tile(smooth_rgb, (2, 2, 1))
    write_image(tmp_path / "a.png", hr)
    sweep = parse_sweep("noise=0,8", dg.parse_chain("blur=0.6"))
    one = sweep_image(sweep, hr, ["bicubic", "bicubic_cv"], registry)
    folder = run_sweep(sweep, tmp_path, ["bicubic", "bicubic_cv"], registry)
    for name in ("bicubic", "bicubic_cv"):
        for key in ("psnr_y", "ssim_y", "sharpness"):
            assert one.methods[name][key] == pytest.approx(folder.methods[name][key], abs=1e-9)
