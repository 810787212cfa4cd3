"""The SR trainer driven in-process (tests/test_train_sr.py drives it through the CLI).

Tiny generated images and tiny models: the SRResNet and SRGAN losses really fall; a stop then a
resume continues at the next step with the very same weights and optimizer state; the best
generator by validation PSNR is the one exported and it loads as a method file; the event log
survives a torn line; a stale STOP file does not stop a resumed run.
"""

import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from srviewer.errors import DataError, ModelFileError
from srviewer.train.events import read_events
from srviewer.train.sr_config import SRConfig


def make_images(folder: Path, n=6, size=(64, 80), seed=0) -> Path:
    """Smooth, structured RGB PNGs (sums of sinusoids): easy to learn, HWC uint8."""
    rng = np.random.default_rng(seed)
    sub = folder / "nested"
    sub.mkdir(parents=True, exist_ok=True)
    y, x = np.mgrid[0:size[0], 0:size[1]]
    for i in range(n):
        f, ph = rng.uniform(0.05, 0.3, 3), rng.uniform(0, 6, 3)
        img = np.stack([127 + 100 * np.sin(f[c] * x + ph[c]) * np.cos(f[(c + 1) % 3] * y) for c in range(3)], -1)
        Image.fromarray(img.clip(0, 255).astype(np.uint8)).save(sub / f"img{i}.png")
    return folder


@pytest.fixture
def tiny_data(tmp_path, monkeypatch):
    import srviewer.train.sr_data as sr_data

    monkeypatch.setattr(sr_data, "CACHE_DIR", tmp_path / "cache")
    return make_images(tmp_path / "data")


def tiny_cfg(data, **over) -> SRConfig:
    values = dict(kind="srresnet", data=[str(data)], val=None, steps=30, batch=4, patch=32, filters=8, blocks=1,
                  batch_norm=False, res_scale=1.0, bicubic_residual=False, lr=1e-3, loss="l1", log_every=1,
                  checkpoint_every=10, val_every=1000, xla="off", seed=3)
    values.update(over)
    return SRConfig.from_dict(values)


class StopAt:
    """A stop request that arrives after step `n` (stands in for SIGTERM / the STOP file)."""

    def __init__(self, trainer, n):
        self.trainer, self.n = trainer, n

    def check(self):
        return int(self.trainer.step.numpy()) >= self.n

    def clear_stale(self):
        return False


def losses(run_dir, key="loss"):
    return [e[key] for e in read_events(run_dir) if e["event"] == "train"]


def run(cfg, run_dir, resumed=False, stop_at=None, validator=None):
    from srviewer.train.sr_trainer import SRTrainer, StopFlag

    trainer = SRTrainer(cfg, run_dir, resumed=resumed)
    stop = StopAt(trainer, stop_at) if stop_at else StopFlag(run_dir)
    return trainer, trainer.run(stop, validator)


@pytest.mark.slow
def test_srresnet_loss_falls(tiny_data, tmp_path):
    cfg = tiny_cfg(tiny_data, steps=40)
    _, reason = run(cfg, tmp_path / "run")
    assert reason == "done"
    values = losses(tmp_path / "run")
    assert len(values) == 40 and all(np.isfinite(values))
    assert np.mean(values[-5:]) < 0.6 * np.mean(values[:5])


@pytest.mark.slow
def test_stop_then_resume_continues_with_identical_state(tiny_data, tmp_path):
    run_dir = tmp_path / "run"
    cfg = tiny_cfg(tiny_data, steps=20)
    first, reason = run(cfg, run_dir, stop_at=8)
    assert reason == "stopped"
    weights = [v.numpy().copy() for v in first.generator.weights]
    opt_vars = [v.numpy().copy() for v in first.g_opt.variables]
    events = read_events(run_dir)
    assert events[-1]["event"] == "finished" and events[-1]["reason"] == "stopped" and events[-1]["step"] == 8
    assert any(e["event"] == "checkpoint" and e["step"] == 8 for e in events)

    from srviewer.train.sr_trainer import SRTrainer

    second = SRTrainer(cfg, run_dir, resumed=True)
    assert int(second.step.numpy()) == 8
    assert int(second.g_opt.iterations.numpy()) == 8
    for a, b in zip(weights, second.generator.weights):
        np.testing.assert_array_equal(a, b.numpy())
    for a, b in zip(opt_vars, second.g_opt.variables):
        np.testing.assert_array_equal(a, b.numpy())
    from srviewer.train.sr_trainer import StopFlag

    assert second.run(StopFlag(run_dir)) == "done"
    events = read_events(run_dir)
    started = [i for i, e in enumerate(events) if e["event"] == "started"]
    assert [events[i]["resumed"] for i in started] == [False, True] and events[started[1]]["step"] == 8
    steps_after = [e["step"] for e in events[started[1]:] if e["event"] == "train"]
    assert steps_after == list(range(9, 21))
    assert int(second.g_opt.iterations.numpy()) == 20


@pytest.mark.slow
def test_best_export_loads_as_a_method_file(tiny_data, tmp_path):
    from srviewer.core.model_files import load_model_file
    from srviewer.train.sr_validate import Validator

    run_dir = tmp_path / "run"
    cfg = tiny_cfg(tiny_data, steps=12, val_every=6, bicubic_residual=True)
    validator = Validator(tiny_data, cfg.scale, cfg.kernel, "lr")
    trainer, _ = run(cfg, run_dir, validator=validator)
    vals = [e for e in read_events(run_dir) if e["event"] == "val"]
    assert [v["step"] for v in vals] == [6, 12]
    assert all(5 < v["psnr_y"] < 60 and 0 < v["ssim_y"] <= 1 for v in vals)
    best = json.loads((run_dir / "best.json").read_text())
    assert best["step"] == max(vals, key=lambda v: v["psnr_y"])["step"]
    assert best["factory"] == "sr_resnet" and best["input"] == "lr" and best["scale"] == 4
    samples = [e["path"] for e in read_events(run_dir) if e["event"] == "sample"]
    assert samples and all((run_dir / p).is_file() for p in samples)

    loaded = load_model_file(run_dir / "latest.weights.h5")
    assert loaded.scale == 4 and loaded.input_kind == "lr"
    x = np.random.default_rng(0).uniform(0, 1, (1, 8, 8, 3)).astype(np.float32)
    np.testing.assert_allclose(np.asarray(loaded.model(x)), np.asarray(trainer.generator(x)), atol=1e-6)
    assert load_model_file(run_dir / "best.weights.h5").label.startswith("SRResNet")


@pytest.mark.slow
def test_srgan_trains_from_an_srresnet_run(tiny_data, tmp_path):
    init_dir = tmp_path / "init"
    run(tiny_cfg(tiny_data, steps=5), init_dir)
    cfg = tiny_cfg(tiny_data, kind="srgan", init=str(init_dir), content_loss="l1", steps=15, lr=1e-3)
    trainer, reason = run(cfg, tmp_path / "gan")
    assert reason == "done"
    events = [e for e in read_events(tmp_path / "gan") if e["event"] == "train"]
    for key in ("loss", "content_loss", "adv_loss", "d_loss", "d_real", "d_fake"):
        assert all(np.isfinite(e[key]) for e in events), key
    content = [e["content_loss"] for e in events]
    assert np.mean(content[-5:]) < np.mean(content[:5])
    # both optimizers stepped once per step, and both are in the checkpoint
    assert int(trainer.g_opt.iterations.numpy()) == 15 and int(trainer.d_opt.iterations.numpy()) == 15


def test_srgan_init_must_match_the_generator(tiny_data, tmp_path):
    init_dir = tmp_path / "init"
    run(tiny_cfg(tiny_data, steps=1, checkpoint_every=1), init_dir)
    cfg = tiny_cfg(tiny_data, kind="srgan", init=str(init_dir), content_loss="l1", filters=16)
    from srviewer.train.sr_trainer import SRTrainer

    with pytest.raises(ModelFileError, match="filters|num_filters"):
        SRTrainer(cfg, tmp_path / "gan")


def test_no_images_is_a_data_error(tmp_path, monkeypatch):
    import srviewer.train.sr_data as sr_data

    monkeypatch.setattr(sr_data, "CACHE_DIR", tmp_path / "cache")
    (tmp_path / "empty").mkdir()
    (tmp_path / "empty" / "notes.txt").write_text("not an image")
    with pytest.raises(DataError, match="no images"):
        sr_data.load_pairs([tmp_path / "empty"])
    with pytest.raises(DataError, match="does not exist"):
        sr_data.load_pairs([tmp_path / "missing"])


def test_read_events_skips_a_torn_last_line_and_the_log_repairs_it(tmp_path):
    from srviewer.train.events import EventLog

    log = EventLog(tmp_path)
    log.emit("started", step=0, total_steps=5, kind="srresnet", resumed=False)
    log.emit("train", step=1, loss=np.float32(0.5), steps_per_s=float("nan"))
    with open(tmp_path / "events.jsonl", "a") as handle:
        handle.write('{"event": "train", "step": 2, "lo')        # a writer killed mid-line
    events = read_events(tmp_path)
    assert [e["event"] for e in events] == ["started", "train"]
    assert events[1]["loss"] == 0.5 and events[1]["steps_per_s"] is None and "time" in events[1]
    EventLog(tmp_path).emit("finished", step=1, reason="stopped")  # a resumed writer
    assert [e["event"] for e in read_events(tmp_path / "events.jsonl")] == ["started", "train", "finished"]


def test_stale_stop_file_is_cleared_but_a_new_one_is_honoured(tmp_path):
    import os
    import time

    from srviewer.train.sr_trainer import StopFlag

    stop_file = tmp_path / "STOP"
    stop_file.write_text("")
    old = time.time() - 60
    os.utime(stop_file, (old, old))
    flag = StopFlag(tmp_path)
    assert flag.clear_stale() and not stop_file.exists() and not flag.check()
    stop_file.write_text("")
    assert not flag.clear_stale() and flag.check()


def test_resume_keeps_the_architecture_and_logs_its_first_step(tiny_data, tmp_path):
    from srviewer.cli import main

    run_dir = tmp_path / "run"
    flags = ["--data", str(tiny_data), "--val", "none", "--batch", "2", "--patch", "16", "--filters", "4",
             "--blocks", "1", "--no-batch-norm", "--xla", "off", "--log-every", "10", "--checkpoint-every", "5"]
    assert main(["train", "srresnet", "--steps", "5", "--out", str(run_dir), *flags]) == 0
    assert main(["train", "srresnet", "--resume", str(run_dir), "--steps", "20", "--filters", "8"]) == 2
    assert main(["train", "srresnet", "--resume", str(run_dir), "--steps", "12"]) == 0
    events = read_events(run_dir)
    second = [i for i, e in enumerate(events) if e["event"] == "started"][-1]
    # the first step of every session is logged (here 6), then every 10 and the last
    assert [e["step"] for e in events[second:] if e["event"] == "train"] == [6, 10, 12]
    assert all(e["total_steps"] == 12 and e["eta_s"] is not None for e in events[second:] if e["event"] == "train")
    assert json.loads((run_dir / "config.json").read_text())["val"] is None
    assert "step 12/12" in (run_dir / "log.txt").read_text()
