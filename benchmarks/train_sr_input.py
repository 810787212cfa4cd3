"""SRResNet/SRCNN training steps per second: the real input pipeline next to in-memory tensors.

    .venv/bin/python benchmarks/train_sr_input.py [--kind srresnet] [--data FOLDER ...] [--steps 20]
        [--batch 16] [--patch 96] [--filters 64] [--blocks 16] [--xla auto|on|off]

Builds the engine's own trainer (sr_trainer.SRTrainer, same model, optimizer and train step as
`srviewer train`) in a scratch run folder, then times `--steps` steps fed by the tf.data pipeline
(sr_data: cached pairs, random crops, flips, rotations, prefetch) and `--steps` steps on one batch
already in memory. The first step of each (tracing/compiling) is left out. The input's cost is
the difference; the issue's bar is under 10%.
"""

import argparse
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from a checkout

from srviewer.train.sr_config import SRConfig  # noqa: E402

DEFAULT_DATA = [str(Path(__file__).resolve().parents[2] / "shared" / "datasets" / "sr-train" / name)
                for name in ("T91", "BSD200", "Kodak24", "WikipediaPhotos49")]


def _timed(step, batches, n):
    step(*next(batches))  # trace / compile
    t0 = time.perf_counter()
    for _ in range(n):
        step(*next(batches))
    return n / (time.perf_counter() - t0)


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--kind", default="srresnet", choices=("srresnet", "srcnn"))
    p.add_argument("--data", nargs="+", default=DEFAULT_DATA)
    p.add_argument("--steps", type=int, default=20)
    p.add_argument("--batch", type=int, default=16)
    p.add_argument("--patch", type=int, default=96)
    p.add_argument("--filters", type=int, default=64)
    p.add_argument("--blocks", type=int, default=16)
    p.add_argument("--xla", default="auto")
    a = p.parse_args()
    cfg = SRConfig.from_dict(dict(kind=a.kind, data=a.data, batch=a.batch, patch=a.patch, filters=a.filters,
                                  blocks=a.blocks, batch_norm=False, res_scale=0.1, bicubic_residual=True,
                                  loss="l1", xla=a.xla, steps=10**9))
    import tensorflow as tf

    from srviewer.train.sr_data import PatchSampler, load_training_data, make_dataset
    from srviewer.train.sr_trainer import SRTrainer

    t0 = time.perf_counter()
    pairs = load_training_data(cfg.data, cfg.scale, cfg.kernel, cfg.patch)
    print(f"data: {len(pairs.hr)} images loaded in {time.perf_counter() - t0:.1f} s")
    sampler = PatchSampler(pairs, cfg.patch, cfg.batch, cfg.seed)
    with tempfile.TemporaryDirectory() as run_dir:
        trainer = SRTrainer(cfg, Path(run_dir))
        step = trainer._compiled_step  # noqa: SLF001 - measuring the engine's own step
        pipeline = iter(make_dataset(sampler, 0))
        lr, hr = (tf.constant(x) for x in sampler.batch_at(0))
        in_memory = iter(lambda: (lr, hr), None)
        t_sample = time.perf_counter()
        for i in range(a.steps):
            sampler.batch_at(i)
        sample_s = (time.perf_counter() - t_sample) / a.steps
        fed = _timed(step, pipeline, a.steps)
        mem = _timed(step, in_memory, a.steps)
    print(f"{a.kind} {a.filters}x{a.blocks} batch {a.batch} patch {a.patch} xla {a.xla} on "
          f"{tf.config.list_physical_devices('GPU') and 'GPU' or 'CPU'}")
    print(f"  pipeline  {fed:.3f} steps/s")
    print(f"  in memory {mem:.3f} steps/s")
    print(f"  input cost {100 * (1 - fed / mem):+.1f}% (numpy sampling alone: {1000 * sample_s:.1f} ms/batch)")


if __name__ == "__main__":
    main()
