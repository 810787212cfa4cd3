"""Headless jobs: `srviewer upscale`, `srviewer compare`, `srviewer bench`.

The same core engine as the window (methods registry, comparison run, export). Registering the
sub-commands imports neither TensorFlow nor Qt; TensorFlow loads when a learned method first runs.
"""

from __future__ import annotations

import json
import math
import sys
import time
from pathlib import Path

from srviewer.errors import MethodUnavailable, SrviewerError

DEFAULT_METHODS = "bicubic,srcnn,srresnet,srgan"
METHODS_HELP = ("comma-separated method names, or `all`; shown in lineage order: bicubic (1981), srcnn (2014), "
                "fsrcnn, espcn, vdsr (2016), srresnet, srgan (2017), then --model files (`srviewer methods` "
                f"lists them; default {DEFAULT_METHODS})")


def _positive_int(text: str) -> int:
    import argparse

    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"wants a positive whole number, not {text!r}")
    return value


def _add_common(p) -> None:
    p.add_argument("--weights-dir", default=None, help="folder of NAME.weights.h5 + NAME.json (default: weights/)")
    p.add_argument("--kernel", choices=("matlab", "opencv"), default="matlab",
                   help="bicubic kernel: matlab (antialiased imresize, the papers') or opencv (INTER_CUBIC)")
    from srviewer.core.formats import help_text

    p.add_argument("--model", action="append", default=[], metavar="FILE_OR_FOLDER",
                   help="add a model as a method; " + help_text())
    p.add_argument("--trust-model-code", action="store_true",
                   help="allow model files that carry code (Lambda layers): only for files you trust")
    add_model_convention_options(p)
    p.add_argument("--tile", type=_positive_int, default=None, metavar="N",
                   help="LR tile side for learned methods: tiles of up to (N+32)^2 LR pixels, context included "
                        "(default: from the memory budget)")
    p.add_argument("--precision", choices=("float32", "mixed"), default=None,
                   help="learned methods' compute precision: float32 (default) or mixed (16-bit: float16 on "
                        "a GPU, bfloat16 on CPU; SRResNet/SRGAN only; results differ slightly)")
    p.add_argument("-v", "--verbose", action="store_true",
                   help="also show what the image decoders said (warnings about damaged or odd files)")


def add_model_convention_options(p) -> None:
    """--model-range, --model-channels, --model-repeat: they win over the sidecar and the detection."""
    p.add_argument("--model-range", choices=("0..1", "0..255", "-1..1"), default=None,
                   help="the --model's value range (default: its sidecar, else detected)")
    p.add_argument("--model-channels", choices=("rgb", "bgr", "y"), default=None,
                   help="the --model's channels: rgb, bgr or y (luma; colour from bicubic chroma)")
    p.add_argument("--model-repeat", type=_positive_int, default=1, metavar="N",
                   help="run the --model N times (a x2 model twice for a x4 comparison)")


def model_options(args) -> dict:
    return {"value_range": args.model_range, "channels": args.model_channels, "repeat": args.model_repeat}


def register(subparsers) -> None:
    up = subparsers.add_parser("upscale", help="upscale an image, or every image of a folder, x4 with one method",
                               description="Blind x4 upscaling of IMAGE (alpha and 16-bit kept). With a FOLDER: "
                               "every file in it becomes OUTDIR/STEM_x4_METHOD.png; unreadable files are skipped "
                               "and named; outputs that exist are kept, so running it again resumes.")
    up.add_argument("image", metavar="IMAGE_OR_FOLDER")
    up.add_argument("-o", "--out", help="output file (default IMAGE_x4_METHOD.png); for a folder, the output "
                                        "folder (default FOLDER_x4_METHOD beside it)")
    up.add_argument("--overwrite", action="store_true",
                    help="folders: redo outputs that exist (default: keep them, which resumes an interrupted run)")
    up.add_argument("--method", default="srgan", help="bicubic, srcnn, fsrcnn, espcn, vdsr, srresnet, srgan or a "
                    "--model's name (default srgan)")
    _add_common(up)
    up.set_defaults(func=run_upscale)

    cmp_ = subparsers.add_parser("compare", help="compare methods on one image, with PSNR/SSIM",
                                 description="Reference mode (default): IMAGE is the ground truth and the LR "
                                 "is made from it. Blind mode: IMAGE is the LR input; nothing is scored.")
    cmp_.add_argument("image")
    mode = cmp_.add_mutually_exclusive_group()
    mode.add_argument("--reference", dest="mode", action="store_const", const="reference")
    mode.add_argument("--blind", dest="mode", action="store_const", const="blind")
    cmp_.set_defaults(mode="reference")
    cmp_.add_argument("--methods", default=DEFAULT_METHODS, help=METHODS_HELP)
    cmp_.add_argument("-o", "--out", help="export folder: result images, figure.png, metrics.csv, manifest.json")
    cmp_.add_argument("--crop", help="x,y,w,h in HR pixels for crop scores and the figure (default: a centre crop)")
    cmp_.add_argument("--json", action="store_true", help="print one JSON object instead of a table")
    add_degrade_option(cmp_)
    cmp_.add_argument("--result", action="append", default=[], metavar="NAME=FILE",
                      help="add a result image made elsewhere as a method (the HR's size, or the LR's x4 in blind mode)")
    _add_common(cmp_)
    cmp_.set_defaults(func=run_compare)

    b = subparsers.add_parser("bench", help="score methods on a folder of HR images (e.g. Set5)")
    b.add_argument("hr_dir")
    b.add_argument("--lr-dir", help="use these LR files (paired with the HR files in sorted order) instead of making them")
    b.add_argument("--methods", default=DEFAULT_METHODS, help=METHODS_HELP)
    b.add_argument("--json", action="store_true")
    add_degrade_option(b)
    b.add_argument("--sweep", metavar="KEY=V1,V2,...",
                   help="run every method at every value of one degradation key (blur, noise, jpeg, angle), the "
                        "rest fixed by --degrade: a table, --json, and with --out sweep.csv and sweep.png")
    b.add_argument("-o", "--out", help="with --sweep: folder for sweep.csv, sweep.json and the plot sweep.png")
    b.add_argument("--result", action="append", default=[], metavar="NAME=FOLDER",
                   help="add a folder of result images made elsewhere as a method, paired with the HR files "
                        "by stem, by stem plus a suffix (img_001_SR.png), else in sorted order")
    _add_common(b)
    b.set_defaults(func=run_bench)


def add_degrade_option(p) -> None:
    p.add_argument("--degrade", metavar="CHAIN", default=None,
                   help="reference mode's LR through a degradation chain, e.g. blur=1.2,kernel=matlab,noise=5,jpeg=60,seed=0 "
                        "(blur=SX:SY with angle=DEG is anisotropic; kernel: matlab, opencv, bilinear, nearest, area; "
                        "noise_mode=grey; the kernel defaults to --kernel)")


def degradation(args):
    """The chain of --degrade over --kernel (core.degrade.Chain), or None without --degrade."""
    if not getattr(args, "degrade", None):
        return None
    from srviewer.core.degrade import Chain, parse_chain

    return parse_chain(args.degrade, base=Chain(kernel=getattr(args, "kernel", "matlab")))


def _registry(args):
    from srviewer.core.methods import default_registry

    registry = default_registry(weights_dir=args.weights_dir, kernel=args.kernel)
    added = []
    for path in args.model:
        try:
            added.append(registry.add_model_file(path, trust_code=args.trust_model_code, **model_options(args)).name)
        except SrviewerError as exc:   # with several --model files, say which one
            if Path(path).name in str(exc):
                raise
            raise type(exc)(f"--model {path}: {exc}") from None
    for method in registry:
        if args.tile and hasattr(method, "tile"):
            method.tile = args.tile
        if args.precision and hasattr(method, "precision"):
            method.precision = args.precision
    return registry, added


def _requested(registry, methods: str, added: list[str]) -> list[str]:
    """--methods (names, or `all`: every registered method) and the --model files, in lineage order
    (core/lineage.py; models from files after it), those that can run (the others are reported)."""
    from srviewer.core.lineage import lineage_order

    names = registry.names() if methods.strip().lower() == "all" else [n for n in methods.split(",") if n]
    return _usable(registry, lineage_order(names + added))


def _usable(registry, names: list[str]) -> list[str]:

    usable, skipped = [], []
    for name in names:
        try:
            ok, reason = registry.get(name).availability()
        except KeyError:
            ok, reason = False, f"unknown method {name!r} (known: {', '.join(registry.names())})"
        if ok:
            usable.append(name)
        else:
            skipped.append(f"{name}: {reason}")
    if not usable:  # one line on stderr (the CLI's rule for user errors): the reasons go into it
        raise MethodUnavailable("no requested method can run (" + "; ".join(skipped) + ")" if skipped
                                else "no method was requested")
    for line in skipped:
        print(f"srviewer: skipping {line}", file=sys.stderr)
    return usable


def _progress_printer(name: str):
    """A progress callback: one self-overwriting line on a terminal, nothing in a log file."""
    def progress(fraction: float) -> None:
        if sys.stderr.isatty():
            print(f"\r{name}: {fraction * 100:5.1f}%", end="", file=sys.stderr, flush=True)
    return progress


def _done_line(name: str, seconds: float) -> None:
    print(f"\r{name}: done in {seconds:.2f} s" if sys.stderr.isatty() else f"{name}: done in {seconds:.2f} s",
          file=sys.stderr)


def _check_output(out: Path) -> None:
    from srviewer.core.images import _WRITE_FORMATS
    from srviewer.errors import ImageWriteError

    if out.is_dir():
        raise ImageWriteError(f"{out} is a folder: give an output file name, e.g. {out / 'result.png'}")
    if out.suffix.lower() not in _WRITE_FORMATS:
        raise ImageWriteError(f"{out}: unknown image extension (use {', '.join(sorted(_WRITE_FORMATS))})")


def run_upscale(args) -> int:
    from srviewer.core.images import read_image, write_image
    from srviewer.core.methods import upscale_image

    if Path(args.image).is_dir():
        from srviewer.cli_upscale_folder import run_upscale_folder

        registry, added = _registry(args)
        name = added[0] if added and args.method == "srgan" else args.method
        _usable(registry, [name])
        return run_upscale_folder(args, registry, name)
    loaded = read_image(args.image)
    registry, added = _registry(args)
    name = added[0] if added and args.method == "srgan" else args.method
    _usable(registry, [name])
    src = Path(args.image)
    out = Path(args.out) if args.out else src.with_name(f"{src.stem}_x4_{name}.png")
    _check_output(out)   # before the (maybe minutes long) upscale, not after it
    start = time.perf_counter()
    result = upscale_image(registry.get(name), loaded, progress=_progress_printer(name))
    _done_line(name, time.perf_counter() - start)
    write_image(out, result.rgb, result.alpha)
    for note in loaded.notes:
        if args.verbose or not note.startswith("decoder:"):   # decoder chatter only with -v
            print(f"note: {note}", file=sys.stderr)
    print(f"wrote {out} ({result.width}x{result.height})")
    return 0


def _parse_crop(text: str | None):

    if not text:
        return None
    try:
        x, y, w, h = (int(v) for v in text.split(","))
    except ValueError:
        raise SrviewerError(f"--crop wants x,y,w,h in pixels, not {text!r}") from None
    if w <= 0 or h <= 0:
        raise SrviewerError("--crop width and height must be positive")
    return (x, y, w, h)


def _json_safe(obj):
    """Strict JSON: non-finite floats (PSNR of identical images is inf) become null."""
    if isinstance(obj, float):
        return obj if math.isfinite(obj) else None
    if isinstance(obj, dict):
        return {k: _json_safe(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_json_safe(v) for v in obj]
    return obj


def _fmt(v, digits):
    return "" if v is None else ("inf" if math.isinf(v) else f"{v:.{digits}f}")


def run_compare(args) -> int:
    from srviewer.core.images import read_image
    from srviewer.core.result_images import add_results
    from srviewer.core.session import ComparisonSession
    from srviewer.errors import ImageWriteError

    if args.out and Path(args.out).exists() and not Path(args.out).is_dir():   # before the methods run
        raise ImageWriteError(f"{args.out} is a file: -o wants an export folder")
    loaded = read_image(args.image)
    registry, added = _registry(args)
    results = add_results(registry, args.result)
    for name in results:   # a result of the wrong size is one line, before anything runs
        registry.get(name).fitted(loaded.rgb.shape[:2], args.mode)
    session = ComparisonSession(registry, mode=args.mode, kernel=args.kernel)
    session.set_degradation(degradation(args))
    session.set_image(loaded)
    session.set_methods(_requested(registry, args.methods, added + results))
    crop = _parse_crop(args.crop)

    def check_crop(_prepared) -> None:   # once the output size is known, before any method runs
        try:
            session.set_crop(crop)
        except ValueError as exc:
            raise SrviewerError(f"--crop: {exc}") from None

    session.events.prepared.connect(check_crop)
    session.events.message.connect(lambda level, text: None if text.startswith("decoder:") and not args.verbose else
                                   print(f"{'note' if level == 'info' else 'srviewer'}: {text}", file=sys.stderr))
    session.events.method_progress.connect(lambda name, fraction: _progress_printer(name)(fraction))
    session.events.method_finished.connect(lambda r: _done_line(r.name, r.seconds))
    session.events.method_failed.connect(lambda name, message: print(f"srviewer: {name} failed: {message}",
                                                                     file=sys.stderr))
    finished = session.run()
    if not finished.results:
        raise MethodUnavailable("no method produced a result: " + "; ".join(f"{n}: {m}" for n, m in finished.failed.items()))
    crop, region = session.crop, session.crop_scores
    if args.out:
        session.export(args.out)
    if args.json:
        print(json.dumps(_json_safe({
            "image": str(args.image), "mode": args.mode, "kernel": args.kernel, "crop": crop,
            "degradation": str(session.chain()) if args.mode == "reference" else None,
            "results": {n: {"scores": r.scores, "seconds": r.seconds, "device": r.device,
                            "crop_scores": region.get(n)} for n, r in finished.results.items()},
            "failed": finished.failed}), indent=2))
        return 0
    print(f"{'method':<12} {'PSNR-Y':>8} {'SSIM-Y':>8} {'PSNR-RGB':>9} {'SSIM-RGB':>9} {'seconds':>8}")
    for name, r in finished.results.items():
        s = r.scores or {}
        print(f"{name:<12} {_fmt(s.get('psnr_y'), 2):>8} {_fmt(s.get('ssim_y'), 4):>8} "
              f"{_fmt(s.get('psnr_rgb'), 2):>9} {_fmt(s.get('ssim_rgb'), 4):>9} {r.seconds:>8.2f}")
    if region:
        print(f"crop {crop}:")
        for name, s in region.items():
            print(f"{name:<12} {_fmt(s['psnr_y'], 2):>8} {_fmt(s['ssim_y'], 4):>8}")
    if args.mode == "reference":
        print("PSNR/SSIM: Y of BT.601, border 4 (paper convention); RGB with the same border")
        print(f"LR: {session.chain()}")
    if args.out:
        print(f"exported to {args.out}")
    return 0


def run_bench(args) -> int:
    from srviewer.core.bench import bench
    from srviewer.core.degrade import Chain
    from srviewer.core.result_images import add_results

    registry, added = _registry(args)
    added += add_results(registry, args.result, folders=True)
    chain = degradation(args)
    if args.lr_dir and (chain is not None or args.sweep):
        raise SrviewerError("--lr-dir gives the LR files: it cannot be combined with --degrade or --sweep")
    if args.out and not args.sweep:
        raise SrviewerError("bench --out goes with --sweep (the sweep's CSV and plot)")
    sweep = None
    if args.sweep:   # every value checked before anything runs
        from srviewer.core.sweep import parse_sweep

        sweep = parse_sweep(args.sweep, chain or Chain(kernel=args.kernel))
    names = _requested(registry, args.methods, added)
    if sweep is not None:
        from srviewer.cli_sweep import run_sweep_command

        return run_sweep_command(args, sweep, names, registry)
    rows = bench(args.hr_dir, names, registry, lr_dir=args.lr_dir, kernel=args.kernel,
                 report=lambda line: print(line, file=sys.stderr), degradation=chain)
    if args.json:
        summary = {r["method"]: {k: r[k] for k in ("psnr_y", "ssim_y", "psnr_rgb", "ssim_rgb", "sharpness")}
                   | {"n": sum(1 for x in rows if x["method"] == r["method"] and x["image"] != "mean")}
                   for r in rows if r["image"] == "mean"}
        print(json.dumps(_json_safe({
            "hr_dir": str(args.hr_dir), "lr_dir": args.lr_dir, "kernel": args.kernel,
            "degradation": None if args.lr_dir else str(chain or Chain(kernel=args.kernel)),
            "convention": "Y BT.601, border 4, data range 255", "methods": summary,
            "result_pairing": {n: [[hr.name, res.name, rule] for hr, res, rule in registry.get(n).pairing.pairs]
                               for n in names if getattr(registry.get(n), "pairing", None)},
            "images": [r for r in rows if r["image"] != "mean"]}), indent=2))
        return 0
    print(f"{'method':<12} {'image':<14} {'PSNR-Y':>8} {'SSIM-Y':>8} {'PSNR-RGB':>9} {'SSIM-RGB':>9} {'sharp':>6}")
    for r in rows:
        print(f"{r['method']:<12} {r['image']:<14} {_fmt(r['psnr_y'], 2):>8} {_fmt(r['ssim_y'], 4):>8} "
              f"{_fmt(r['psnr_rgb'], 2):>9} {_fmt(r['ssim_rgb'], 4):>9} {_fmt(r['sharpness'], 3):>6}")
    return 0
