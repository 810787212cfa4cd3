"""The augmentation experiment's results: results.json, a markdown table, an accuracy plot (Pillow).

Input everywhere: `histories = {variant: [epoch record, ...]}` where an epoch record is the
`epoch` event's payload ({"epoch", "loss", "accuracy", "val_loss", "val_accuracy", ...}).
All files are written atomically. No TensorFlow, no matplotlib.
"""

from __future__ import annotations

from pathlib import Path

from PIL import Image, ImageDraw, ImageFont

from srviewer.core.atomic import atomic_write, atomic_write_json, atomic_write_text

COLOURS = {"none": (60, 60, 60), "flip_brightness": (31, 119, 180), "cutmix": (214, 39, 40),
           "mixup": (44, 160, 44)}
EXTRA_COLOURS = [(148, 103, 189), (255, 127, 14), (140, 86, 75), (23, 190, 207)]


def summarise(histories: dict[str, list[dict]]) -> dict[str, dict]:
    """Per variant: the last epoch's figures and the best validation accuracy (with its epoch)."""
    out = {}
    for variant, history in histories.items():
        if not history:
            continue
        best = max(history, key=lambda r: (r["val_accuracy"], -r["epoch"]))
        out[variant] = {"final": dict(history[-1]), "best_val_accuracy": best["val_accuracy"],
                        "best_epoch": best["epoch"], "epochs": len(history), "history": list(history)}
    return out


def table_markdown(summary: dict[str, dict], title: str = "") -> str:
    lines = [f"# {title}", ""] if title else []
    lines += ["| variant | epochs | train loss | train acc | val loss | val acc | best val acc (epoch) |",
              "|---|---|---|---|---|---|---|"]
    for variant, s in summary.items():
        f = s["final"]
        lines.append(f"| {variant} | {s['epochs']} | {f['loss']:.4f} | {f['accuracy']:.4f} | "
                     f"{f['val_loss']:.4f} | {f['val_accuracy']:.4f} | {s['best_val_accuracy']:.4f} ({s['best_epoch']}) |")
    return "\n".join(lines) + "\n"


def plot_accuracy(histories: dict[str, list[dict]], path, title: str = "Validation accuracy per variant",
                  size: tuple[int, int] = (800, 500)) -> Path:
    """Validation accuracy (solid) and training accuracy (thin) per epoch, one colour per variant."""
    width, height = size
    left, right, top, bottom = 70, 190, 40, 60
    image = Image.new("RGB", size, "white")
    draw = ImageDraw.Draw(image)
    font = ImageFont.load_default()
    epochs = max((r["epoch"] for h in histories.values() for r in h), default=1)
    values = [r[k] for h in histories.values() for r in h for k in ("val_accuracy", "accuracy")]
    lo = max(0.0, (min(values, default=0.0) // 0.1) * 0.1)
    hi = min(1.0, (max(values, default=1.0) // 0.1 + 1) * 0.1)
    hi = max(hi, lo + 0.1)
    pw, ph = width - left - right, height - top - bottom

    def xy(epoch, value):
        x = left + (pw * (epoch - 1) / (epochs - 1) if epochs > 1 else pw / 2)
        return x, top + ph * (1 - (value - lo) / (hi - lo))

    draw.rectangle([left, top, left + pw, top + ph], outline=(0, 0, 0))
    steps = int(round((hi - lo) / 0.1))
    for i in range(steps + 1):
        v = lo + i * (hi - lo) / steps
        _, y = xy(1, v)
        draw.line([left, y, left + pw, y], fill=(225, 225, 225))
        draw.text((left - 40, y - 6), f"{v:.1f}", fill=(0, 0, 0), font=font)
    for e in range(1, epochs + 1, max(1, epochs // 10)):
        x, _ = xy(e, lo)
        draw.line([x, top + ph, x, top + ph + 5], fill=(0, 0, 0))
        draw.text((x - 4, top + ph + 8), str(e), fill=(0, 0, 0), font=font)
    draw.text((left + pw // 2 - 15, height - 25), "epoch", fill=(0, 0, 0), font=font)
    draw.text((left, 12), title, fill=(0, 0, 0), font=font)
    for i, (variant, history) in enumerate(histories.items()):
        colour = COLOURS.get(variant, EXTRA_COLOURS[i % len(EXTRA_COLOURS)])
        for key, line_width in (("accuracy", 1), ("val_accuracy", 3)):
            points = [xy(r["epoch"], r[key]) for r in history]
            if len(points) > 1:
                draw.line(points, fill=colour, width=line_width)
            for x, y in points:
                r = line_width + 1
                draw.ellipse([x - r, y - r, x + r, y + r], fill=colour)
        ly = top + 10 + 20 * i
        draw.line([left + pw + 15, ly + 6, left + pw + 45, ly + 6], fill=colour, width=3)
        draw.text((left + pw + 52, ly), variant, fill=(0, 0, 0), font=font)
    ly = top + 10 + 20 * len(histories) + 10
    draw.text((left + pw + 15, ly), "thick: val, thin: train", fill=(90, 90, 90), font=font)
    path = Path(path)
    with atomic_write(path, "wb") as handle:
        image.save(handle, format="PNG")
    return path


def write_results(run_dir, histories: dict[str, list[dict]], meta: dict) -> dict:
    """results.json + summary.md + accuracy.png in run_dir; returns the results dict."""
    run_dir = Path(run_dir)
    summary = summarise(histories)
    results = {**meta, "variants": summary, "table": "summary.md", "plot": "accuracy.png"}
    atomic_write_json(run_dir / "results.json", results)
    title = f"Augmentation experiment: {meta.get('model', '')} on {meta.get('data', '')}"
    note = "" if meta.get("pretrained") else "\nTrained from scratch (no ImageNet weights).\n"
    atomic_write_text(run_dir / "summary.md", table_markdown(summary, title) + note)
    plot_accuracy(histories, run_dir / "accuracy.png")
    return results
