"""Seconds per training batch of the augmentation experiment's ResNet50 (from scratch) on real data.

    .venv/bin/python benchmarks/augment_resnet50_speed.py [--data FOLDER] [--batch 16] [--batches 6]
        [--variant cutmix] [--model resnet50]

Runs the engine's own input pipeline and train step; the first batch (tracing) is timed apart.
Prints seconds per batch, the extrapolated epoch time and the validation pass time.
"""

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from a checkout

from srviewer.train import augment  # noqa: E402
from srviewer.train.augment_data import open_source  # noqa: E402

DEFAULT_DATA = "/work/shared/datasets/cls/imagewoof_10breeds"


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--data", default=DEFAULT_DATA)
    p.add_argument("--batch", type=int, default=16)
    p.add_argument("--batches", type=int, default=6)
    p.add_argument("--variant", default="cutmix")
    p.add_argument("--model", default="resnet50")
    p.add_argument("--size", type=int, default=224)
    p.add_argument("--xla", action="store_true")
    a = p.parse_args()
    cfg = augment.AugmentConfig(data=a.data, out="/tmp/unused", model=a.model, weights="none",
                                batch=a.batch, size=a.size, max_batches=a.batches, xla=a.xla)
    source = open_source(cfg.data, size=cfg.size)
    model, _ = augment.build_model(cfg.model, source.num_classes, cfg.size, "none")
    trainer = augment._Trainer(cfg, source, model, print)  # noqa: SLF001 - measuring the engine itself
    times, last = [], time.perf_counter()
    for x, y in trainer.train_dataset(a.variant, 1, 0):
        loss, _ = trainer.train_step(x, y)
        float(loss)
        now = time.perf_counter()
        times.append(now - last)
        last = now
    steady = sorted(times[1:])[len(times[1:]) // 2]
    per_epoch = source.batches_per_epoch(a.batch)
    print(f"{cfg.model}{' xla' if a.xla else ''} batch {a.batch} {cfg.size}x{cfg.size} {a.variant}: first batch {times[0]:.1f} s, "
          f"then median {steady:.2f} s/batch over {len(times) - 1}: "
          f"{per_epoch} batches/epoch -> {per_epoch * steady / 60:.1f} min/epoch of training")
    trainer.config.batch = 50
    start = time.perf_counter()
    trainer.evaluate()
    print(f"validation, {source.val_size} images: {time.perf_counter() - start:.1f} s (incl. tracing)")


if __name__ == "__main__":
    main()
