"""The SR training engine on tiny data: it learns, checkpoints, stops, resumes and exports."""

import json
import os
import signal
import subprocess
import sys
import time
import types
from pathlib import Path

import numpy as np
import pytest

from srviewer.cli import main
from srviewer.core.images import write_image
from srviewer.core.library_noise import is_noise
from srviewer.train.events import read_events

TINY = ["--batch", "4", "--patch", "24", "--n1", "8", "--n2", "4", "--xla", "off", "--log-every", "1",
        "--lr", "0.003"]


@pytest.fixture
def data_dirs(tmp_path, rng):
    train, val = tmp_path / "train", tmp_path / "val"
    for folder, count in ((train, 6), (val, 2)):
        for i in range(count):
            y, x = np.mgrid[0:48, 0:48]
            base = np.stack([np.sin(x / (3 + i)) , np.cos(y / (4 + i)), np.sin((x + y) / 5)], -1)
            img = ((base + 1) * 110 + rng.normal(0, 6, base.shape)).clip(0, 255).astype(np.uint8)
            write_image(folder / f"img_{i}.png", img)
    return train, val


def _train_losses(run):
    return [e["loss"] for e in read_events(run) if e["event"] == "train"]


def test_srcnn_training_lowers_the_loss_and_exports_a_loadable_method(tmp_path, data_dirs):
    train, val = data_dirs
    run = tmp_path / "run"
    code = main(["train", "srcnn", "--data", str(train), "--val", str(val), "--steps", "40",
                 "--val-every", "20", "--checkpoint-every", "20", "--out", str(run), *TINY])
    assert code == 0
    losses = _train_losses(run)
    assert len(losses) == 40
    assert np.mean(losses[-5:]) < 0.5 * np.mean(losses[:5])
    events = read_events(run)
    assert [e["step"] for e in events if e["event"] == "val"] == [20, 40]
    assert events[-1]["event"] == "finished" and events[-1]["reason"] == "done"
    assert (run / "samples" / "step_000040.png").exists()
    sidecar = json.loads((run / "best.json").read_text())
    assert sidecar["factory"] == "srcnn" and sidecar["input"] == "bicubic"

    weights = tmp_path / "weights"
    assert main(["train", "export", str(run), "--name", "srcnn", "--weights-dir", str(weights)]) == 0
    card = (weights / "srcnn.md").read_text()
    assert "## Scores (val, x4" in card and "srviewer train srcnn" in card
    assert (weights / "srcnn_curve.png").exists()
    from srviewer.core.bench import bench
    from srviewer.core.methods import default_registry

    # the card's scores are the exported file's, measured by bench, bicubic beside it
    means = {r["method"]: r for r in bench(val, ["bicubic", "srcnn"], default_registry(weights)) if r["image"] == "mean"}
    for name, label in (("bicubic", "bicubic"), ("srcnn", "**srcnn (this file)**")):
        r = means[name]
        assert (f"| {label} | {r['psnr_y']:.2f} | {r['ssim_y']:.4f} | {r['psnr_rgb']:.2f} | "
                f"{r['ssim_rgb']:.4f} | {r['sharpness']:.3f} |") in card
    import re

    import srviewer

    shown = re.search(r"`srviewer bench (\S+) --methods bicubic,srcnn`", card).group(1)
    root = Path(srviewer.__file__).resolve().parent.parent       # as typed from the repository root
    assert (root / shown).resolve() == val.resolve()

    method = default_registry(weights_dir=weights).get("srcnn")
    assert method.availability()[0]
    lr = np.random.default_rng(0).random((10, 12, 3)).astype(np.float32)
    out = method.upscale(lr)
    assert out.shape == (40, 48, 3) and 0.0 <= out.min() and out.max() <= 1.0


def test_srresnet_resume_continues_the_step_and_the_optimizer(tmp_path, data_dirs):
    train, _ = data_dirs
    run = tmp_path / "run"
    flags = ["--data", str(train), "--filters", "8", "--blocks", "1", "--no-batch-norm", "--bicubic-residual",
             "--checkpoint-every", "5", "--loss", "l1", *TINY]
    assert main(["train", "srresnet", "--steps", "10", "--out", str(run), *flags]) == 0
    assert main(["train", "srresnet", "--resume", str(run), "--steps", "15"]) == 0
    starts = [e for e in read_events(run) if e["event"] == "started"]
    assert [s["step"] for s in starts] == [0, 10] and starts[1]["resumed"]
    steps = [e["step"] for e in read_events(run) if e["event"] == "train"]
    assert steps == list(range(1, 16))
    import tensorflow as tf

    reader = tf.train.load_checkpoint(str(run / "checkpoints"))
    names = {n for n, _ in tf.train.list_variables(str(run / "checkpoints"))}
    iterations = [n for n in names if "g_opt" in n and "iteration" in n]
    assert iterations and int(reader.get_tensor(iterations[0])) == 15
    assert int(reader.get_tensor("step/.ATTRIBUTES/VARIABLE_VALUE")) == 15


def _spawn(args):
    env = dict(os.environ, PYTHONUNBUFFERED="1")
    return subprocess.Popen([sys.executable, "-m", "srviewer", *args], stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE, env=env, text=True)


def _wait_for(run, predicate, timeout=120):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if predicate(read_events(run)):
            return True
        time.sleep(0.2)
    return False


def test_sigkill_then_resume_and_stop_file(tmp_path, data_dirs):
    train, _ = data_dirs
    run = tmp_path / "run"
    args = ["train", "srcnn", "--data", str(train), "--steps", "100000", "--checkpoint-every", "3",
            "--out", str(run), *TINY]
    proc = _spawn(args)
    try:
        assert _wait_for(run, lambda ev: any(e["event"] == "checkpoint" and e["step"] >= 6 for e in ev))
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait(30)
    saved = max(e["step"] for e in read_events(run) if e["event"] == "checkpoint")
    proc = _spawn(["train", "srcnn", "--resume", str(run)])
    try:
        assert _wait_for(run, lambda ev: sum(e["event"] == "started" for e in ev) == 2)
        start = [e for e in read_events(run) if e["event"] == "started"][-1]
        assert start["step"] >= saved and start["resumed"]
        assert _wait_for(run, lambda ev: ev[-1]["event"] == "train" and ev[-1]["step"] > start["step"] + 2)
        (run / "STOP").write_text("")
        code, err = proc.wait(60), proc.stderr.read()
        assert code == 0, err
    finally:
        if proc.poll() is None:
            proc.kill()
    noise = [line for line in err.splitlines() if is_noise(line)]   # TensorFlow's start-up lines are caught
    assert not noise, noise
    last = read_events(run)[-1]
    assert last["event"] == "finished" and last["reason"] == "stopped"
    assert not (run / "STOP").exists()
    ckpts = [e["step"] for e in read_events(run) if e["event"] == "checkpoint"]
    assert ckpts[-1] == last["step"]  # a checkpoint was written at the stop


def test_bad_settings_are_one_line_errors(tmp_path, data_dirs, capsys):
    train, _ = data_dirs
    assert main(["train", "srcnn", "--data", str(tmp_path / "nowhere"), "--out", str(tmp_path / "r")]) == 2
    assert "does not exist" in capsys.readouterr().err
    assert main(["train", "srgan", "--data", str(train), "--out", str(tmp_path / "g")]) == 2
    assert "--init" in capsys.readouterr().err
    assert main(["train", "srcnn", "--data", str(train), "--patch", "30", "--out", str(tmp_path / "p")]) == 2
    assert "multiple" in capsys.readouterr().err


def test_config_file_sets_the_run(tmp_path, data_dirs):
    train, _ = data_dirs
    cfg = tmp_path / "c.yaml"
    cfg.write_text(f"data: [{train}]\nsteps: 3\nbatch: 2\npatch: 24\nn1: 4\nn2: 4\nxla: 'off'\nlog_every: 1\n")
    run = tmp_path / "r"
    assert main(["train", "srcnn", "--config", str(cfg), "--out", str(run)]) == 0
    saved = json.loads((run / "config.json").read_text())
    assert saved["steps"] == 3 and saved["batch"] == 2 and saved["data"] == [str(train)]


def _tfds_run(tmp_path):
    return main(["train", "srcnn", "--data", "tfds:div2k/bicubic_x4", "--out", str(tmp_path / "t"), "--steps", "1"])


def test_tfds_not_installed_names_the_extra_and_the_folder_alternative(tmp_path, monkeypatch, capsys):
    monkeypatch.setitem(sys.modules, "tensorflow_datasets", None)      # import raises ImportError
    assert _tfds_run(tmp_path) == 2
    err = capsys.readouterr().err
    assert "not installed" in err and "srviewer[datasets]" in err and "--data FOLDER" in err
    assert "no network" not in err


def test_tfds_offline_fails_at_once_without_starting_a_download(tmp_path, monkeypatch, capsys):
    """The offline branch itself: tfds importable, the hub unreachable, nothing prepared locally."""
    from srviewer.train import net_probe

    loads = []
    fake = types.ModuleType("tensorflow_datasets")
    fake.core = types.SimpleNamespace(constants=types.SimpleNamespace(DATA_DIR=str(tmp_path / "tfds")))
    fake.load = lambda *a, **k: loads.append(a) or pytest.fail("tfds.load (minutes of retries offline) was called")
    monkeypatch.setitem(sys.modules, "tensorflow_datasets", fake)
    monkeypatch.setattr(net_probe, "TFDS_PROBE_URL", "http://127.0.0.1:9/")   # nothing listens: refused
    assert _tfds_run(tmp_path) == 2
    err = capsys.readouterr().err
    assert "tfds:div2k/bicubic_x4 cannot be downloaded (no network)" in err and "--data FOLDER" in err
    assert "not installed" not in err and loads == []


def test_kept_generators_let_export_pick_any_validation_step(tmp_path, data_dirs, capsys):
    from srviewer.train.sr_config import SRConfig

    assert SRConfig(kind="srgan").keeps_generators and not SRConfig(kind="srresnet").keeps_generators
    train, val = data_dirs
    run = tmp_path / "run"
    assert main(["train", "srcnn", "--data", str(train), "--val", str(val), "--steps", "10", "--val-every", "5",
                 "--checkpoint-every", "10", "--keep-generators", "--out", str(run), *TINY]) == 0
    kept = sorted(p.name for p in (run / "generators").iterdir())
    assert kept == ["step_000005.json", "step_000005.weights.h5", "step_000010.json", "step_000010.weights.h5"]

    weights = tmp_path / "weights"
    assert main(["train", "export", str(run), "--name", "srcnn", "--step", "5", "--weights-dir", str(weights)]) == 0
    assert json.loads((weights / "srcnn.json").read_text())["step"] == 5
    assert (weights / "srcnn.weights.h5").read_bytes() == (run / "generators" / "step_000005.weights.h5").read_bytes()
    assert "srviewer train export RUN --name srcnn --step 5`" in (weights / "srcnn.md").read_text()

    capsys.readouterr()
    assert main(["train", "export", str(run), "--name", "srcnn", "--step", "7", "--weights-dir", str(weights)]) == 2
    assert "kept no generator of step 7; kept: 5, 10" in capsys.readouterr().err
    assert json.loads((weights / "srcnn.json").read_text())["step"] == 5      # the previous export stays
    assert main(["train", "export", str(tmp_path / "nothere"), "--name", "srcnn", "--weights-dir", str(weights)]) == 2
    assert "nothere is not a training run folder" in capsys.readouterr().err


def test_export_can_interpolate_the_generator_with_a_file_of_the_same_network(tmp_path, data_dirs, capsys):
    import h5py

    train, val = data_dirs
    run = tmp_path / "run"
    assert main(["train", "srcnn", "--data", str(train), "--val", str(val), "--steps", "10", "--val-every", "5",
                 "--checkpoint-every", "10", "--keep-generators", "--out", str(run), *TINY]) == 0
    base_dir, out = tmp_path / "base", tmp_path / "weights"
    assert main(["train", "export", str(run), "--name", "srcnn", "--step", "5", "--weights-dir", str(base_dir)]) == 0
    base = base_dir / "srcnn.weights.h5"
    assert main(["train", "export", str(run), "--name", "srcnn", "--step", "10", "--weights-dir", str(out),
                 "--interpolate-with", str(base), "--alpha", "0.25"]) == 0

    def arrays(path):
        with h5py.File(path, "r") as f:
            found = {}
            f.visititems(lambda name, obj: found.__setitem__(name, obj[()]) if isinstance(obj, h5py.Dataset) else None)
            return found
    mixed, gan, start = arrays(out / "srcnn.weights.h5"), arrays(run / "generators" / "step_000010.weights.h5"), arrays(base)
    assert mixed.keys() == gan.keys() and len(mixed) >= 6          # 3 kernels + 3 biases
    for key in mixed:
        assert not np.allclose(gan[key], start[key])                 # the two steps differ, so the blend shows
        np.testing.assert_allclose(mixed[key], 0.25 * gan[key] + 0.75 * start[key], rtol=1e-6, atol=1e-7)
    sidecar = json.loads((out / "srcnn.json").read_text())
    assert sidecar["interpolation"]["alpha"] == 0.25 and sidecar["interpolation"]["with"] == "srcnn.weights.h5"
    assert "val_scores" not in sidecar            # those scored the run's generator, not the blend
    card = (out / "srcnn.md").read_text()
    assert "0.25 x this run's generator + 0.75 x `srcnn.weights.h5`'s" in card
    assert f"--step 10 --interpolate-with {base} --alpha 0.25`" in card
    assert "Validation during training scored the run's generator alone" in card
    assert main(["upscale", str(val / "img_0.png"), "--method", "srcnn", "--weights-dir", str(out),
                 "-o", str(tmp_path / "up.png")]) == 0           # the blend loads as a method

    before = (out / "srcnn.weights.h5").read_bytes()
    other = tmp_path / "other"                                   # another network: refused, nothing written
    assert main(["train", "srcnn", "--data", str(train), "--steps", "1", "--val", "none", "--out", str(other),
                 *TINY[:4], "--n1", "6", "--n2", "4", "--xla", "off"]) == 0
    assert main(["train", "export", str(other), "--name", "odd", "--which", "latest", "--weights-dir", str(tmp_path / "odd")]) == 0
    capsys.readouterr()
    assert main(["train", "export", str(run), "--name", "srcnn", "--step", "10", "--weights-dir", str(out),
                 "--interpolate-with", str(tmp_path / "odd" / "odd.weights.h5"), "--alpha", "0.5"]) == 2
    assert "needs the same architecture" in capsys.readouterr().err
    assert main(["train", "export", str(run), "--name", "srcnn", "--step", "10", "--weights-dir", str(out),
                 "--interpolate-with", str(tmp_path / "gone.weights.h5"), "--alpha", "0.5"]) == 2
    assert "gone.weights.h5: no such file" in capsys.readouterr().err
    for bad in (["--alpha", "0"], ["--alpha", "1.5"], []):
        assert main(["train", "export", str(run), "--name", "srcnn", "--step", "10", "--weights-dir", str(out),
                     "--interpolate-with", str(base), *bad]) == 2
    assert "needs both --interpolate-with FILE and --alpha A" in capsys.readouterr().err
    assert (out / "srcnn.weights.h5").read_bytes() == before


def test_one_validator_scores_each_model_it_is_given(data_dirs):
    from srviewer.core import models
    from srviewer.train.sr_validate import Validator

    _train, val = data_dirs
    validator = Validator(val, 4, "matlab", "bicubic")
    spec = {"factory": "srcnn", "kwargs": {"n1": 4, "n2": 2}}
    first, second = models.build(spec), models.build(spec)
    second.set_weights([w * 0 for w in second.get_weights()])    # outputs black
    rows_first, out_first = validator.score_each(first)
    rows_second, out_second = validator.score_each(second)
    assert all((o == 0).all() for o in out_second) and not all((o == 0).all() for o in out_first)
    assert rows_second != rows_first


def test_the_card_shows_about_a_dozen_validation_rows_ending_with_the_last_once(tmp_path):
    from srviewer.train.model_card import model_card

    config = {"kind": "srgan", "data": ["/d/T91"], "val": None, "kernel": "matlab", "scale": 4, "patch": 96,
              "batch": 8, "loss": "l1", "content_loss": "l1", "adv_weight": 1e-3, "lr": 1e-4,
              "lr_boundaries": [], "steps": 4000}
    sidecar = {"label": "SRGAN", "factory": "sr_resnet", "kwargs": {}, "step": 4000}
    for count in (5, 16, 37):
        events = [{"event": "val", "step": 250 * (i + 1), "psnr_y": 30 + i / 100, "ssim_y": 0.8} for i in range(count)]
        rows = [line for line in model_card("srgan", config, sidecar, events, tmp_path, "c.png").splitlines()
                if line.startswith("| ") and line.split("|")[1].strip().isdigit()]
        steps = [int(line.split("|")[1]) for line in rows]
        assert steps[-1] == 250 * count and len(steps) == len(set(steps)) and len(steps) <= 13
        assert steps == sorted(steps) and (count > 12 or len(steps) == count)


def test_the_srgan_card_names_its_adversarial_loss_and_extra_terms(tmp_path):
    from srviewer.train.model_card import model_card

    config = {"kind": "srgan", "data": ["/d/T91"], "val": None, "kernel": "matlab", "scale": 4, "patch": 96,
              "batch": 8, "loss": "l1", "content_loss": "l1", "adv_weight": 1e-3, "lr": 1e-4,
              "lr_boundaries": [], "steps": 10}
    sidecar = {"label": "SRGAN", "factory": "sr_resnet", "kwargs": {}, "step": 10}
    card = model_card("srgan", config, sidecar, [], tmp_path, "c.png")
    assert "- Loss: l1 content + 0.001 x adversarial (BCE, the paper's); Adam" in card
    card = model_card("srgan", {**config, "gan_loss": "ragan", "feature_matching": 0.01, "texture_weight": 10},
                      sidecar, [], tmp_path, "c.png")
    assert ("- Loss: l1 content + 0.001 x adversarial (relativistic average, ESRGAN's) + 0.01 x feature matching "
            "(L1 on the discriminator's features) + 10 x texture") in card
