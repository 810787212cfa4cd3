"""srviewer's benchmarks: one table, or one JSON object with --json (issue 7).

    .venv/bin/python benchmarks/run.py [--quick] [--json] [--only upscale,metrics,...]

Each case runs in its own child process (its peak RSS is its own: ru_maxrss of that process).
Models have random weights (srviewer.core.models.sr_resnet, the paper's 16 blocks), so no
trained file is needed.

- conv:     float32 3x3 convolution throughput (1x256x256x64 -> 64), the machine's limit: the
            best of 60 runs of the faster engine, XLA or TensorFlow's own kernels (oneDNN where
            TensorFlow turns it on); both engines' figures and the median are reported beside it
- upscale:  SRGAN generator x4 on a 510x339 and a 128x128 LR: srviewer's path (ModelMethod.upscale:
            tiled, one compiled function, XLA where faster) and the notebook's way (`model.predict` on the whole
            image), median seconds after a warm-up, output MP/s, peak RSS; the floor is the
            model's FLOPs divided by the conv throughput
- srgan:    the same 510x339 SRGAN interleaved in one process, round by round: the model's
            convolutions alone (the measured conv floor), srviewer's path and `model.predict`;
            medians of the per-round ratios (benchmarks/srgan_ratios.py)
- large:    a 4000x3000 LR through ModelMethod (tiled): seconds, peak RSS
- metrics:  PSNR+SSIM (Y and RGB) on a 2040x1356 pair next to scikit-image, and the crop figures
            (PSNR+SSIM on Y of a 512x512 crop, metrics.score_region(y_only=True)) in ms
- gui:      `srviewer` start to the window shown (child process, offscreen, the model process started
            first as `srviewer gui` does: importing TensorFlow at once, or held on a busy machine), TF
            imported or not;
            the largest gap of a 10 ms timer during a 512x512 SRGAN comparison in the window;
            `srviewer` start to all four results on the sample photo (the shipped weights, the model
            process started before Qt as `srviewer gui` starts it, the models preloaded), and a
            second Run on the same image
            (medians of 3 launches with --quick, 5 without); benchmarks/launch_timeline.py says where
            the seconds go
- formats:  one random-weight SRResNet as Keras (.weights.h5), ONNX (onnxruntime), SavedModel,
            frozen graph (.pb) and TFLite (LiteRT),
            each loaded through srviewer's format seam in its own child: ModelMethod.upscale on a
            510x339 LR (128x128 --quick), median seconds, peak RSS, and how far each output is
            from the Keras one (benchmarks/formats_bench.py)
- train:    SRResNet steps/s with the real input pipeline against one batch in memory
            (benchmarks/train_sr_input.py); input_overhead = 1 - pipeline/in-memory
--quick: fewer repeats, a smaller training model, and the 4000x3000 case with a small
(8 filters, 1 block) model instead of the 16-block one (its memory, not its speed, is the point).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "benchmarks"))
from srviewer.core.host import cpu_model  # noqa: E402

import bicubic_cases  # noqa: E402 - the bicubic rows (issue 18), beside this file
import formats_bench  # noqa: E402 - the model-formats rows (issue 14)
import srgan_ratios  # noqa: E402 - the SRGAN floor and predict ratios, interleaved (issue 18)
CASES = ("conv", "upscale_srviewer", "upscale_naive", "srgan_ratios", "large", "metrics", "gui_start", "gui_gap", "gui_results", "train",
         "bicubic", "big_photo", "formats_keras", "formats_onnx", "formats_saved_model",
         "formats_tf_graph", "formats_tflite")
FORMATS_DIR = "SRVIEWER_BENCH_FORMATS"   # the folder of the formats cases' exports (formats_bench.py)
GIB = 2**30


def _peak_rss_gib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024 / GIB   # ru_maxrss is KiB on Linux


def _random_generator(folder: Path, name: str = "srgan", filters: int = 64, blocks: int = 16) -> Path:
    """A random-weight sr_resnet as NAME.weights.h5 + NAME.json (what default_registry loads)."""
    from srviewer.core import models
    from srviewer.core.atomic import atomic_write_json

    kwargs = {"num_filters": filters, "num_res_blocks": blocks}
    models.build({"factory": "sr_resnet", "kwargs": kwargs}).save_weights(str(folder / f"{name}.weights.h5"))
    atomic_write_json(folder / f"{name}.json", {"factory": "sr_resnet", "kwargs": kwargs, "scale": 4,
                                                "input": "lr", "label": "SRGAN (random weights)", "format": 1})
    return folder


def _random_generator_in_child(folder: Path) -> Path:
    """_random_generator run in a child Python, so that this process has not imported TensorFlow."""
    code = (f"import sys; from pathlib import Path; sys.path[:0] = [{str(REPO)!r}, {str(Path(__file__).parent)!r}]; "
            f"import run; run._random_generator(Path({str(folder)!r}))")
    subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, timeout=600)
    return folder


def _median_time(fn, repeats: int) -> tuple[float, list[float]]:
    fn()   # warm-up: tracing, compiling
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times), times


def conv_flops(model, h: int, w: int) -> float:
    """FLOPs (2 x multiply-adds) of the model's convolutions on one h x w input."""
    import keras

    clone = keras.models.clone_model(model, input_tensors=keras.Input(shape=(h, w, 3)))
    total = 0.0
    for layer in clone.layers:
        if isinstance(layer, keras.layers.Conv2D):
            kh, kw, cin, cout = layer.kernel.shape
            _, oh, ow, _ = layer.output.shape
            total += 2.0 * oh * ow * kh * kw * cin * cout
    return total


# -- cases (each runs in a child process and returns a dict) ---------------------------------
def _conv_probe(engines=(True, False)):
    """A function returning one measurement of the float32 3x3 conv rate (1x256x256x64 -> 64), GFLOP/s:
    the faster of XLA and TensorFlow's own kernels (oneDNN where it is on), whichever wins here."""
    import tensorflow as tf

    x = tf.random.uniform((1, 256, 256, 64))
    k = tf.random.uniform((3, 3, 64, 64))
    fns = [tf.function(lambda a: tf.nn.conv2d(a, k, 1, "SAME"), jit_compile=jit) for jit in engines]
    for fn in fns:
        fn(x).numpy()
    flops = 2.0 * 256 * 256 * 9 * 64 * 64

    def once(fn) -> float:
        t0 = time.perf_counter()
        fn(x).numpy()
        return flops / (time.perf_counter() - t0) / 1e9

    def rate() -> float:
        return max(once(fn) for fn in fns)
    return rate


def case_conv(quick: bool) -> dict:
    n = 20 if quick else 60
    rates = {"xla": _conv_probe((True,)), "plain": _conv_probe((False,))}
    seen = {name: [rate() for _ in range(n)] for name, rate in rates.items()}
    best = max(seen, key=lambda name: max(seen[name]))
    # the machine's limit is the best rate seen: a 40 ms op's median moves with the host's noise
    return {"gflops": max(seen[best]), "median_gflops": statistics.median(seen[best]), "engine": best,
            "gflops_xla": max(seen["xla"]), "gflops_plain": max(seen["plain"])}


def _lr(h: int, w: int) -> np.ndarray:
    return np.random.default_rng(0).random((h, w, 3), dtype=np.float32)


def case_upscale_srviewer(quick: bool) -> dict:
    from srviewer.core import methods, tf_runtime

    out = {}
    with tempfile.TemporaryDirectory() as tmp:
        method = methods.default_registry(weights_dir=_random_generator(Path(tmp))).get("srgan")
        method.load()
        out["device"] = tf_runtime.device_description()
        out["flops_510x339"] = conv_flops(method._loaded.raw.keras_model, 339, 510)   # noqa: SLF001 (random weights: never a kept fold)
        for h, w in ((128, 128), (339, 510)):
            lr = _lr(h, w)
            med, times = _median_time(lambda: method.upscale(lr), 2 if quick else 5)
            out[f"{w}x{h}"] = {"seconds": med, "times": times, "mp_s": h * w * 16 / med / 1e6}
        out["xla"] = tf_runtime.xla_choice()       # what the auto choice timed, at the first input of 128x128 or more
        lr = _lr(339, 510)
        mixed = methods.default_registry(weights_dir=Path(tmp)).get("srgan")
        mixed.precision = "mixed"                  # 16-bit compute: bfloat16 on CPU, float16 on GPU
        mixed.load()
        med, times = _median_time(lambda: mixed.upscale(lr), 2 if quick else 5)
        out["mixed_510x339"] = {"seconds": med, "times": times, "dtype": mixed._loaded.run.predict.precision,   # noqa: SLF001
                                "max_abs_diff": float(np.abs(mixed.upscale(lr) - method.upscale(lr)).max())}
    out["peak_rss_gib"] = _peak_rss_gib()
    return out


def case_upscale_naive(quick: bool) -> dict:
    from srviewer.core import models, tf_runtime

    tf_runtime.tf()
    model = models.build({"factory": "sr_resnet", "kwargs": {"num_filters": 64, "num_res_blocks": 16}})
    out = {}
    for h, w in ((128, 128), (339, 510)):
        lr = _lr(h, w)[None]
        med, times = _median_time(lambda: model.predict(lr, verbose=0), 2 if quick else 5)
        out[f"{w}x{h}"] = {"seconds": med, "times": times, "mp_s": h * w * 16 / med / 1e6}
    out["peak_rss_gib"] = _peak_rss_gib()
    return out


def case_large(quick: bool) -> dict:
    from srviewer.core import methods

    filters, blocks = (8, 1) if quick else (64, 16)
    with tempfile.TemporaryDirectory() as tmp:
        method = methods.default_registry(weights_dir=_random_generator(Path(tmp), filters=filters,
                                                                        blocks=blocks)).get("srgan")
        method.load()
        lr = _lr(3000, 4000)
        t0 = time.perf_counter()
        result = method.upscale(lr)
        seconds = time.perf_counter() - t0
    return {"seconds": seconds, "peak_rss_gib": _peak_rss_gib(), "result_gib": result.nbytes / GIB,
            "model": f"sr_resnet {filters} filters, {blocks} blocks", "tile": methods.tile_sizes()[0]}


def case_metrics(quick: bool) -> dict:
    from skimage.metrics import peak_signal_noise_ratio, structural_similarity

    from srviewer.core import conventions, metrics

    rng = np.random.default_rng(0)
    y, x = np.mgrid[0:1356, 0:2040]
    hr = np.clip(np.stack([x / 8, y / 6, (x + y) / 14], -1) % 256 + rng.normal(0, 5, (1356, 2040, 3)), 0, 255)
    hr = hr.astype(np.uint8)
    sr = np.clip(hr + rng.normal(0, 6, hr.shape), 0, 255).astype(np.uint8)
    n = 3 if quick else 5
    whole, _ = _median_time(lambda: metrics.score(sr, hr, border=4), n)

    def reference():
        b = 4
        ys, yh = (conventions.rgb_to_y(v)[b:-b, b:-b] for v in (sr, hr))
        s_, h_ = sr[b:-b, b:-b].astype(np.float64), hr[b:-b, b:-b].astype(np.float64)
        opts = dict(gaussian_weights=True, sigma=1.5, use_sample_covariance=False, data_range=255)
        return {"psnr_y": peak_signal_noise_ratio(yh, ys, data_range=255), "ssim_y": structural_similarity(ys, yh, **opts),
                "psnr_rgb": peak_signal_noise_ratio(h_, s_, data_range=255),
                "ssim_rgb": structural_similarity(s_, h_, channel_axis=-1, **opts)}

    sk, _ = _median_time(reference, n)
    ours, ref = metrics.score(sr, hr, border=4), reference()
    rect = (700, 400, 512, 512)
    crop, _ = _median_time(lambda: metrics.score_region(sr, hr, rect, y_only=True), 10 if quick else 30)
    cy = [conventions.rgb_to_y(v[400:912, 700:1212]) for v in (sr, hr)]
    opts = dict(gaussian_weights=True, sigma=1.5, use_sample_covariance=False, data_range=255)
    crop_sk, _ = _median_time(lambda: (peak_signal_noise_ratio(cy[1], cy[0], data_range=255),
                                       structural_similarity(cy[0], cy[1], **opts)), 5 if quick else 10)
    return {"whole_ms": whole * 1e3, "skimage_whole_ms": sk * 1e3, "crop512_ms": crop * 1e3,
            "skimage_crop512_ms": crop_sk * 1e3,
            "max_abs_diff_vs_skimage": max(abs(ours[k] - ref[k]) for k in ours)}


_GUI_START = r"""
import os, sys, time
from srviewer.core.model_process import start_beside_window
process = start_beside_window()  # as `srviewer gui` does: the child starts first, held on a busy machine
from PySide6.QtWidgets import QApplication
from srviewer.gui.app import make_app
from srviewer.core.methods import default_registry
from srviewer.gui.main_window import MainWindow
app = make_app()
win = MainWindow(default_registry(process=process))
win.show()
while not win.isVisible() or not win.windowHandle() or not win.windowHandle().isExposed():
    app.processEvents()
app.processEvents()
print("SHOWN", time.time(), "tensorflow" in sys.modules, flush=True)
"""


def case_gui_start(quick: bool) -> dict:
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen", SRVIEWER_SETTINGS_ORG="srviewer-bench")
    times, tf_loaded = [], []
    for _ in range(2 if quick else 5):
        t0 = time.time()
        out = subprocess.run([sys.executable, "-c", _GUI_START], cwd=REPO, env=env, capture_output=True, text=True,
                             timeout=120).stdout
        line = next(x for x in out.splitlines() if x.startswith("SHOWN"))
        times.append(float(line.split()[1]) - t0)
        tf_loaded.append(line.split()[2] == "True")
    return {"start_s": statistics.median(times), "times": times, "tensorflow_imported": any(tf_loaded)}


def case_gui_gap(quick: bool) -> dict:
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    os.environ.setdefault("SRVIEWER_SETTINGS_ORG", "srviewer-bench")
    from PySide6.QtCore import QElapsedTimer, QTimer

    from srviewer.core import methods
    from srviewer.core.images import from_array
    from srviewer.gui.app import make_app
    from srviewer.gui.main_window import MainWindow

    app = make_app()
    with tempfile.TemporaryDirectory() as tmp:
        from srviewer.core.model_process import ModelProcess

        # as the app does: the learned methods run in a model process, started by the first run
        registry = methods.default_registry(weights_dir=_random_generator_in_child(Path(tmp)), process=ModelProcess())
        win = MainWindow(registry, show_dialogs=False)
        win.compare.refresh_methods(["srgan"])
        win.show()
        rng = np.random.default_rng(0)
        runs = []
        for _ in range(2):   # the first includes starting the model process, TensorFlow's import there, loading
            # a new image each time: the window keeps results, and the warm run must still infer
            image = from_array((rng.random((512, 512, 3)) * 255).astype(np.uint8))
            gaps, clock, last = [], QElapsedTimer(), [0]
            clock.start()

            def tick():
                now = clock.elapsed()
                gaps.append(now - last[0])
                last[0] = now

            timer = QTimer()
            timer.timeout.connect(tick)
            timer.start(10)
            done = []
            win.compare.results_shown.connect(lambda: done.append(True))
            t0 = time.perf_counter()
            win.compare.set_image(image)
            while not done and time.perf_counter() - t0 < 600:
                app.processEvents()
                time.sleep(0.001)
            timer.stop()
            runs.append({"max_gap_ms": max(gaps) if gaps else None, "seconds": time.perf_counter() - t0,
                         "ok": "srgan" in win.compare.session.results})
        win.compare.runner.wait_all(5000)
        registry.process.close()
    return {"first_run": runs[0], "warm_run": runs[1], "max_gap_ms": max(r["max_gap_ms"] for r in runs),
            "tensorflow_in_window_process": "tensorflow" in sys.modules}


_GUI_RESULTS = r"""
import sys, time

def main():       # imports inside: the model process (spawn) imports this file, and needs no Qt
    t0 = float(sys.argv[1])
    from srviewer.core.model_process import start_beside_window
    process = start_beside_window()               # as `srviewer gui` does: before Qt, held on a busy machine
    from srviewer.gui.app import make_app
    app = make_app()
    from srviewer.core.images import sample_image
    from srviewer.core.methods import default_registry
    from srviewer.gui.main_window import MainWindow
    registry = default_registry(process=process)
    win = MainWindow(registry, show_dialogs=False)
    names = ["bicubic", "srcnn", "srresnet", "srgan"]
    win.compare.refresh_methods(names)
    done = []
    win.compare.results_shown.connect(lambda: done.append(time.time()))
    win.show()
    win.open_loaded(sample_image())
    while not done:
        app.processEvents(); time.sleep(0.002)
    first = sorted(win.compare.session.results)
    t1 = time.time()
    win.compare.run()
    while len(done) < 2:
        app.processEvents(); time.sleep(0.002)
    print("RESULTS", done[0] - t0, done[1] - t1, ",".join(first), ",".join(sorted(win.compare.session.results)),
          flush=True)
    win.close()

if __name__ == "__main__":
    main()
"""


def case_gui_results(quick: bool) -> dict:
    """Start to all results on the sample, then a second Run, with the shipped weights (fresh processes)."""
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen", SRVIEWER_SETTINGS_ORG="srviewer-bench")
    with tempfile.TemporaryDirectory() as tmp:
        script = Path(tmp) / "gui_results.py"      # a file: the model process (spawn) re-imports its main module
        script.write_text(_GUI_RESULTS)
        firsts, seconds, shown = [], [], ""
        for _ in range(3 if quick else 5):      # a shared machine: the median of several launches
            t0 = time.time()
            out = subprocess.run([sys.executable, str(script), repr(t0)], cwd=REPO, env=env, capture_output=True,
                                 text=True, timeout=600).stdout
            line = next(x for x in out.splitlines() if x.startswith("RESULTS")).split()
            firsts.append(float(line[1]))
            seconds.append(float(line[2]))
            shown = line[3]
    return {"first_s": statistics.median(firsts), "second_s": statistics.median(seconds), "firsts": firsts,
            "seconds": seconds, "results": shown}


def case_train(quick: bool) -> dict:
    data = [p for p in (REPO.parent / "shared" / "datasets" / "sr-train" / "T91",) if p.is_dir()]
    tmp = None
    if not data:
        sys.path.insert(0, str(REPO / "benchmarks"))
        from kill_resume import make_tiny_data   # only without the shared data sets

        tmp = tempfile.mkdtemp()
        data = [make_tiny_data(Path(tmp) / "data", n=8, size=128)]
    args = ["--steps", "5", "--batch", "8", "--patch", "48", "--filters", "32", "--blocks", "4"] if quick else \
        ["--steps", "20"]
    out = subprocess.run([sys.executable, str(REPO / "benchmarks" / "train_sr_input.py"), "--data", *map(str, data),
                          *args], cwd=REPO, capture_output=True, text=True, timeout=1800).stdout
    fed = float(re.search(r"pipeline\s+([\d.]+) steps/s", out).group(1))
    mem = float(re.search(r"in memory\s+([\d.]+) steps/s", out).group(1))
    return {"pipeline_steps_s": fed, "in_memory_steps_s": mem, "input_overhead": 1 - fed / mem,
            "settings": " ".join(args) or "defaults (16 blocks, batch 16, patch 96)", "data": [str(d) for d in data]}


def _formats_case(name: str, quick: bool) -> dict:
    return formats_bench.run_format(name, Path(os.environ[FORMATS_DIR]), quick)


def case_formats_keras(quick: bool) -> dict:
    return _formats_case("keras", quick)


def case_formats_onnx(quick: bool) -> dict:
    return _formats_case("onnx", quick)


def case_formats_saved_model(quick: bool) -> dict:
    return _formats_case("saved_model", quick)


def case_formats_tf_graph(quick: bool) -> dict:
    return _formats_case("tf_graph", quick)


def case_formats_tflite(quick: bool) -> dict:
    return _formats_case("tflite", quick)


def _export_formats(folder: Path) -> None:
    """formats_bench.export_all in a child Python (TensorFlow stays out of this process)."""
    code = (f"import sys; from pathlib import Path; sys.path[:0] = [{str(REPO)!r}, {str(Path(__file__).parent)!r}]; "
            f"import formats_bench; formats_bench.export_all(Path({str(folder)!r}))")
    subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, timeout=900)


# -- the parent ----------------------------------------------------------------------------
def _run_case(name: str, quick: bool, timeout: float) -> dict:
    cmd = [sys.executable, __file__, "--case", name] + (["--quick"] if quick else [])
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3", PYTHONPATH=str(REPO))
    try:
        proc = subprocess.run(cmd, cwd=REPO, env=env, capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        return {"error": f"timed out after {timeout:.0f} s"}
    for line in reversed(proc.stdout.splitlines()):
        if line.startswith("RESULT "):
            return json.loads(line[7:])
    return {"error": f"exit {proc.returncode}: {(proc.stderr.strip().splitlines() or [''])[-1][:200]}"}


def collect(quick: bool, only: list[str]) -> dict:
    raw = {}
    with tempfile.TemporaryDirectory() as formats_dir:
        os.environ[FORMATS_DIR] = formats_dir
        for name in CASES:
            if only and not any(name.startswith(o) for o in only):
                continue
            if name.startswith("formats_") and not any(n.startswith("formats_") for n in raw):
                _export_formats(Path(formats_dir))
            t0 = time.perf_counter()
            raw[name] = _run_case(name, quick, timeout=3600)
            raw[name]["wall_s"] = round(time.perf_counter() - t0, 1)
            print(f"[{name}: {raw[name]['wall_s']} s]", file=sys.stderr, flush=True)
        raw["formats_diff"] = formats_bench.max_diffs(Path(formats_dir))
    return summarise(raw, quick)


def summarise(raw: dict, quick: bool) -> dict:
    g = lambda case, *keys: _get(raw.get(case, {}), keys)  # noqa: E731
    gflops = g("conv", "gflops")
    flops = g("upscale_srviewer", "flops_510x339")
    result = {
        "machine": {"platform": platform.platform(), "host": platform.node(), "cpu": cpu_model(), "cpus": os.cpu_count(), "python": platform.python_version(),
                    "device": g("upscale_srviewer", "device"), "quick": quick,
                    "load_average": os.getloadavg()[0]},
        "conv": {k: g("conv", k) for k in ("gflops", "median_gflops", "engine", "gflops_xla", "gflops_plain")},
        "srviewer_xla": g("upscale_srviewer", "xla"),
        "upscale": {},
        "large": {k: g("large", k) for k in ("seconds", "peak_rss_gib", "result_gib", "model")},
        "metrics": {k: g("metrics", k) for k in ("crop512_ms", "skimage_crop512_ms", "whole_ms", "skimage_whole_ms",
                                                  "max_abs_diff_vs_skimage")},
        "gui": {"start_s": g("gui_start", "start_s"), "tensorflow_at_start": g("gui_start", "tensorflow_imported"),
                "max_gap_ms": g("gui_gap", "max_gap_ms"), "max_gap_warm_ms": g("gui_gap", "warm_run", "max_gap_ms"),
                "results_s": g("gui_results", "first_s"), "second_run_s": g("gui_results", "second_s"),
                "results": g("gui_results", "results")},
        "train": {k: g("train", k) for k in ("input_overhead", "pipeline_steps_s", "in_memory_steps_s", "settings")},
        "bicubic": bicubic_cases.summary(g),
        "srgan_ratios": srgan_ratios.summary(g),
        "formats": {fmt: {k: g(f"formats_{fmt}", k) for k in ("seconds", "peak_rss_gib", "size", "device", "load_s")}
                    | {"max_abs_diff_vs_keras": (raw.get("formats_diff") or {}).get(fmt)}
                    for fmt in formats_bench.FILES},
    }
    for size in ("510x339", "128x128"):
        ours, naive = g("upscale_srviewer", size, "seconds"), g("upscale_naive", size, "seconds")
        entry = {"srviewer_s": ours, "naive_s": naive,
                 "srviewer_mp_s": g("upscale_srviewer", size, "mp_s"), "naive_mp_s": g("upscale_naive", size, "mp_s"),
                 "peak_rss_gib": g("upscale_srviewer", "peak_rss_gib"),
                 "naive_peak_rss_gib": g("upscale_naive", "peak_rss_gib")}
        if size == "510x339" and flops and gflops:
            entry["flops"] = flops
            entry["floor_s"] = flops / (gflops * 1e9)
        if size == "510x339":
            entry["srviewer_mixed_s"] = g("upscale_srviewer", "mixed_510x339", "seconds")
            entry["mixed_dtype"] = g("upscale_srviewer", "mixed_510x339", "dtype")
            entry["mixed_max_abs_diff"] = g("upscale_srviewer", "mixed_510x339", "max_abs_diff")
        result["upscale"][f"srgan_{size}"] = entry
    errors = {name: r["error"] for name, r in raw.items() if isinstance(r, dict) and "error" in r}
    if errors:
        result["errors"] = errors
    return result


def _get(d, keys):
    for k in keys:
        if not isinstance(d, dict) or k not in d:
            return None
        d = d[k]
    return d


def _f(v, fmt):
    return "n/a" if v is None else format(v, fmt)


def table(r: dict) -> str:
    up, up128 = r["upscale"]["srgan_510x339"], r["upscale"]["srgan_128x128"]
    rows = [
        ("conv throughput (3x3, 64->64)", f"{_f(r['conv']['gflops'], '.1f')} GFLOP/s",
         f"best run, {r['conv'].get('engine')}; median {_f(r['conv'].get('median_gflops'), '.1f')}; "
         f"XLA {_f(r['conv'].get('gflops_xla'), '.1f')}, plain {_f(r['conv'].get('gflops_plain'), '.1f')}"),
        ("srviewer's XLA choice (auto)", "on" if (r.get("srviewer_xla") or {}).get("faster") else "off",
         f"conv block {_f((r.get('srviewer_xla') or {}).get('xla_ms'), '.1f')} ms XLA, "
         f"{_f((r.get('srviewer_xla') or {}).get('plain_ms'), '.1f')} ms plain"),
        ("SRGAN 510x339 srviewer", f"{_f(up['srviewer_s'], '.2f')} s", f"peak RSS {_f(up['peak_rss_gib'], '.2f')} GiB"),
        ("SRGAN 510x339 model.predict", f"{_f(up['naive_s'], '.2f')} s",
         f"peak RSS {_f(up['naive_peak_rss_gib'], '.2f')} GiB"),
        ("SRGAN 510x339 floor (FLOPs/throughput)", f"{_f(up.get('floor_s'), '.2f')} s",
         f"{_f((up.get('flops') or 0) / 1e12 or None, '.3f')} TFLOP"),
        ("  speed-up vs predict / vs floor", _ratio(up["naive_s"], up["srviewer_s"]), _ratio(up["srviewer_s"], up.get("floor_s"))),
        ("SRGAN 510x339 srviewer, --precision mixed", f"{_f(up.get('srviewer_mixed_s'), '.2f')} s",
         f"{up.get('mixed_dtype')}; max |diff| vs float32 {_f(up.get('mixed_max_abs_diff'), '.3f')}"),
        ("SRGAN 128x128 srviewer / predict", f"{_f(up128['srviewer_s'], '.2f')} / {_f(up128['naive_s'], '.2f')} s",
         f"{_f(up128['srviewer_mp_s'], '.2f')} / {_f(up128['naive_mp_s'], '.2f')} MP/s out"),
        ("4000x3000 LR tiled", f"{_f(r['large']['seconds'], '.1f')} s",
         f"peak RSS {_f(r['large']['peak_rss_gib'], '.2f')} GiB ({r['large']['model']})"),
        ("metrics 2040x1356 (Y+RGB)", f"{_f(r['metrics']['whole_ms'], '.0f')} ms",
         f"scikit-image {_f(r['metrics']['skimage_whole_ms'], '.0f')} ms, max diff "
         f"{_f(r['metrics']['max_abs_diff_vs_skimage'], '.1e')}"),
        ("crop 512x512 PSNR+SSIM on Y", f"{_f(r['metrics']['crop512_ms'], '.1f')} ms",
         f"scikit-image {_f(r['metrics']['skimage_crop512_ms'], '.1f')} ms"),
        ("window shown after start", f"{_f(r['gui']['start_s'], '.2f')} s",
         f"TensorFlow imported: {r['gui']['tensorflow_at_start']}"),
        ("largest event-loop gap, 512x512 SRGAN", f"{_f(r['gui']['max_gap_ms'], '.0f')} ms",
         f"warm run {_f(r['gui']['max_gap_warm_ms'], '.0f')} ms"),
        ("start to all results on the sample", f"{_f(r['gui'].get('results_s'), '.2f')} s",
         f"aim 6 s; {r['gui'].get('results')}"),
        ("second Run on the same image", f"{_f(r['gui'].get('second_run_s'), '.2f')} s", "aim 1 s; results kept"),
        *[(f"SRResNet {fmt} {f.get('size') or ''}", f"{_f(f.get('seconds'), '.2f')} s",
           f"peak RSS {_f(f.get('peak_rss_gib'), '.2f')} GiB; load {_f(f.get('load_s'), '.1f')} s; {f.get('device')}"
           + ("" if fmt == "keras" else f"; max |diff| vs Keras {_f(f.get('max_abs_diff_vs_keras'), '.1e')}"))
          for fmt, f in r.get("formats", {}).items()],
        ("training input overhead", f"{_f((r['train']['input_overhead'] or 0) * 100 if r['train']['input_overhead'] is not None else None, '+.1f')} %",
         f"{_f(r['train']['pipeline_steps_s'], '.3f')} vs {_f(r['train']['in_memory_steps_s'], '.3f')} steps/s"),
    ]
    rows += srgan_ratios.rows(r.get("srgan_ratios") or {}, _f, f"{r['machine'].get('host')} ({r['machine'].get('cpu')})")
    rows += bicubic_cases.rows(r.get("bicubic") or {}, _f)
    width = max(len(a) for a, _, _ in rows)
    lines = [f"{'case':<{width}}  {'figure':>18}  notes", "-" * (width + 40)]
    lines += [f"{a:<{width}}  {b:>18}  {c}" for a, b, c in rows]
    m = r["machine"]
    lines.append(f"machine: {m.get('host')}, {m['platform']}, {m.get('cpu')}, {m['cpus']} CPUs, {m['device']}, load average {m['load_average']:.1f}"
                 + (", --quick" if m["quick"] else ""))
    for name, err in r.get("errors", {}).items():
        lines.append(f"error in {name}: {err}")
    return "\n".join(lines)


def _ratio(a, b) -> str:
    return "n/a" if not a or not b else f"{a / b:.2f}x"


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description="srviewer benchmarks")
    ap.add_argument("--quick", action="store_true", help="fewer repeats, smaller models where noted")
    ap.add_argument("--json", action="store_true", help="print one JSON object instead of the table")
    ap.add_argument("--only", default="", help="comma-separated case prefixes (conv,upscale,srgan,large,metrics,gui,train,bicubic,big_photo,formats)")
    ap.add_argument("--case", help=argparse.SUPPRESS)   # internal: run one case in this process
    args = ap.parse_args(argv)
    if args.case:
        case = next(getattr(m, f"case_{args.case}") for m in (sys.modules[__name__], bicubic_cases, srgan_ratios)
                    if hasattr(m, f"case_{args.case}"))
        result = case(args.quick)
        print("RESULT " + json.dumps(result, default=float))
        return 0
    result = collect(args.quick, [o for o in args.only.split(",") if o])
    print(json.dumps(result, indent=2, default=float) if args.json else table(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
