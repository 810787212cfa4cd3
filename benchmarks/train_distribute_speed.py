"""SRResNet training steps/s on one device against MirroredStrategy over 2 logical CPU replicas.

    .venv/bin/python benchmarks/train_distribute_speed.py [--steps 10] [--batch 8] [--patch 48]
        [--filters 16] [--blocks 2] [--replicas 2]

Each setting runs in its own child process (`--cpu-replicas` must be set before TensorFlow
starts): the engine's own trainer (sr_trainer.SRTrainer), the same global batch, one batch already
in memory (the input pipeline is `train_sr_input.py`'s subject), the first step (tracing) left out.
On a CPU box the replicas share the same cores, so the mirrored row is expected no faster: it shows
what splitting, all-reducing and synchronised batch norm cost. On N GPUs each replica has its own.
"""

import argparse
import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

CHILD = """
import json, sys, tempfile, time
from pathlib import Path
sys.path.insert(0, {root!r})
from srviewer.train import distribute
distribute.configure_cpu_replicas({replicas})
import numpy as np
import tensorflow as tf
from srviewer.train.sr_config import SRConfig
from srviewer.train.sr_trainer import SRTrainer
cfg = SRConfig.from_dict(dict(kind="srresnet", data=["unused"], steps=10**9, batch={batch}, patch={patch},
                              filters={filters}, blocks={blocks}, xla="off", strategy={strategy!r}))
rng = np.random.default_rng(0)
lr = rng.random(({batch}, {patch} // 4, {patch} // 4, 3), np.float32)
hr = rng.random(({batch}, {patch}, {patch}, 3), np.float32)
with tempfile.TemporaryDirectory() as run_dir:
    trainer = SRTrainer(cfg, Path(run_dir))
    batches = iter(trainer.distribute(tf.data.Dataset.from_tensors((lr, hr)).repeat()))
    float(trainer.train_step(*next(batches))["loss"])          # trace
    t0 = time.perf_counter()
    for _ in range({steps}):
        loss = trainer.train_step(*next(batches))["loss"]
    float(loss)
    rate = {steps} / (time.perf_counter() - t0)
print(json.dumps({{"replicas": trainer.replicas, "devices": trainer.distribution["devices"], "steps_per_s": rate}}))
"""


def _run(strategy: str, replicas: int, a) -> dict:
    code = CHILD.format(root=str(ROOT), replicas=replicas, strategy=strategy, batch=a.batch, patch=a.patch,
                        filters=a.filters, blocks=a.blocks, steps=a.steps)
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    if done.returncode:
        raise SystemExit(done.stderr[-2000:])
    return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--steps", type=int, default=10)
    p.add_argument("--batch", type=int, default=8)
    p.add_argument("--patch", type=int, default=48)
    p.add_argument("--filters", type=int, default=16)
    p.add_argument("--blocks", type=int, default=2)
    p.add_argument("--replicas", type=int, default=2)
    a = p.parse_args()
    rows = [("single device (--strategy none)", _run("none", 0, a)),
            (f"mirrored, {a.replicas} CPU replicas (--cpu-replicas {a.replicas})", _run("mirrored", a.replicas, a))]
    print(f"SRResNet {a.filters} filters, {a.blocks} blocks (batch norm), global batch {a.batch}, "
          f"HR patch {a.patch}, {a.steps} steps after one traced step\n")
    print("| setting | replicas | steps/s | relative |")
    print("|---|---|---|---|")
    base = rows[0][1]["steps_per_s"]
    for name, row in rows:
        print(f"| {name} | {row['replicas']} | {row['steps_per_s']:.2f} | {row['steps_per_s'] / base:.2f}x |")


if __name__ == "__main__":
    main()
