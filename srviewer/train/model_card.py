"""`srviewer train export`: a run's generator into weights/ with its model card and curve.

weights/NAME.weights.h5 + NAME.json (the sidecar the methods registry reads), NAME.md (how it was
trained and what it scores) and NAME_curve.png (validation PSNR-Y and training loss over steps,
drawn with Pillow).
"""

from __future__ import annotations

import json
import shutil
from datetime import datetime, timezone
from pathlib import Path

from srviewer.core.atomic import atomic_path, atomic_write_json, atomic_write_text
from srviewer.errors import ModelFileError
from srviewer.train.events import read_events

ARCH_TEXT = {
    "srcnn": "SRCNN (Dong et al.): 9x9 conv (n1) + ReLU, 5x5 conv (n2) + ReLU, 5x5 conv to RGB, "
             "'same' padding, applied to the bicubic-upscaled image.",
    "sr_resnet": "SRResNet, the SRGAN paper's generator: 9x9 head conv + PReLU, residual blocks "
                 "conv-(BN)-PReLU-conv-(BN) with skip, long skip, two x2 pixel-shuffle stages with "
                 "PReLU, 9x9 tail conv.",
}


def _fmt(value, digits=4):
    return "n/a" if value is None else f"{value:.{digits}f}"


def export_run(run_dir: Path, name: str, weights_dir: str | Path | None = None, which: str = "best",
               notes: str | None = None) -> Path:
    from srviewer.core.methods import WEIGHTS_DIR

    run_dir = Path(run_dir)
    weights_dir = Path(weights_dir) if weights_dir else Path(WEIGHTS_DIR)
    src, sidecar_src = run_dir / f"{which}.weights.h5", run_dir / f"{which}.json"
    if not src.exists() or not sidecar_src.exists():
        raise ModelFileError(f"{run_dir} has no {which}.weights.h5 + {which}.json yet (no validation or checkpoint so far)")
    config = json.loads((run_dir / "config.json").read_text())
    sidecar = json.loads(sidecar_src.read_text())
    events = read_events(run_dir)
    sidecar["label"] = {"srcnn": "SRCNN", "srresnet": "SRResNet", "srgan": "SRGAN"}.get(name, name)
    sidecar["trained_by"] = "srviewer train " + config["kind"]
    try:
        weights_dir.mkdir(parents=True, exist_ok=True)
        with atomic_path(weights_dir / f"{name}.weights.h5", suffix=".weights.h5") as tmp:
            shutil.copyfile(src, tmp)
            # inside: if the sidecar cannot be written, the old weights stay too (a matching pair)
            atomic_write_json(weights_dir / f"{name}.json", sidecar)
        curve = weights_dir / f"{name}_curve.png"
        draw_curve(events, curve, title=f"{sidecar['label']}: Set5 PSNR-Y and training loss")
        card = model_card(name, config, sidecar, events, run_dir, curve.name, notes)
        atomic_write_text(weights_dir / f"{name}.md", card)
    except OSError as exc:
        raise ModelFileError(f"could not export to {weights_dir} ({exc.strerror or exc}); "
                             "files already there were left as they were") from None
    return weights_dir / f"{name}.md"


def model_card(name, config, sidecar, events, run_dir, curve_name, notes=None) -> str:
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
        f"{ARCH_TEXT.get(sidecar['factory'], sidecar['factory'])}",
        f"Factory `{sidecar['factory']}({kw})`; input: {'the bicubic-upscaled image' if sidecar.get('input') == 'bicubic' else 'the LR image'}, "
        "float32 RGB in [0, 1]; output RGB in [0, 1].",
        "",
        "## Training",
        f"- Data: HR images from {', '.join(Path(d).name for d in config['data'])} "
        "(`../shared/datasets/sr-train/`, read by path, not in this repository).",
        f"- Degradation: `{config['kernel']}` bicubic x{config['scale']}"
        + (" (MATLAB `imresize`, antialiased: the papers' protocol)" if config["kernel"] == "matlab" else ""),
        f"- Patches: {config['patch']}x{config['patch']} HR, batch {config['batch']}, random flips and 90-degree rotations.",
        f"- Loss: {config['loss'] if config['kind'] != 'srgan' else config['content_loss'] + ' content + ' + str(config['adv_weight']) + ' x adversarial (BCE)'}; "
        f"Adam, learning rate {config['lr']:g}" + (f", x{config['lr_factor']:g} at steps {config['lr_boundaries']}" if config["lr_boundaries"] else "") + ".",
        f"- Steps: {sidecar.get('step')} exported (run planned for {config['steps']}); "
        f"training time {seconds / 3600:.1f} h on {starts[-1].get('machine', 'this machine') if starts else 'this machine'}"
        + (f", about {rate:.2f} steps/s" if rate else "") + ".",
        f"- Reproduce: `srviewer train {config['kind']} --config configs/{config['kind']}.json --out RUN`, "
        f"then `srviewer train export RUN --name {name}`.",
        "",
        "## Scores (Set5, x4, Y channel, border 4)",
        f"At the exported step: PSNR {_fmt(best.get('psnr_y'), 2)} dB, SSIM {_fmt(best.get('ssim_y'))} "
        f"(RGB: {_fmt(best.get('psnr_rgb'), 2)} dB / {_fmt(best.get('ssim_rgb'))}). "
        "Published x4 Set5 figures: bicubic 28.42 / 0.810, SRCNN 30.08 / 0.853, SRResNet 32.05 / 0.902, "
        "SRGAN 29.40 / 0.847. Check with `srviewer bench ../shared/datasets/sr-val/Set5/HR`.",
        "",
        f"![training curve]({curve_name})",
        "",
        "| step | PSNR-Y | SSIM-Y |",
        "|---:|---:|---:|",
    ]
    shown = vals if len(vals) <= 12 else vals[:: max(1, len(vals) // 12)] + [vals[-1]]
    lines += [f"| {v['step']} | {_fmt(v.get('psnr_y'), 2)} | {_fmt(v.get('ssim_y'))} |" for v in shown]
    if notes:
        lines += ["", Path(notes).read_text(encoding="utf-8").strip()]
    return "\n".join(lines) + "\n"


def draw_curve(events, path: Path, title: str = "") -> None:
    """Validation PSNR-Y (left) and training loss (right) against the step, as a PNG."""
    from srviewer.core.figure import line_plot

    vals = [(e["step"], e["psnr_y"]) for e in events if e["event"] == "val" and e.get("psnr_y") is not None]
    loss = [(e["step"], e["loss"]) for e in events if e["event"] == "train" and e.get("loss") is not None]
    line_plot(path, [("Set5 PSNR-Y (dB)", vals), ("training loss", loss)], title=title)
