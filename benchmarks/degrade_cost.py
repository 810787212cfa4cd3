"""What making a degraded LR costs next to one SRGAN upscale of it (issue 17), printed as a table.

    .venv/bin/python benchmarks/degrade_cost.py [--repeats 5] [--json]

The HR is 2040x1356 (a DIV2K-sized photo: scikit-image's astronaut resized, plus a little grain).
Each chain (core.degrade.degrade: blur -> downscale -> noise -> JPEG) is timed alone, median of
`--repeats` after a warm-up; the reference is one x4 upscale of the 510x339 LR by a random-weight
SRGAN generator (sr_resnet, 64 filters, 16 blocks) through srviewer's own path
(ModelMethod.upscale: tiled, one compiled function), median of 3 after a warm-up.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from srviewer.core.host import cpu_model  # noqa: E402

CHAINS = ("kernel=matlab", "kernel=opencv", "kernel=area", "blur=1.2,kernel=matlab", "blur=3:1,angle=30,kernel=matlab",
          "kernel=matlab,noise=5", "kernel=matlab,jpeg=60", "blur=1.2,kernel=matlab,noise=5,jpeg=60")


def _hr() -> np.ndarray:
    import cv2
    import skimage.data

    big = cv2.resize(skimage.data.astronaut(), (2040, 1356), interpolation=cv2.INTER_CUBIC).astype(np.float64)
    return np.clip(big + np.random.default_rng(0).normal(0, 2, big.shape), 0, 255).astype(np.uint8)


def _median(fn, repeats: int) -> float:
    fn()
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def _srgan_seconds(lr: np.ndarray, repeats: int) -> tuple[float, str]:
    from srviewer.core import methods, models, tf_runtime
    from srviewer.core.atomic import atomic_write_json
    from srviewer.core.images import to_float

    with tempfile.TemporaryDirectory() as tmp:
        kwargs = {"num_filters": 64, "num_res_blocks": 16}
        models.build({"factory": "sr_resnet", "kwargs": kwargs}).save_weights(str(Path(tmp) / "srgan.weights.h5"))
        atomic_write_json(Path(tmp) / "srgan.json", {"factory": "sr_resnet", "kwargs": kwargs, "scale": 4,
                                                    "input": "lr", "label": "SRGAN (random)", "format": 1})
        method = methods.default_registry(weights_dir=tmp).get("srgan")
        x = to_float(lr)
        return _median(lambda: method.upscale(x), repeats), tf_runtime.device_description()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    from srviewer.core.degrade import degrade, parse_chain

    hr = _hr()
    rows = [(text, _median(lambda c=parse_chain(text): degrade(hr, c), args.repeats)) for text in CHAINS]
    srgan, device = _srgan_seconds(degrade(hr, parse_chain("kernel=matlab")), 3 if args.repeats >= 3 else 1)
    host = cpu_model()
    if args.json:
        print(json.dumps({"hr": "2040x1356", "host": host, "device": device, "srgan_upscale_s": srgan,
                          "chains": {text: {"seconds": s, "fraction_of_srgan": s / srgan} for text, s in rows}},
                         indent=2))
        return 0
    print(f"HR 2040x1356 -> LR 510x339; host: {host}; SRGAN on {device}")
    print(f"{'degradation chain':<44} {'ms':>9} {'of one SRGAN upscale':>22}")
    for text, seconds in rows:
        print(f"{text:<44} {seconds * 1000:>9.1f} {seconds / srgan * 100:>21.2f}%")
    print(f"{'SRGAN x4 upscale of the LR (random weights)':<44} {srgan * 1000:>9.1f} {100:>21.2f}%")
    return 0


if __name__ == "__main__":
    sys.exit(main())
