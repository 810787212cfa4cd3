"""Peak memory of tiled inference on a large LR image (default 4000x3000 -> 16000x12000).

    .venv/bin/python benchmarks/tiled_memory.py [--size 4000x3000] [--filters 8] [--blocks 1]

Runs a small random sr_resnet through ModelMethod (tiles from the memory budget) and prints the
seconds, the peak RSS, and the size of the result itself (the floor for any method).
"""

import argparse
import resource
import tempfile
import time
from pathlib import Path

import numpy as np


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--size", default="4000x3000")
    ap.add_argument("--filters", type=int, default=8)
    ap.add_argument("--blocks", type=int, default=1)
    args = ap.parse_args()
    w, h = (int(v) for v in args.size.split("x"))

    from srviewer.core import methods, models
    from srviewer.core.atomic import atomic_write_json

    with tempfile.TemporaryDirectory() as tmp:
        kwargs = {"num_filters": args.filters, "num_res_blocks": args.blocks, "batch_norm": False}
        models.build({"factory": "sr_resnet", "kwargs": kwargs}).save_weights(str(Path(tmp) / "srresnet.weights.h5"))
        atomic_write_json(Path(tmp) / "srresnet.json", {"factory": "sr_resnet", "kwargs": kwargs, "scale": 4,
                                                        "input": "lr", "label": "bench", "format": 1})
        method = methods.default_registry(weights_dir=tmp).get("srresnet")
        lr = np.random.default_rng(0).random((h, w, 3), dtype=np.float32)
        method.load()
        before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20
        t0 = time.perf_counter()
        out = method.upscale(lr)
        seconds = time.perf_counter() - t0
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20
    print(f"{w}x{h} -> {out.shape[1]}x{out.shape[0]}: {seconds:.1f} s, tiles {methods.tile_sizes()[0]} LR px, "
          f"peak RSS {peak:.2f} GiB (before upscale {before:.2f}), result alone {out.nbytes / 2**30:.2f} GiB")


if __name__ == "__main__":
    main()
