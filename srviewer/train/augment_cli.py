"""`srviewer train augment`: the augmentation experiment from the command line.

`register(train_subparsers)` adds the sub-command; it imports neither TensorFlow nor Qt (the
engine is imported when the command runs). Events go to RUN/events.jsonl and, one JSON line
each, to stdout; human lines to stderr. SIGINT/SIGTERM or a STOP file in the run folder:
finish the batch, checkpoint, exit 0; `--resume RUN` continues.
"""

from __future__ import annotations

import argparse
import signal
import sys

ALL_VARIANTS = "none,flip_brightness,cutmix,mixup"


def register(train_subparsers) -> argparse.ArgumentParser:
    p = train_subparsers.add_parser(
        "augment", help="compare augmentations (none, flip+brightness, CutMix, MixUp) on a classifier",
        description="Train ResNet50 (or a tiny CNN) once per augmentation variant with the same seed "
        "and initial weights; write per-epoch events, a results table and an accuracy plot.")
    p.add_argument("--data", help="tfds:stanford_dogs, or a FOLDER of class sub-folders "
                   "(FOLDER/<class>/ or FOLDER/train/<class>/ + FOLDER/val/<class>/)")
    p.add_argument("--out", help="run folder to create")
    p.add_argument("--resume", metavar="RUN", help="continue a stopped run (flags given override its config)")
    p.add_argument("--variants", default=None, help=f"comma-separated (default {ALL_VARIANTS})")
    p.add_argument("--model", choices=("resnet50", "small", "tiny"), default=None,
                   help="default resnet50; small: a from-scratch 8-conv CNN sized for a CPU (with --size 64)")
    p.add_argument("--weights", choices=("imagenet", "none"), default=None, help="default imagenet")
    p.add_argument("--epochs", type=int, default=None, help="default 3 (ResNet50 from scratch: ~4.5 min an epoch per variant on 2 CPU cores)")
    p.add_argument("--batch", type=int, default=None, help="default 16")
    p.add_argument("--lr", type=float, default=None, help="Adam learning rate (default 1e-4 with ImageNet weights, 3e-4 from scratch)")
    p.add_argument("--lr-schedule", choices=("constant", "cosine"), default=None,
                   help="default constant; cosine: from --lr down to 0 over each variant's epochs (a "
                   "resumed run given more --epochs stretches the rest of the curve)")
    p.add_argument("--alpha", type=float, default=None, help="Beta(alpha, alpha) for CutMix and MixUp "
                   "(default 1.0 for CutMix, 0.2 for MixUp)")
    p.add_argument("--size", type=int, default=None, help="image side, default 224")
    p.add_argument("--val-fraction", type=float, default=None, help="for FOLDER/<class>/ layouts, default 0.2")
    p.add_argument("--seed", type=int, default=None, help="default 0")
    p.add_argument("--tta", action="store_true", default=None, help="validate on image + flipped image")
    p.add_argument("--log-every", type=int, default=None, help="a train event every N batches (default 5)")
    p.add_argument("--max-batches", type=int, default=None, help="cap batches per epoch (quick demos)")
    p.add_argument("--xla", action="store_true", default=None, help="XLA-compile the train step "
                   "(slower on CPU for ResNet50: 5.7 vs 3.4 s a batch of 16; try it on a GPU)")
    p.add_argument("--seeds", default=None, help="repeat over these seeds (e.g. 0,1,2): OUT/seed_N each (the same command again "
                   "continues a stopped one, finished seeds are kept), then "
                   "OUT/augment.md + augment.json with mean ± std per variant (train/augment_seeds.py)")
    p.add_argument("--report-dir", default=None, help="with --seeds: also copy the report there "
                   "(e.g. docs/experiments)")
    p.set_defaults(func=main)
    return p


_FIELDS = ("data", "variants", "model", "weights", "epochs", "batch", "lr", "lr_schedule", "alpha", "size",
           "val_fraction", "seed", "tta", "log_every", "max_batches", "xla")


def parse_seeds(text: str) -> list[int]:
    """`--seeds 0,1,2` -> [0, 1, 2]; SrviewerError (one line) unless at least two different integers."""
    from srviewer.errors import SrviewerError

    try:
        seeds = [int(v) for v in text.split(",") if v.strip()]
    except ValueError:
        raise SrviewerError(f"--seeds must be comma-separated integers, not {text!r}") from None
    if len(seeds) < 2 or len(set(seeds)) != len(seeds):
        raise SrviewerError("--seeds needs at least two different seeds (a spread needs two)")
    return seeds


def main(args) -> int:
    from srviewer.core.cancel import CancelToken
    from srviewer.errors import SrviewerError
    from srviewer.train import augment
    from srviewer.train.augment_ops import parse_variants

    values = {name: getattr(args, name, None) for name in _FIELDS}
    if values["variants"] is not None:
        try:
            values["variants"] = parse_variants(values["variants"])
        except ValueError as exc:
            raise SrviewerError(str(exc)) from None
    seeds = parse_seeds(args.seeds) if args.seeds else None
    if args.resume:
        config, resume = augment.load_run_config(args.resume, values), True
        if seeds is None:      # a --seeds experiment's folder continues over its own seeds
            from srviewer.train.augment_seeds import saved_seeds

            seeds = saved_seeds(args.resume)
    else:
        if not args.data or not args.out:
            raise SrviewerError("srviewer train augment needs --data and --out (or --resume RUN)")
        config = augment.AugmentConfig(out=args.out, **{k: v for k, v in values.items() if v is not None})
        resume = False
    from srviewer.core.tf_runtime import tf

    tf()   # after the settings' checks, before anything else imports it: start-up notices caught, C++ INFO off
    stop = CancelToken()
    previous = {}

    def on_signal(signum, _frame):
        print(f"srviewer: {signal.Signals(signum).name}: finishing the batch, then checkpointing",
              file=sys.stderr, flush=True)
        stop.cancel()

    for sig in (signal.SIGINT, signal.SIGTERM):
        previous[sig] = signal.signal(sig, on_signal)
    try:
        if seeds:
            from srviewer.train.augment_seeds import run_seeds

            run_seeds(config, seeds, stop=stop, echo=sys.stdout, report_dir=args.report_dir)
        else:
            augment.run_experiment(config, resume=resume, stop=stop, echo=sys.stdout)
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    return 0
