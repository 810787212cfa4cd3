"""`srviewer train export`: a run's generator into weights/ with its model card and curve.

weights/NAME.weights.h5 + NAME.json (the sidecar the methods registry reads), NAME.md (how it was
trained and what it scores) and NAME_curve.png (validation PSNR-Y and training loss over steps,
drawn with Pillow). The card's scores are measured on the exported file by `srviewer bench` on the
run's validation folder (bicubic and the models it is compared with alongside, sharpness included),
not copied from the training log: the log scores float output, the shipped method 8-bit output.
"""

from __future__ import annotations

import json
import os
import shutil
from datetime import datetime, timezone
from pathlib import Path

import srviewer
from srviewer.core.atomic import atomic_path, atomic_write_json, atomic_write_text
from srviewer.core.lineage import LABELS
from srviewer.errors import ModelFileError, SrviewerError
from srviewer.train.events import read_events
from srviewer.train.network_interpolation import check_alpha, same_architecture, write_blend
from srviewer.train.run_index import generator_name, kept_generators

# Shipped models a card sets the exported one beside (SRGAN's claim is "sharper than SRResNet").
COMPARED_WITH = {"srgan": ["srresnet"], "srresnet": ["srcnn"], "fsrcnn": ["srcnn"], "espcn": ["srcnn", "fsrcnn"],
                 "vdsr": ["srcnn", "fsrcnn", "espcn"]}

ARCH_TEXT = {
    "srcnn": "SRCNN (Dong et al.): 9x9 conv (n1) + ReLU, 5x5 conv (n2) + ReLU, 5x5 conv to RGB, "
             "'same' padding, applied to the bicubic-upscaled image.",
    "fsrcnn": "FSRCNN(d, s, m) (Dong et al. 2016) on the LR image: 5x5 conv (d) + PReLU, 1x1 shrink (s) + "
              "PReLU, m 3x3 convs (s) + PReLU, 1x1 expand (d) + PReLU, 9x9 deconvolution with stride = scale "
              "('same' padding: exactly scale x the input). Runs on RGB (the paper: Y only).",
    "espcn": "ESPCN (Shi et al. 2016) on the LR image, centred to [-1, 1]: 5x5 conv (n1) + {activation}, 3x3 conv "
             "(n2) + {activation} (the paper: tanh), 3x3 conv to 3 x scale^2 channels, pixel shuffle. Runs on RGB "
             "(the paper: Y only).",
    "vdsr": "VDSR (Kim et al. 2016): `depth` 3x3 convs (64 filters, ReLU) on the bicubic-upscaled image, the "
            "last one's residual added to the input (global residual). Runs on RGB (the paper: Y only).",
    "sr_resnet": "SRResNet, the SRGAN paper's generator: 9x9 head conv + PReLU, residual blocks "
                 "conv-(BN)-PReLU-conv-(BN) with skip, long skip, two x2 pixel-shuffle stages with "
                 "PReLU, 9x9 tail conv.",
}


def _architecture(sidecar: dict) -> str:
    """ARCH_TEXT of the sidecar's factory, with its activation where the factory takes one."""
    text = ARCH_TEXT.get(sidecar["factory"], sidecar["factory"])
    return text.replace("{activation}", str(sidecar.get("kwargs", {}).get("activation", "tanh")))


def _fmt(value, digits=4):
    return "n/a" if value is None else f"{value:.{digits}f}"


def export_run(run_dir: Path, name: str, weights_dir: str | Path | None = None, which: str = "best",
               notes: str | None = None, step: int | None = None, interpolate_with: str | Path | None = None,
               alpha: float | None = None) -> Path:
    """RUN's `which` generator ("best" PSNR-Y or "latest"), or the one kept at validation `step`,
    into weights_dir as NAME.* with its card; with `interpolate_with` (a .weights.h5 of the same
    architecture, e.g. the SRResNet an SRGAN run started from), alpha x that generator + (1 - alpha) x
    the other file (train/network_interpolation.py)."""
    from srviewer.core.methods import weights_dir as shipped_weights_dir

    run_dir = Path(run_dir)
    weights_dir = Path(weights_dir) if weights_dir else shipped_weights_dir()
    if not (run_dir / "config.json").is_file():
        raise ModelFileError(f"{run_dir} is not a training run folder (it has no config.json)")
    stem = which if step is None else generator_name(step)
    src, sidecar_src = run_dir / f"{stem}.weights.h5", run_dir / f"{stem}.json"
    if step is not None and not (src.exists() and sidecar_src.exists()):
        kept = list(kept_generators(run_dir))
        raise ModelFileError(f"{run_dir} kept no generator of step {step}; kept: "
                             + (", ".join(map(str, kept)) if kept else "none (--keep-generators was off)"))
    if not src.exists() or not sidecar_src.exists():
        raise ModelFileError(f"{run_dir} has no {which}.weights.h5 + {which}.json yet (no validation or checkpoint so far)")
    if (interpolate_with is None) != (alpha is None):
        raise SrviewerError("network interpolation needs both --interpolate-with FILE and --alpha A")
    config = json.loads((run_dir / "config.json").read_text())
    sidecar = json.loads(sidecar_src.read_text())
    events = read_events(run_dir)
    sidecar["label"] = LABELS.get(name, name)
    sidecar["trained_by"] = "srviewer train " + config["kind"]
    sidecar.pop("interpolation", None)
    if interpolate_with is not None:
        same_architecture(sidecar, Path(interpolate_with))   # before anything is written
        check_alpha(alpha)
    try:
        weights_dir.mkdir(parents=True, exist_ok=True)
        with atomic_path(weights_dir / f"{name}.weights.h5", suffix=".weights.h5") as tmp:
            if interpolate_with is None:
                shutil.copyfile(src, tmp)
            else:
                sidecar["interpolation"] = write_blend(sidecar, src, Path(interpolate_with), alpha, Path(tmp))
                sidecar.pop("val_scores", None)   # they scored the run's generator, not this blend
            # inside: if the sidecar cannot be written, the old weights stay too (a matching pair)
            atomic_write_json(weights_dir / f"{name}.json", sidecar)
        curve = weights_dir / f"{name}_curve.png"
        draw_curve(events, curve, title=f"{sidecar['label']}: Set5 PSNR-Y and training loss")
        measured = score_export(weights_dir, name, config)
        how = f" --step {step}" if step is not None else (" --which latest" if which == "latest" else "")
        if interpolate_with is not None:
            how += f" --interpolate-with {_shown_path(Path(interpolate_with))} --alpha {alpha:g}"
        card = model_card(name, config, sidecar, events, run_dir, curve.name, notes, measured, how)
        atomic_write_text(weights_dir / f"{name}.md", card)
    except OSError as exc:
        raise ModelFileError(f"could not export to {weights_dir} ({exc.strerror or exc}); "
                             "files already there were left as they were") from None
    return weights_dir / f"{name}.md"


def score_export(weights_dir: Path, name: str, config: dict) -> dict | None:
    """`srviewer bench` means on the run's validation folder for bicubic, the models `name` is
    compared with (where weights_dir has them) and `name` itself, as {"folder", "rows"}; None
    without a validation folder."""
    from srviewer.core.bench import bench
    from srviewer.core.methods import default_registry

    val = config.get("val")
    if not val or not Path(val).is_dir():
        return None
    registry = default_registry(weights_dir, kernel=config["kernel"])
    others = [m for m in COMPARED_WITH.get(name, []) if registry.get(m).availability()[0]]
    try:
        rows = bench(val, ["bicubic", *others, name], registry, kernel=config["kernel"], scale=config["scale"])
    except SrviewerError as exc:    # e.g. an image too small to score: the card says so instead
        return {"folder": str(val), "rows": [], "error": str(exc)}
    return {"folder": str(val), "rows": [r for r in rows if r["image"] == "mean"]}


def _set_name(val) -> str:
    """The set's name for the card: Set5 for .../Set5/HR or .../Set5; "validation set" without a folder."""
    if not val:
        return "validation set"
    folder = Path(val)
    return folder.parent.name if folder.name.upper() == "HR" else folder.name


def _shown_path(folder: Path) -> str:
    """A folder or file as a reader of the repository would type it: relative to the repository
    root when it lies in or beside it (weights/..., ../shared/datasets/...), else absolute."""
    root = Path(srviewer.__file__).resolve().parent.parent
    relative = os.path.relpath(folder.resolve(), root)
    return relative if not relative.startswith(os.path.join("..", "..")) else str(folder.resolve())


def _measured_lines(name: str, measured: dict) -> list[str]:
    shown = _shown_path(Path(measured["folder"]))
    if measured.get("error"):
        return [f"Not measured: `srviewer bench {shown}` failed ({measured['error']})."]
    methods = ",".join(r["method"] for r in measured["rows"])
    lines = [f"Measured on the exported file: `srviewer bench {shown} --methods {methods}` "
             "(sharpness: Laplacian energy of the result over that of the ground truth, mean over "
             "the images; 1 = as much fine detail as the truth).", "",
             "| method | PSNR-Y | SSIM-Y | PSNR-RGB | SSIM-RGB | sharpness |",
             "|---|---:|---:|---:|---:|---:|"]
    for r in measured["rows"]:
        label = f"**{r['method']} (this file)**" if r["method"] == name else r["method"]
        lines.append(f"| {label} | {r['psnr_y']:.2f} | {r['ssim_y']:.4f} | {r['psnr_rgb']:.2f} | "
                     f"{r['ssim_rgb']:.4f} | {r['sharpness']:.3f} |")
    return lines


def model_card(name, config, sidecar, events, run_dir, curve_name, notes=None, measured=None,
               export_flags: str = "") -> str:
    vals = [e for e in events if e["event"] == "val"]
    trains = [e for e in events if e["event"] == "train"]
    starts = [e for e in events if e["event"] == "started"]
    state_file = Path(run_dir) / "state.json"
    seconds = json.loads(state_file.read_text()).get("train_seconds", 0.0) if state_file.exists() else 0.0
    best = sidecar.get("val_scores") or {}
    kw = ", ".join(f"{k}={v}" for k, v in sidecar.get("kwargs", {}).items())
    rate = trains[-1].get("steps_per_s") if trains else None
    lines = [
        f"# {sidecar['label']} x{sidecar.get('scale', 4)} (`weights/{name}.weights.h5`)",
        "",
        f"Trained by srviewer itself (`srviewer train {config['kind']}`); exported "
        f"{datetime.now(timezone.utc):%Y-%m-%d} from step {sidecar.get('step')} of run `{Path(run_dir).name}`.",
        "",
        "## Architecture",
        _architecture(sidecar),
        f"Factory `{sidecar['factory']}({kw})`; input: {'the bicubic-upscaled image' if sidecar.get('input') == 'bicubic' else 'the LR image'}, "
        "float32 RGB in [0, 1]; output RGB in [0, 1].",
        "",
        "## Training",
        f"- Data: HR images from {', '.join(Path(d).name for d in config['data'])} "
        "(`../shared/datasets/sr-train/`, read by path, not in this repository).",
        f"- Degradation: `{config['kernel']}` bicubic x{config['scale']}"
        + (" (MATLAB `imresize`, antialiased: the papers' protocol)" if config["kernel"] == "matlab" else ""),
        f"- Patches: {config['patch']}x{config['patch']} HR, batch {config['batch']}, random flips and 90-degree rotations.",
        f"- Loss: {config['loss'] if config['kind'] != 'srgan' else _gan_loss_text(config)}; " + _optimizer_text(config) + (f", x{config['lr_factor']:g} at steps {config['lr_boundaries']}" if config["lr_boundaries"] else "") + ".",
        f"- Steps: {sidecar.get('step')} exported (run planned for {config['steps']}); "
        f"training time {seconds / 3600:.1f} h on {starts[-1].get('machine', 'this machine') if starts else 'this machine'}"
        + (f", about {rate:.2f} steps/s" if rate else "") + ".",
        *_interpolation_lines(sidecar),
        f"- Reproduce: `srviewer train {config['kind']} --config configs/{config['kind']}.json --out RUN`, "
        f"then `srviewer train export RUN --name {name}{export_flags}`.",
        "",
        f"## Scores ({_set_name(config.get('val'))}, x{config['scale']}, Y channel, border {config['scale']})",
        *(_measured_lines(name, measured) if measured else [
            f"Validation at the exported step (float output; no validation folder to measure the file on): "
            f"PSNR {_fmt(best.get('psnr_y'), 2)} dB, SSIM {_fmt(best.get('ssim_y'))} "
            f"(RGB: {_fmt(best.get('psnr_rgb'), 2)} dB / {_fmt(best.get('ssim_rgb'))})."]),
        "",
        "Published x4 Set5 figures (PSNR-Y / SSIM-Y): bicubic 28.42 / 0.810, SRCNN 30.08 / 0.853, "
        "FSRCNN 30.71 / 0.866, ESPCN 30.90 (ImageNet-trained), VDSR 31.35 / 0.884, SRResNet 32.05 / 0.902, "
        "SRGAN 29.40 / 0.847.",
        "",
        f"![training curve]({curve_name})",
        "",
        *(["Validation during training scored the run's generator alone, before the interpolation above:", ""]
          if sidecar.get("interpolation") else []),
        "| step | PSNR-Y | SSIM-Y |",
        "|---:|---:|---:|",
    ]
    shown = vals if len(vals) <= 12 else vals[:: -(-len(vals) // 12)]   # about 12 rows, the last one always
    if vals and shown[-1] is not vals[-1]:
        shown = shown + [vals[-1]]
    lines += [f"| {v['step']} | {_fmt(v.get('psnr_y'), 2)} | {_fmt(v.get('ssim_y'))} |" for v in shown]
    if notes:
        lines += ["", Path(notes).read_text(encoding="utf-8").strip()]
    return "\n".join(lines) + "\n"


def _interpolation_lines(sidecar: dict) -> list[str]:
    """The card's line on network interpolation, where the export blended two files."""
    mix = sidecar.get("interpolation")
    if not mix:
        return []
    return [f"- Network interpolation (ESRGAN's, no training): every weight is {mix['alpha']:g} x this run's "
            f"generator + {1 - mix['alpha']:g} x `{mix['with']}`'s (sha256 {mix['with_sha256'][:12]}...), "
            "trading invented detail against smoothness."]


def _gan_loss_text(config: dict) -> str:
    """'l1 content + 0.001 x adversarial (relativistic average, ESRGAN's) + 0.001 x feature matching ...'."""
    kind = {"bce": "BCE, the paper's", "ragan": "relativistic average, ESRGAN's"}.get(config.get("gan_loss", "bce"),
                                                                                  config.get("gan_loss"))
    text = f"{config['content_loss']} content + {config['adv_weight']:g} x adversarial ({kind})"
    if config.get("feature_matching"):
        text += f" + {config['feature_matching']:g} x feature matching (L1 on the discriminator's features)"
    if config.get("texture_weight"):
        text += f" + {config['texture_weight']:g} x texture (Gram matrices of a fixed random conv layer)"
    if config.get("spectral_norm"):
        text += "; spectral normalisation in the discriminator"
    return text


def _optimizer_text(config: dict) -> str:
    """'Adam, learning rate 0.0004' or 'SGD (momentum 0.9), learning rate 0.1, adjustable gradient clipping 0.01'."""
    sgd = config.get("optimizer") == "sgd"
    text = (f"SGD (momentum {config.get('momentum', 0.9):g})" if sgd else "Adam") + f", learning rate {config['lr']:g}"
    if config.get("clip"):
        text += f", adjustable gradient clipping {config['clip']:g} (each element within +-{config['clip']:g} / rate)"
    return text


def draw_curve(events, path: Path, title: str = "") -> None:
    """Validation PSNR-Y (left) and training loss (right) against the step, as a PNG."""
    from srviewer.core.figure import line_plot

    vals = [(e["step"], e["psnr_y"]) for e in events if e["event"] == "val" and e.get("psnr_y") is not None]
    loss = [(e["step"], e["loss"]) for e in events if e["event"] == "train" and e.get("loss") is not None]
    line_plot(path, [("Set5 PSNR-Y (dB)", vals), ("training loss", loss)], title=title)
