"""Bicubic cases of benchmarks/run.py (issue 18): the exact MATLAB kernel against OpenCV's, and a
10-megapixel photo x4 from the command line.

- bicubic:    x4 of a 1024x680 image, MATLAB's kernel (conventions.imresize: the polyphase fast
              path) against OpenCV's INTER_CUBIC, through the bicubic method (float32 in [0, 1],
              what the window and `compare` run) and on uint8 and float32 arrays (the kernels alone);
              runs interleaved, the ratio is the
              median of the per-pair ratios; the old matrix-product path once for reference
- big_photo:  `srviewer upscale PHOTO --method bicubic` on a made-up 2717x3701 JPEG (10 MP, a
              10868x14804 PNG out): wall seconds of the command, the upscale alone, peak RSS
"""

from __future__ import annotations

import os
import re
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

GIB = 2**30


def _photo_like(h: int, w: int, seed: int = 0) -> np.ndarray:
    """HxWx3 uint8 with gradients, edges and noise (a stand-in for a photo)."""
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:h, 0:w].astype(np.float32)
    img = np.stack([x / w * 200 + 20, y / h * 200 + 20, ((x // 64 + y // 64) % 2) * 120 + 60], -1)
    img += 25 * np.sin(x / 13)[..., None] * np.cos(y / 17)[..., None]
    img += rng.normal(0, 6, img.shape).astype(np.float32)
    return np.clip(img, 0, 255).astype(np.uint8)


def case_bicubic(quick: bool) -> dict:
    import cv2

    from srviewer.core import bicubic_fast, conventions
    from srviewer.core.methods import BicubicMethod

    u8 = _photo_like(680, 1024)
    f32 = u8.astype(np.float32) / 255
    matlab, opencv = BicubicMethod("matlab"), BicubicMethod("opencv")
    pairs = {
        "method_float32": (lambda: matlab.upscale(f32), lambda: opencv.upscale(f32)),
        "kernel_uint8": (lambda: conventions.imresize(u8, 4.0),
                         lambda: cv2.resize(u8, (4096, 2720), interpolation=cv2.INTER_CUBIC)),
        "kernel_float32": (lambda: conventions.imresize(f32, 4.0),
                           lambda: cv2.resize(f32, (4096, 2720), interpolation=cv2.INTER_CUBIC)),
    }
    # both sides on the same cores: OpenCV's own pool (cv2.resize) against bicubic_fast's strip threads
    out = {"cpus": os.cpu_count(), "opencv_threads": cv2.getNumThreads(), "matlab_threads": bicubic_fast._workers()}
    for name, (ours, theirs) in pairs.items():
        ours(), theirs()   # warm-up
        t_ours, t_theirs = [], []
        for _ in range(5 if quick else 15):
            for fn, times in ((ours, t_ours), (theirs, t_theirs)):
                t0 = time.perf_counter()
                fn()
                times.append(time.perf_counter() - t0)
        out[name] = {"matlab_ms": statistics.median(t_ours) * 1e3, "opencv_ms": statistics.median(t_theirs) * 1e3,
                     "ratio": statistics.median(a / b for a, b in zip(t_ours, t_theirs))}
    t0 = time.perf_counter()
    old = conventions.imresize_general(f32, 4.0)
    out["general_float32_ms"] = (time.perf_counter() - t0) * 1e3
    out["equal_to_general"] = bool(np.array_equal(old, conventions.imresize(f32, 4.0)))
    return out


def case_big_photo(quick: bool) -> dict:
    from PIL import Image

    repo = Path(__file__).resolve().parents[1]
    with tempfile.TemporaryDirectory() as tmp:
        src, dst = Path(tmp) / "photo.jpg", Path(tmp) / "photo_x4.png"
        Image.fromarray(_photo_like(3701, 2717)).save(src, quality=90)
        env = dict(os.environ, SRVIEWER_WEIGHTS=str(Path(tmp) / "no-weights"), PYTHONPATH=str(repo))
        t0 = time.perf_counter()
        proc = subprocess.run([sys.executable, "-m", "srviewer", "upscale", str(src), "--method", "bicubic",
                               "-o", str(dst)], cwd=repo, env=env, capture_output=True, text=True, timeout=3600)
        wall = time.perf_counter() - t0
        if proc.returncode != 0:
            return {"error": proc.stderr.strip()[-200:]}
        done = re.search(r"done in ([\d.]+) s", proc.stderr)
        return {"seconds": wall, "upscale_s": float(done.group(1)) if done else None,
                "peak_rss_gib": resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss * 1024 / GIB,
                "output_mib": dst.stat().st_size / 2**20, "size": "2717x3701 -> 10868x14804"}


def summary(g) -> dict:
    return {"method_float32": g("bicubic", "method_float32"), "kernel_uint8": g("bicubic", "kernel_uint8"),
            "kernel_float32": g("bicubic", "kernel_float32"),
            "threads": {k: g("bicubic", k) for k in ("cpus", "opencv_threads", "matlab_threads")},
            "general_float32_ms": g("bicubic", "general_float32_ms"),
            "equal_to_general": g("bicubic", "equal_to_general"),
            "big_photo": {k: g("big_photo", k) for k in ("seconds", "upscale_s", "peak_rss_gib", "output_mib")}}


def rows(b: dict, fmt) -> list[tuple[str, str, str]]:
    m, k, big = b.get("method_float32") or {}, b.get("kernel_uint8") or {}, b.get("big_photo") or {}
    kf, threads = b.get("kernel_float32") or {}, b.get("threads") or {}
    return [
        ("bicubic x4 1024x680, MATLAB / OpenCV", f"{fmt(m.get('matlab_ms'), '.0f')} / {fmt(m.get('opencv_ms'), '.0f')} ms",
         f"{fmt(m.get('ratio'), '.2f')}x (aim <= 3x); the bicubic method, float32; was "
         f"{fmt(b.get('general_float32_ms'), '.0f')} ms, equal: {b.get('equal_to_general')}"),
        ("  the same, uint8 kernels", f"{fmt(k.get('matlab_ms'), '.0f')} / {fmt(k.get('opencv_ms'), '.0f')} ms",
         f"{fmt(k.get('ratio'), '.2f')}x"),
        ("  the same, float32 kernels", f"{fmt(kf.get('matlab_ms'), '.0f')} / {fmt(kf.get('opencv_ms'), '.0f')} ms",
         f"{fmt(kf.get('ratio'), '.2f')}x; threads: OpenCV {threads.get('opencv_threads')}, "
         f"bicubic_fast {threads.get('matlab_threads')}, {threads.get('cpus')} CPUs"),
        ("10 MP photo bicubic x4, command line", f"{fmt(big.get('seconds'), '.1f')} s",
         f"upscale {fmt(big.get('upscale_s'), '.1f')} s, peak RSS {fmt(big.get('peak_rss_gib'), '.2f')} GiB, "
         f"PNG {fmt(big.get('output_mib'), '.0f')} MiB"),
    ]
