"""Training on degraded patches: the spec, the sampler, a short run that learns and validates clean."""

import json

import numpy as np
import pytest

from srviewer.cli import main
from srviewer.core import degrade as dg
from srviewer.core.conventions import downscale
from srviewer.errors import DataError
from srviewer.train.degrade_spec import parse_spec
from srviewer.train.events import read_events
from srviewer.train.sr_data import PairSet, PatchSampler
from test_train_sr import data_dirs  # noqa: F401 - six 48x48 training and two validation images


def _pairs(rng, n=3, side=64):
    hrs = []
    for i in range(n):
        y, x = np.mgrid[0:side, 0:side]
        base = np.stack([np.sin(x / (3 + i)), np.cos(y / (4 + i)), np.sin((x + y) / 5)], -1)
        hrs.append(((base + 1) * 110 + rng.normal(0, 4, base.shape)).clip(0, 255).astype(np.uint8))
    return PairSet(hrs, [downscale(h, 4) for h in hrs], 4, "matlab", [f"i{i}" for i in range(n)])


def test_spec_fixed_ranges_and_choices():
    spec = parse_spec({"blur": [0.5, 2], "noise": [0, 10], "jpeg": [40, 90], "kernel": ["matlab", "area"]})
    chains = [spec.sample(np.random.default_rng(i)) for i in range(200)]
    assert all(0.5 <= c.blur <= 2 and 0 <= c.noise <= 10 and 40 <= c.jpeg <= 90 for c in chains)
    assert {c.kernel for c in chains} == {"matlab", "area"}
    assert len({c.seed for c in chains}) == 200 and len({c.jpeg for c in chains}) > 20
    assert spec.val == "clean" and spec.validation_chain(0) is None
    fixed = parse_spec("blur=1,noise=5,jpeg=60", kernel="opencv")
    chain = fixed.sample(np.random.default_rng(0))
    assert (chain.blur, chain.noise, chain.jpeg, chain.kernel) == (1.0, 5.0, 60, "opencv")
    assert parse_spec(None) is None and parse_spec({}) is None


@pytest.mark.parametrize("bad, words", [
    ({"noise": [10, 0]}, "noise"), ({"jpeg": [0, 90]}, "jpeg"), ({"kernel": ["matlab", "lanczos"]}, "kernel"),
    ({"sharpen": 1}, "sharpen"), ({"val": "noisy"}, "val"), ("noise=abc", "noise"), ({"blur": "x"}, "blur"),
])
def test_bad_specs_are_one_line_data_errors(bad, words):
    with pytest.raises(DataError) as info:
        parse_spec(bad)
    assert words in str(info.value) and "\n" not in str(info.value)


def test_sampler_degrades_each_patch_from_its_own_hr(rng):
    pairs = _pairs(rng)
    clean = PatchSampler(pairs, patch=32, batch=6, seed=3)
    spec = parse_spec({"noise": [20, 30], "kernel": "area"})
    noisy = PatchSampler(pairs, patch=32, batch=6, seed=3, degradation=spec)
    lr_c, hr_c = clean.batch_at(5)
    lr_n, hr_n = noisy.batch_at(5)
    assert np.array_equal(hr_c, hr_n)                      # the same patches are drawn
    assert lr_n.shape == lr_c.shape == (6, 8, 8, 3) and lr_n.dtype == np.float32
    area = (hr_n * 255).reshape(6, 8, 4, 8, 4, 3).mean(axis=(2, 4)) / 255   # the area kernel by hand
    residual = (lr_n - area) * 255
    assert 15 < residual.std() < 35                       # noise of sigma 20..30 on the area LR
    assert np.array_equal(noisy.batch_at(5)[0], lr_n)     # deterministic in (seed, step)
    assert not np.array_equal(noisy.batch_at(6)[0][0], lr_n[0])


def test_training_on_degraded_patches_lowers_the_loss_and_validates_clean(tmp_path, data_dirs):
    from srviewer.core.images import read_image
    from srviewer.train.sr_validate import Validator

    train, val = data_dirs
    config = tmp_path / "c.json"
    config.write_text(json.dumps({"degradation": {"blur": [0, 1.5], "noise": [0, 10], "jpeg": [50, 95]}}))
    run = tmp_path / "run"
    assert main(["train", "srcnn", "--config", str(config), "--data", str(train), "--val", str(val),
                 "--steps", "40", "--val-every", "40", "--checkpoint-every", "40", "--out", str(run),
                 "--batch", "4", "--patch", "24", "--n1", "8", "--n2", "4", "--xla", "off", "--log-every", "1",
                 "--lr", "0.003"]) == 0
    losses = [e["loss"] for e in read_events(run) if e["event"] == "train"]
    assert len(losses) == 40 and np.mean(losses[-5:]) < 0.5 * np.mean(losses[:5])
    assert json.loads((run / "config.json").read_text())["degradation"]["noise"] == [0, 10]
    assert "training LR degraded per patch" in (run / "log.txt").read_text()
    assert "validation clean" in (run / "log.txt").read_text()
    # validation keeps the clean protocol: the validator's LR is the plain MATLAB-kernel LR
    spec = parse_spec({"blur": [0, 1.5], "noise": [0, 10], "jpeg": [50, 95]})
    validator = Validator(val, 4, "matlab", "bicubic", degradation=spec)
    hr = read_image(val / "img_0.png").rgb
    assert np.array_equal(validator.items[0][2], downscale(hr, 4)) and validator.chains[0] == "kernel=matlab"
    asked = Validator(val, 4, "matlab", "bicubic", degradation=parse_spec({"noise": [5, 10], "val": "degraded"}))
    again = Validator(val, 4, "matlab", "bicubic", degradation=parse_spec({"noise": [5, 10], "val": "degraded"}))
    assert not np.array_equal(asked.items[0][2], downscale(hr, 4)) and "noise=" in asked.chains[0]
    assert np.array_equal(asked.items[0][2], again.items[0][2])   # the same degraded set at every validation
    assert np.array_equal(asked.items[0][2], dg.degrade(hr, dg.parse_chain(asked.chains[0])))


def test_bad_degradation_in_a_config_is_one_line_exit_2(tmp_path, data_dirs, capsys):
    train, _ = data_dirs
    config = tmp_path / "c.json"
    config.write_text(json.dumps({"degradation": {"noise": [10, 0]}}))
    assert main(["train", "srcnn", "--config", str(config), "--data", str(train), "--out", str(tmp_path / "r")]) == 2
    err = capsys.readouterr().err.strip()
    assert "degradation noise" in err and len(err.splitlines()) == 1
