"""Short comparison of SRGAN recipes without VGG19 (train/gan_losses.py), all from the same
SRResNet start: N steps each, then PSNR-Y and sharpness (Laplacian energy of SR over HR) on Set5
per recipe, as a table. For choosing the long run's recipe, not for a verdict: a few hundred steps
show the direction (does sharpness rise towards 1 while PSNR-Y stays above bicubic's 28.42 dB).

    PYTHONPATH=. nice -n 10 python benchmarks/gan_recipes.py --steps 200 \
        [--recipes paper,ragan,fm,texture,sn] [--out runs/gan-recipes] [--val ../shared/datasets/sr-val/Set5/HR]

The settings of configs/srgan.json (data, patch, batch, generator, init from
weights/srresnet.weights.h5) with the recipe's flags on top; each recipe's run folder stays under
--out for a closer look (events, samples, generators).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

RECIPES = {
    "paper": [],                                               # BCE, L1 content (no VGG)
    "ragan": ["--gan-loss", "ragan"],
    "fm": ["--feature-matching", "0.01"],
    "texture": ["--texture-weight", "10"],
    "sn": ["--spectral-norm", "--gan-loss", "ragan"],
    "fm+texture+ragan": ["--gan-loss", "ragan", "--feature-matching", "0.01", "--texture-weight", "10"],
}


def evaluate(run: Path, val: str) -> dict:
    """PSNR-Y, SSIM-Y and mean sharpness ratio of RUN/latest.weights.h5 on the images in `val`."""
    import json

    from srgan_steps import mean_of, score_generator
    from srviewer.core import models
    from srviewer.train.sr_config import SRConfig
    from srviewer.train.sr_validate import Validator

    cfg = SRConfig.from_dict(json.loads((run / "config.json").read_text()))
    model = models.build(cfg.generator_spec())
    model.load_weights(str(run / "latest.weights.h5"))
    return mean_of(score_generator(model, Validator(val, cfg.scale, cfg.kernel, "lr")))


def main(argv=None) -> int:
    from srviewer.cli import main as cli

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=200)
    parser.add_argument("--recipes", default=",".join(RECIPES), help=f"comma-separated of {', '.join(RECIPES)}")
    parser.add_argument("--out", default="runs/gan-recipes")
    parser.add_argument("--config", default=str(ROOT / "configs" / "srgan.json"))
    parser.add_argument("--val", default=str(ROOT.parent / "shared" / "datasets" / "sr-val" / "Set5" / "HR"))
    parser.add_argument("--extra", default="", help="more training flags for every recipe, space-separated "
                        "(e.g. '--batch 4 --data DIR' for a quick try)")
    args = parser.parse_args(argv)
    names = [n for n in args.recipes.split(",") if n]
    unknown = [n for n in names if n not in RECIPES]
    if unknown:
        parser.error(f"unknown recipe(s) {unknown}; known: {', '.join(RECIPES)}")
    rows = []
    for name in names:
        run = Path(args.out) / name
        flags = ["train", "srgan", "--config", args.config, "--steps", str(args.steps), "--val", "none",
                 "--checkpoint-every", str(args.steps), "--content-loss", "l1", *RECIPES[name], *args.extra.split()]
        flags += ["--resume", str(run)] if (run / "config.json").exists() else ["--out", str(run)]
        if cli(flags) != 0:
            print(f"{name}: training failed", file=sys.stderr)
            continue
        rows.append((name, evaluate(run, args.val)))
    print(f"\n{args.steps} steps per recipe from the same SRResNet; Set5 (x4, MATLAB bicubic LR)")
    print(f"{'recipe':20s} {'PSNR-Y':>8s} {'SSIM-Y':>8s} {'sharpness':>10s}")
    for name, s in rows:
        print(f"{name:20s} {s['psnr_y']:8.2f} {s['ssim_y']:8.4f} {s['sharpness']:10.3f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
