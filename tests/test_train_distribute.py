"""Training over several devices (tf.distribute) with `--cpu-replicas 2`: the mirrored path really runs here.

TensorFlow fixes its devices when a process first touches them, so every 2-replica run is a fresh
subprocess; the 1-replica run that it resumes runs in this process.
"""

import json
import os
import shutil
import subprocess
import sys
import textwrap

import numpy as np
import pytest

from srviewer.cli import main
from srviewer.core.images import write_image
from srviewer.train.events import read_events

TINY = ["--batch", "4", "--patch", "24", "--filters", "8", "--blocks", "1", "--no-batch-norm", "--xla", "off",
        "--log-every", "1", "--lr", "0.003", "--val", "none"]
TIMEOUT = 600
GAN_STEPS = 16          # a mirrored SRGAN step costs about 2 s on 2 shared cores (the paper's discriminator)


def _env():
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(p for p in sys.path if p), TF_CPP_MIN_LOG_LEVEL="2",
               CUDA_VISIBLE_DEVICES="")
    env.pop("TF_CONFIG", None)
    return env


def _srviewer(*args, timeout=TIMEOUT):
    return subprocess.run([sys.executable, "-m", "srviewer", *args], env=_env(), capture_output=True,
                          text=True, timeout=timeout)


@pytest.fixture(scope="module")
def train_dir(tmp_path_factory):
    folder = tmp_path_factory.mktemp("train")
    rng = np.random.default_rng(0)
    for i in range(6):
        y, x = np.mgrid[0:48, 0:48]
        base = np.stack([np.sin(x / (3 + i)), np.cos(y / (4 + i)), np.sin((x + y) / 5)], -1)
        img = ((base + 1) * 110 + rng.normal(0, 6, base.shape)).clip(0, 255).astype(np.uint8)
        write_image(folder / f"img_{i}.png", img)
    return folder


def _train(run, name="loss"):
    return [e for e in read_events(run) if e["event"] == "train" and name in e]


@pytest.fixture(scope="module")
def resumed_on_two(tmp_path_factory, train_dir):
    """A 1-replica SRResNet run of 4 steps (its step-4 generator kept aside), resumed on 2 replicas to 40."""
    base = tmp_path_factory.mktemp("resume")
    run = base / "run"
    assert main(["train", "srresnet", "--data", str(train_dir), "--steps", "4", "--strategy", "none",
                 "--out", str(run), *TINY]) == 0
    for name in ("latest.weights.h5", "latest.json"):
        shutil.copy(run / name, base / name.replace("latest", "init"))
    done = _srviewer("train", "srresnet", "--resume", str(run), "--steps", "40", "--cpu-replicas", "2",
                     "--strategy", "mirrored")
    assert done.returncode == 0, done.stderr[-2000:]
    return run, base / "init.weights.h5"


def test_a_one_replica_checkpoint_resumes_on_two_replicas_at_the_next_step(resumed_on_two, capsys):
    run, _ = resumed_on_two
    starts = [e for e in read_events(run) if e["event"] == "started"]
    assert [(s["replicas"], s["resumed"], s["step"]) for s in starts] == [(1, False, 0), (2, True, 4)]
    assert starts[1]["strategy_class"] == "MirroredStrategy" and len(starts[1]["devices"]) == 2
    assert main(["train", "status", str(run)]) == 0
    assert "devices: MirroredStrategy: 2 replicas on CPU:0, CPU:1" in capsys.readouterr().out
    assert all("CPU" in d for d in starts[1]["devices"])
    steps = [e["step"] for e in _train(run)]
    assert steps == list(range(1, 41))                  # 5 follows 4: nothing repeated, nothing skipped
    # the optimizer's state came along: Adam's iteration count continued from the 1-replica run
    import tensorflow as tf

    reader = tf.train.load_checkpoint(str(run / "checkpoints"))
    iterations = [k for k in reader.get_variable_to_shape_map() if k.startswith("g_opt/") and "iterations" in k]
    assert iterations and int(reader.get_tensor(iterations[0])) == 40


def test_a_mirrored_srresnet_lowers_its_loss(resumed_on_two):
    run, _ = resumed_on_two
    losses = [e["loss"] for e in _train(run) if e["step"] > 4]     # the 2-replica part only
    assert len(losses) == 36
    assert np.mean(losses[-5:]) < 0.7 * np.mean(losses[:5])


def test_a_mirrored_srgan_lowers_its_loss(tmp_path, train_dir, resumed_on_two):
    _, init = resumed_on_two
    run = tmp_path / "gan"
    done = _srviewer("train", "srgan", "--data", str(train_dir), "--init", str(init), "--content-loss", "l1",
                     "--steps", str(GAN_STEPS), "--cpu-replicas", "2", "--out", str(run), *TINY)
    assert done.returncode == 0, done.stderr[-2000:]
    start = next(e for e in read_events(run) if e["event"] == "started")
    assert start["replicas"] == 2 and start["strategy"] == "auto"      # auto: mirrored over the 2 logical CPUs
    events = _train(run, "content_loss")
    assert len(events) == GAN_STEPS and all(np.isfinite(e["d_loss"]) for e in events)
    content = [e["content_loss"] for e in events]
    assert np.mean(content[-5:]) < 0.9 * np.mean(content[:5])       # here 0.85 by step 16 (0.80 by step 30)
    assert (run / "latest.weights.h5").exists() and json.loads((run / "latest.json").read_text())["step"] == GAN_STEPS


STEP_CHECK = textwrap.dedent("""
    import json, sys
    from pathlib import Path
    import numpy as np
    from srviewer.train import distribute
    distribute.configure_cpu_replicas(2)
    import tensorflow as tf
    from srviewer.train.sr_config import SRConfig
    from srviewer.train.sr_trainer import SRTrainer

    tmp, kinds = Path(sys.argv[1]), sys.argv[2:]
    def trainer(strategy, kind, name=None):
        cfg = SRConfig.from_dict(dict(kind=kind, data=["unused"], steps=1, batch=4, patch=24, filters=8, blocks=1,
                                      batch_norm=False, xla="off", strategy=strategy, lr=0.01,
                                      init=str(tmp / "seed" / "init.weights.h5"), content_loss="l1"))
        return SRTrainer(cfg, tmp / (name or f"{strategy}-{kind}"))
    rng = np.random.default_rng(1)
    lr, hr = rng.random((4, 6, 6, 3), np.float32), rng.random((4, 24, 24, 3), np.float32)
    seed = trainer("none", "srresnet", "seed-trainer")
    seed.run_dir = tmp / "seed"
    seed.run_dir.mkdir()
    seed.export_weights("init", 0, None)     # srgan: both start from the same --init generator
    results = {}
    for kind in kinds:
        single, mirrored = trainer("none", kind), trainer("mirrored", kind)
        mirrored.generator.set_weights(single.generator.get_weights())
        if kind == "srgan":
            mirrored.discriminator.set_weights(single.discriminator.get_weights())
        before = single.generator.get_weights()
        out = {"replicas": [single.replicas, mirrored.replicas]}
        for name, t in (("single", single), ("mirrored", mirrored)):
            losses = t.train_step(*next(iter(t.distribute(tf.data.Dataset.from_tensors((lr, hr))))))
            out[name + "_loss"] = float(losses["loss"])
        pairs = list(zip(single.generator.get_weights(), mirrored.generator.get_weights(), before))
        out["max_diff"] = max(float(np.abs(a - b).max()) for a, b, _ in pairs)
        out["max_change"] = max(float(np.abs(a - c).max()) for a, _, c in pairs)
        results[kind] = out
    print(json.dumps(results))
""")
STEP_KINDS = ["srresnet", "srgan"]


@pytest.fixture(scope="module")
def one_step_each(tmp_path_factory):
    """{kind: one step on one device and on two replicas}, both kinds in one TensorFlow process."""
    done = subprocess.run([sys.executable, "-c", STEP_CHECK, str(tmp_path_factory.mktemp("step")), *STEP_KINDS],
                          env=_env(), capture_output=True, text=True, timeout=TIMEOUT)
    assert done.returncode == 0, done.stderr[-2000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


@pytest.mark.parametrize("kind", STEP_KINDS)
def test_one_mirrored_step_equals_one_single_device_step(one_step_each, kind):
    """Batch 4 split 2 + 2 over two replicas gives the same update as batch 4 on one device."""
    out = one_step_each[kind]
    assert out["replicas"] == [1, 2]
    assert out["max_change"] > 1e-3                       # the step moved the weights ...
    assert out["max_diff"] < 1e-5                         # ... the same way on both
    assert out["mirrored_loss"] == pytest.approx(out["single_loss"], rel=1e-5)


def test_a_batch_that_does_not_split_over_the_replicas_is_one_clear_line(tmp_path, train_dir):
    done = _srviewer("train", "srcnn", "--data", str(train_dir), "--steps", "2", "--cpu-replicas", "2",
                     "--out", str(tmp_path / "r"), *TINY[:-4], "--batch", "3", "--val", "none")
    assert done.returncode == 2
    assert "--batch 3 does not split over 2 replicas" in done.stderr


def test_multiworker_without_tf_config_is_one_clear_line(tmp_path, train_dir):
    assert main(["train", "srcnn", "--data", str(train_dir), "--steps", "2", "--strategy", "multiworker",
                 "--out", str(tmp_path / "r"), "--val", "none"]) == 2


def test_mixed_precision_training_computes_in_16_bits_and_keeps_float32_weights_and_scores(tmp_path, train_dir):
    import h5py
    import keras

    from srviewer.core.tf_runtime import mixed_dtype

    run = tmp_path / "mixed"
    assert main(["train", "srresnet", "--data", str(train_dir), "--steps", "20", "--precision", "mixed",
                 "--strategy", "none", "--out", str(run), *TINY[:-2], "--val", str(train_dir), "--val-every", "20"]) == 0
    start = next(e for e in read_events(run) if e["event"] == "started")
    assert start["precision"] == "mixed" and start["compute_dtype"] == mixed_dtype()   # bfloat16 here (no GPU)
    losses = [e["loss"] for e in _train(run)]
    assert np.mean(losses[-5:]) < 0.7 * np.mean(losses[:5])
    val = next(e for e in read_events(run) if e["event"] == "val")
    assert 5 < val["psnr_y"] < 60
    with h5py.File(run / "latest.weights.h5") as f:
        dtypes = set()
        f.visititems(lambda _n, obj: dtypes.add(str(obj.dtype)) if isinstance(obj, h5py.Dataset) else None)
    assert dtypes == {"float32"}
    assert keras.mixed_precision.global_policy().name == "float32"      # the process's policy is restored
