"""Every generator an SRGAN run kept (RUN/generators/step_N.*, one per validation), scored on image
folders: mean PSNR-Y and sharpness (Laplacian energy of SR over HR; 1 = as much fine detail as the
truth) per folder and step, as a table, then per image for the steps asked. With `--base FILE
--alphas A,B,...` each step is also scored network-interpolated with FILE (ESRGAN's blend of the
GAN's weights with its PSNR-trained start: train/network_interpolation.py), one row per alpha.

For choosing which step of an adversarial run ships by a rule fixed before looking (the game
swings between validations), and for the card's per-image figures:

    PYTHONPATH=. nice -n 5 python benchmarks/srgan_steps.py runs/srgan \
        [--folders ../shared/datasets/sr-val/Set5/HR,photos] [--per-image 2400] [--json OUT.json] \
        [--base weights/srresnet.weights.h5 --alphas 0.6,0.8,1]

`photos` stands for five photos bundled with scikit-image that no shipped model trained on
(astronaut, chelsea, coffee, rocket, the left motorcycle of the stereo pair), written as PNGs into a
temporary folder: natural photos at 300-741 pixels wide, the BSD200-like case. The LR is made from
each image with the run's kernel (MATLAB bicubic x4 for the shipped runs), as in validation.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
SET5 = ROOT.parent / "shared" / "datasets" / "sr-val" / "Set5" / "HR"
PHOTOS = ("astronaut", "chelsea", "coffee", "rocket", "motorcycle_left")


def write_photos(folder: Path) -> Path:
    """scikit-image's bundled photos of PHOTOS as PNGs in `folder` (uint8 RGB); returns the folder."""
    import skimage.data

    from srviewer.core.images import write_image

    for name in PHOTOS:
        image = skimage.data.stereo_motorcycle()[0] if name == "motorcycle_left" else getattr(skimage.data, name)()
        write_image(folder / f"{name}.png", image)
    return folder


def score_generator(model, validator) -> list[dict]:
    """One row per image of `validator`: image, psnr_y, ssim_y and sharpness of `model`'s output."""
    from srviewer.core.metrics import sharpness_ratio

    rows, outputs = validator.score_each(model)
    return [{"image": name, "psnr_y": r["psnr_y"], "ssim_y": r["ssim_y"], "sharpness": sharpness_ratio(sr, hr)}
            for r, sr, (name, hr, _lr, _grey) in zip(rows, outputs, validator.items)]


def mean_of(rows: list[dict]) -> dict:
    """Mean psnr_y, ssim_y and sharpness over `rows`."""
    return {k: float(np.mean([r[k] for r in rows])) for k in ("psnr_y", "ssim_y", "sharpness")}


def main(argv=None) -> int:
    from srviewer.core import models
    from srviewer.train.network_interpolation import blend, check_alpha, same_architecture
    from srviewer.train.run_index import kept_generators
    from srviewer.train.sr_config import SRConfig
    from srviewer.train.sr_validate import Validator

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("run", type=Path, help="an SRGAN run folder (with generators/)")
    parser.add_argument("--folders", default=f"{SET5},photos",
                        help="comma-separated image folders; 'photos' = scikit-image's photos (see above)")
    parser.add_argument("--steps", default="", help="comma-separated steps to score (default: all kept)")
    parser.add_argument("--per-image", default="", help="comma-separated steps whose per-image rows to print "
                        "(at the first of --alphas)")
    parser.add_argument("--base", type=Path, help="interpolate each generator with this .weights.h5 (same network)")
    parser.add_argument("--alphas", default="1", help="comma-separated shares of the run's generator, in (0, 1]")
    parser.add_argument("--json", type=Path, help="also write every row here")
    args = parser.parse_args(argv)

    cfg = SRConfig.from_dict(json.loads((args.run / "config.json").read_text()))
    alphas = [check_alpha(float(a)) for a in args.alphas.split(",") if a]
    if args.base is None and alphas != [1.0]:
        parser.error("--alphas other than 1 need --base")
    kept = kept_generators(args.run)
    steps = [int(s) for s in args.steps.split(",") if s] or sorted(kept)
    missing = [s for s in steps if s not in kept]
    if missing:
        parser.error(f"no kept generator at step(s) {missing}; kept: {sorted(kept)}")
    with tempfile.TemporaryDirectory() as tmp:
        folders = [write_photos(Path(tmp)) if f == "photos" else Path(f) for f in args.folders.split(",") if f]
        names = ["photos" if f == "photos" else Path(f).name if Path(f).name != "HR" else Path(f).parent.name
                 for f in args.folders.split(",") if f]
        validators = [Validator(f, cfg.scale, cfg.kernel, "lr") for f in folders]
        spec = cfg.generator_spec()
        if args.base is not None:
            same_architecture(spec, args.base)
        model = models.build(spec)
        results = {}   # (step, alpha) -> folder name -> rows
        for step in steps:
            for alpha in alphas:
                if alpha == 1.0:
                    model.load_weights(str(kept[step]))
                else:
                    blend(model, kept[step], args.base, alpha)
                results[step, alpha] = {name: score_generator(model, v) for name, v in zip(names, validators)}
                print(f"step {step} alpha {alpha:g} scored", file=sys.stderr, flush=True)

    header = f"{'step':>6s} {'alpha':>5s} " + " ".join(f"{n + ' PSNR-Y':>16s} {n + ' sharp':>14s}" for n in names)
    print(header)
    for (step, alpha), by_folder in results.items():
        means = [mean_of(by_folder[n]) for n in names]
        print(f"{step:6d} {alpha:5.2f} " + " ".join(f"{m['psnr_y']:16.2f} {m['sharpness']:14.3f}" for m in means))
    for step in [int(s) for s in args.per_image.split(",") if s]:
        if (step, alphas[0]) not in results:
            continue
        print(f"\nstep {step}, alpha {alphas[0]:g}, per image:\n{'image':24s} {'PSNR-Y':>8s} {'SSIM-Y':>8s} {'sharpness':>10s}")
        for name in names:
            for r in results[step, alphas[0]][name]:
                print(f"{name + '/' + r['image']:24s} {r['psnr_y']:8.2f} {r['ssim_y']:8.4f} {r['sharpness']:10.3f}")
    if args.json:
        args.json.write_text(json.dumps({f"{s}@{a:g}": v for (s, a), v in results.items()}, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
