"""The augmentation experiment end to end on a generated folder with the tiny model."""

import argparse
import json
import os
import signal

import numpy as np
import pytest
from PIL import Image

from srviewer.core.cancel import CancelToken
from srviewer.errors import SrviewerError
from srviewer.train import augment, augment_cli
from srviewer.train.events import read_events

COLOURS = [(200, 50, 50), (50, 50, 200), (50, 190, 50)]


@pytest.fixture(scope="module")
def colour_folder(tmp_path_factory):
    """3 classes of noisy flat-colour 24x24 images, 14 each: learnable in a few dozen steps."""
    root = tmp_path_factory.mktemp("colours")
    rng = np.random.default_rng(0)
    for c, colour in enumerate(COLOURS):
        (root / f"class{c}").mkdir()
        for i in range(14):
            img = np.clip(np.array(colour) + rng.normal(0, 40, (24, 24, 3)), 0, 255).astype(np.uint8)
            Image.fromarray(img).save(root / f"class{c}" / f"{i}.png")
    return root


def _config(data, out, **kw):
    values = dict(model="tiny", size=24, epochs=2, batch=6, lr=5e-3, variants=["none", "cutmix"], log_every=2)
    values.update(kw)
    return augment.AugmentConfig(data=str(data), out=str(out), **values)


class _StopAfter(CancelToken):
    """Cancelled after `n` looks (the engine looks once per batch)."""

    def __init__(self, n):
        super().__init__()
        self.looks = n

    @property
    def cancelled(self):
        self.looks -= 1
        if self.looks < 0:
            self.cancel()
        return super().cancelled


def test_two_variants_two_epochs_lower_the_loss_and_write_the_run_folder(colour_folder, tmp_path):
    out = tmp_path / "run"
    result = augment.run_experiment(_config(colour_folder, out), log_stream=None)
    assert result["reason"] == "done"
    events = read_events(out)
    assert events[0]["event"] == "started" and events[0]["pretrained"] is False
    assert events[-1]["event"] == "finished" and events[-1]["reason"] == "done"
    epochs = [e for e in events if e["event"] == "epoch"]
    assert [(e["variant"], e["epoch"]) for e in epochs] == [("none", 1), ("none", 2), ("cutmix", 1), ("cutmix", 2)]
    for e in epochs:
        assert {"loss", "accuracy", "val_loss", "val_accuracy"} <= set(e) and 0 <= e["val_accuracy"] <= 1
    none = [e for e in epochs if e["variant"] == "none"]
    assert none[1]["loss"] < none[0]["loss"] < np.log(3) * 1.5
    train = [e for e in events if e["event"] == "train"]
    assert train and all(e["variant"] in ("none", "cutmix") for e in train)
    # event steps count over the whole run, up to the started event's total_steps
    per_variant = 2 * events[0]["batches_per_epoch"]
    firsts = [next(e for e in train if e["variant"] == v) for v in ("none", "cutmix")]
    assert (firsts[0]["step"], firsts[1]["step"]) == (2, per_variant + 2)
    assert max(e.get("step", 0) for e in events) == events[0]["total_steps"] == 2 * per_variant
    results = json.loads((out / "results.json").read_text())
    assert json.loads((out / "config.json").read_text())["kind"] == "augment"
    assert set(results["variants"]) == {"none", "cutmix"} and results["pretrained"] is False
    assert results["variants"]["none"]["final"]["val_accuracy"] == none[1]["val_accuracy"]
    table = (out / "summary.md").read_text()
    assert "| none |" in table and "| cutmix |" in table
    with Image.open(out / "accuracy.png") as plot:
        assert plot.size == (800, 500)
    for name in ("config.json", "log.txt", "initial.weights.h5", "checkpoints/none/state.json"):
        assert (out / name).exists(), name


def test_cosine_schedule_falls_from_the_rate_to_zero_over_one_variants_steps():
    cfg = _config("unused", "unused", lr=2e-3, epochs=3, lr_schedule="cosine")
    schedule = augment.learning_rate(cfg, batches_per_epoch=10)
    assert [float(schedule(step)) for step in (0, 15, 30)] == pytest.approx([2e-3, 1e-3, 0.0], abs=1e-9)
    assert augment.learning_rate(_config("unused", "unused", lr=2e-3), 10) == 2e-3
    with pytest.raises(SrviewerError, match="cosine"):
        augment.learning_rate(_config("unused", "unused", lr=2e-3, lr_schedule="step"), 10)


@pytest.mark.parametrize("schedule", ["constant", "cosine"])
def test_stop_then_resume_continues_at_the_same_variant_epoch_and_batch(colour_folder, tmp_path, schedule):
    cfg = _config(colour_folder, tmp_path / "whole", variants=["none", "mixup"], lr=2e-3, lr_schedule=schedule)
    whole = augment.run_experiment(cfg, log_stream=None)
    per_epoch = read_events(tmp_path / "whole")[0]["batches_per_epoch"]  # 36 train images / 6 = 6
    stopped_dir = tmp_path / "stopped"
    stopped_cfg = _config(colour_folder, stopped_dir, variants=["none", "mixup"], lr=2e-3, lr_schedule=schedule)
    # one look per batch and one between epochs of a variant: none (6 + 1 + 6), mixup epoch 1 (6 + 1),
    # then the second batch of mixup's epoch 2 is the 22nd look
    r = augment.run_experiment(stopped_cfg, stop=_StopAfter(3 * per_epoch + 2 + 1), log_stream=None)
    assert r["reason"] == "stopped"
    events = read_events(stopped_dir)
    assert events[-1]["event"] == "finished" and events[-1]["reason"] == "stopped"
    assert (events[-1]["variant"], events[-1]["epoch"], events[-1]["batch"]) == ("mixup", 2, 2)
    n_before = len(events)
    r = augment.run_experiment(augment.load_run_config(stopped_dir), resume=True, log_stream=None)
    assert r["reason"] == "done"
    after = read_events(stopped_dir)[n_before:]
    assert after[0]["event"] == "started" and after[0]["resumed"] is True
    assert after[0]["step"] == 3 * per_epoch + 2  # none's 2 epochs, mixup's first, 2 batches
    first_train = next(e for e in after if e["event"] == "train")
    assert (first_train["variant"], first_train["epoch"], first_train["batch"]) == ("mixup", 2, 4)
    assert [(e["variant"], e["epoch"]) for e in after if e["event"] == "epoch"] == [("mixup", 2)]
    # the resumed run ends where the uninterrupted one did (same batches, weights and optimizer state,
    # and with a cosine schedule the same place on the curve: the step count is in the checkpoint)
    resumed = json.loads((stopped_dir / "results.json").read_text())["variants"]
    for variant in ("none", "mixup"):
        a, b = whole["results"]["variants"][variant]["final"], resumed[variant]["final"]
        for key in ("loss", "accuracy", "val_loss", "val_accuracy"):
            assert b[key] == pytest.approx(a[key], rel=1e-3, abs=1e-4), (variant, key)


def test_cli_sigterm_finishes_the_batch_checkpoints_and_exits_0(colour_folder, tmp_path, monkeypatch):
    out = tmp_path / "cli"
    parser = argparse.ArgumentParser()
    augment_cli.register(parser.add_subparsers())

    class Stdout:  # the engine echoes each event here; the third train event triggers one SIGTERM
        trains = 0

        def write(self, text):
            if '"event": "train"' in text:
                self.trains += 1
                if self.trains == 3:
                    os.kill(os.getpid(), signal.SIGTERM)

        def flush(self):
            pass

    monkeypatch.setattr("sys.stdout", Stdout())
    args = parser.parse_args(["augment", "--data", str(colour_folder), "--out", str(out), "--model", "tiny",
                              "--size", "24", "--epochs", "3", "--batch", "6", "--log-every", "1",
                              "--variants", "none"])
    assert args.func(args) == 0
    last = read_events(out)[-1]
    assert (last["event"], last["reason"], last["batch"]) == ("finished", "stopped", 3)
    assert json.loads((out / "checkpoints" / "none" / "state.json").read_text())["batch"] == 3
    with pytest.raises(SrviewerError, match="--batch cannot change"):
        augment.load_run_config(out, {"batch": 4, "epochs": 1})
    # a kill in the middle of the next checkpoint leaves a newer, unfinished generation behind
    ckpt_dir = out / "checkpoints" / "none"
    (ckpt_dir / "ckpt_000099.weights.h5").write_bytes(b"torn")
    (ckpt_dir / "ckpt_000099.optimizer.npz").write_bytes(b"torn")
    with open(out / "events.jsonl", "a") as handle:
        handle.write('{"event": "train", "varia')  # and a torn last event line
    args = parser.parse_args(["augment", "--resume", str(out), "--epochs", "1", "--batch", "6"])
    assert args.func(args) == 0
    assert read_events(out)[-1]["reason"] == "done"
    assert [e["epoch"] for e in read_events(out) if e["event"] == "epoch"] == [1]
    assert next(e for e in read_events(out) if e["event"] == "variant" and e["batch"] == 3)
    assert not (ckpt_dir / "ckpt_000099.weights.h5").exists()  # the next save cleared it


def test_offline_imagenet_says_so_and_trains_from_scratch(colour_folder, tmp_path, monkeypatch):
    import keras

    calls = []

    def fake_resnet50(include_top=False, weights=None, input_tensor=None, **kw):
        calls.append(weights)
        if weights == "imagenet":  # what keras raises offline, bare, after ~0.5 s
            raise Exception("URL fetch failure on https://storage.googleapis.com/...: None -- "
                            "[Errno -2] Name or service not known")
        x = keras.layers.Conv2D(8, 3, strides=4, activation="relu")(input_tensor)
        return keras.Model(input_tensor, x)

    monkeypatch.setattr(keras.applications, "ResNet50", fake_resnet50)
    out = tmp_path / "offline"
    cfg = _config(colour_folder, out, model="resnet50", weights="imagenet", epochs=1, variants=["none"])
    augment.run_experiment(cfg, log_stream=None)
    assert calls == ["imagenet", None]
    started = read_events(out)[0]
    assert started["pretrained"] is False and started["model"] == "resnet50"
    log = (out / "log.txt").read_text()
    assert "ImageNet weights could not be downloaded; training from scratch (weights=None)" in log
    assert "from scratch" in (out / "summary.md").read_text()


def test_a_used_run_folder_is_not_overwritten(colour_folder, tmp_path):
    out = tmp_path / "used"
    out.mkdir()
    (out / "events.jsonl").write_text("")
    with pytest.raises(SrviewerError, match="--resume"):
        augment.run_experiment(_config(colour_folder, out), log_stream=None)


def test_engine_modules_import_without_tensorflow_or_qt():
    import subprocess
    import sys

    code = ("import sys, srviewer.train.augment_cli, srviewer.train.augment, srviewer.train.augment_preview\n"
            "print(sorted({m.split('.')[0] for m in sys.modules} & {'tensorflow', 'keras', 'PySide6'}))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_test_time_augmentation_averages_the_image_and_its_mirror(colour_folder):
    source = augment.open_source(str(colour_folder), size=24)
    model, _ = augment.build_model("tiny", source.num_classes, 24, "none", log=lambda _: None)
    results = {}
    for tta in (False, True):
        trainer = augment._Trainer(_config(colour_folder, "/unused", tta=tta), source, model, lambda _: None)
        results[tta] = trainer.evaluate()
    losses, right, count = [], 0, 0
    for images, labels in source.val_batches(6):
        x = augment.preprocess(images)
        p = 0.5 * (model(x, training=False) + model(x[:, :, ::-1, :], training=False)).numpy()
        losses += list(-np.log(np.clip(p[np.arange(len(labels)), labels.numpy()], 1e-7, 1)))
        right, count = right + int((p.argmax(-1) == labels.numpy()).sum()), count + len(labels)
    assert results[True][0] == pytest.approx(np.mean(losses), rel=1e-4)
    assert results[True][1] == pytest.approx(right / count)
    assert results[True][0] != pytest.approx(results[False][0], rel=1e-6)  # the mirror did count


def test_all_four_variants_run_end_to_end_and_plot(colour_folder, tmp_path):
    out = tmp_path / "four"
    variants = ["none", "flip_brightness", "cutmix", "mixup"]
    result = augment.run_experiment(_config(colour_folder, out, epochs=1, variants=variants), log_stream=None)
    assert result["reason"] == "done"
    epochs = [e for e in read_events(out) if e["event"] == "epoch"]
    assert [e["variant"] for e in epochs] == variants
    results = json.loads((out / "results.json").read_text())
    assert set(results["variants"]) == set(variants)
    table = (out / "summary.md").read_text()
    assert all(f"| {v} |" in table for v in variants)
    with Image.open(out / "accuracy.png") as plot:
        colours = {c for _, c in plot.convert("RGB").getcolors(1 << 20)}
    assert len(colours) > 6  # four variants drawn in their own colours, not an empty frame
