"""The augmentation experiment repeated over seeds, and its report (a model card for it).

`run_seeds(config, seeds)` runs `augment.run_experiment` once per seed into OUT/seed_N (each
resumable on its own; a finished seed is not rerun), then writes into OUT:

- augment.json: {"variants": {NAME: {"val_accuracy": [final value per seed], "mean", "std"}},
  "paired": {"baseline": "none", "variants": {NAME: {"gains", "mean", "std", "better"}}} (the gain
  over no augmentation seed by seed, `paired_gains`),
  "seeds", "recipe", ...}; std is the sample standard deviation (ddof=1) over seeds;
- augment.md: the recipe (the command that reproduces it), a table of mean ± std validation
  accuracy per variant, the accuracy plot (mean over seeds per epoch), the augmentation preview,
  and what the numbers show and do not;
- accuracy.png, preview.png;
- config.json (first: the recipe and the seeds) and events.jsonl: "started" (total_steps = the
  number of seeds), a "seed" event as each seed ends, then one "epoch" event per variant and epoch
  (means over seeds) and "finished" with the plot, so the Training tab follows OUT while it runs
  and lists it as a past run (train/run_state.py); `--resume OUT` continues over the same seeds.

`report_dir` (e.g. docs/experiments) gets copies of augment.md, augment.json, the two PNGs,
events.jsonl and config.json: the Training tab opens that folder as the finished experiment.
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import numpy as np

from srviewer.core.atomic import atomic_write, atomic_write_json, atomic_write_text
from srviewer.train.augment_report import plot_accuracy
from srviewer.train.events import EventLog, read_events

REPORT = "augment.md"
RESULTS = "augment.json"


def seed_dir(out: Path, seed: int) -> Path:
    return Path(out) / f"seed_{seed}"


def command_line(config, seeds) -> str:
    """The `srviewer train augment` command that reproduces the experiment."""
    parts = ["srviewer train augment", f"--data {config.data}", f"--out {config.out}", f"--model {config.model}",
             f"--weights {config.weights}", f"--size {config.size}", f"--epochs {config.epochs}",
             f"--batch {config.batch}", f"--variants {','.join(config.variants)}"]
    parts += [f"--{k.replace('_', '-')} {getattr(config, k)}" for k in ("lr", "alpha", "max_batches")
              if getattr(config, k) is not None]
    if config.lr_schedule != "constant":
        parts.append(f"--lr-schedule {config.lr_schedule}")
    return " ".join(parts + (["--tta"] if config.tta else []) + [f"--seeds {','.join(map(str, seeds))}"])


def saved_seeds(run_dir) -> list[int] | None:
    """The seeds of a `--seeds` experiment folder (its config.json), or None for any other folder."""
    try:
        seeds = json.loads((Path(run_dir) / "config.json").read_text(encoding="utf-8")).get("seeds")
    except (OSError, ValueError, AttributeError):
        return None
    return [int(s) for s in seeds] if isinstance(seeds, list) else None


def _recipe(config) -> dict:
    return {k: v for k, v in dataclasses.asdict(config).items() if k not in ("out", "seed")}


def run_seeds(config, seeds: list[int], stop=None, echo=None, report_dir=None) -> dict:
    """Run the experiment per seed, then write the report; {"reason": "done"|"stopped", ...}.

    OUT/config.json is written first (so OUT is a run folder from the start, and `--resume OUT`
    continues over the same seeds); OUT/events.jsonl follows the experiment seed by seed ("started"
    with total_steps = the number of seeds, a "seed" event as each one ends, "finished")."""
    from srviewer.train import augment

    out = Path(config.out)
    out.mkdir(parents=True, exist_ok=True)
    if not (out / "config.json").exists():
        atomic_write_json(out / "config.json", {"kind": "augment", "seeds": list(seeds), **_recipe(config)})
    events = EventLog(out)
    finished_before = any(e.get("event") == "finished" and e.get("reason") == "done" for e in read_events(out))
    per_seed: dict[int, dict] = {}
    for seed in seeds:
        done = seed_dir(out, seed) / "results.json"
        if done.exists():
            per_seed[seed] = json.loads(done.read_text(encoding="utf-8"))
    if not finished_before:
        events.emit("started", step=len(per_seed), total_steps=len(seeds), kind="augment", seeds=list(seeds),
                    variants=list(config.variants), resumed=bool(per_seed))
    for seed in seeds:
        if seed in per_seed:
            continue
        sub = seed_dir(out, seed)
        resume = (sub / "events.jsonl").exists()
        run = augment.run_experiment(dataclasses.replace(config, out=str(sub), seed=seed), resume=resume,
                                     stop=stop, echo=echo)
        if run["reason"] != "done":
            events.emit("finished", step=len(per_seed), reason=run["reason"], seed=seed)
            return {"reason": run["reason"], "seed": seed}
        per_seed[seed] = run["results"]
        events.emit("seed", step=len(per_seed), seed=seed)
    results = summarise_seeds(per_seed, config, command_line(config, seeds))
    write_report(out, results, per_seed, config, report_dir, events=None if finished_before else events)
    return {"reason": "done", "results": results}


def summarise_seeds(per_seed: dict[int, dict], config, command: str = "") -> dict:
    variants: dict[str, dict] = {}
    for name in config.variants:
        finals = [float(per_seed[s]["variants"][name]["final"]["val_accuracy"]) for s in per_seed]
        std = float(np.std(finals, ddof=1)) if len(finals) > 1 else 0.0
        variants[name] = {"val_accuracy": finals, "mean": float(np.mean(finals)), "std": std}
    first = next(iter(per_seed.values()))
    recipe = _recipe(config)
    recipe["lr"] = first.get("lr", recipe["lr"])           # the rate the runs chose when none was given
    return {"variants": variants, "seeds": list(per_seed), "recipe": recipe, "command": command,
            "paired": paired_gains(variants), "pretrained": first.get("pretrained"), "data": first.get("data"),
            "classes": first.get("classes")}


def paired_gains(variants: dict[str, dict], baseline: str = "none") -> dict:
    """Each variant's gain over `baseline` seed by seed: {"baseline", "variants": {NAME: {"gains",
    "mean", "std", "better"}}} ({} without the baseline). Within a seed every variant starts from the
    same weights and sees the same batches, so the per-seed difference cancels what the seeds share
    (the start, the batch order) and its spread is the one that says whether a gain is real."""
    if baseline not in variants:
        return {}
    base = variants[baseline]["val_accuracy"]
    out = {}
    for name, v in variants.items():
        if name == baseline:
            continue
        gains = [a - b for a, b in zip(v["val_accuracy"], base)]
        out[name] = {"gains": gains, "mean": float(np.mean(gains)),
                     "std": float(np.std(gains, ddof=1)) if len(gains) > 1 else 0.0,
                     "better": sum(g > 0 for g in gains)}
    return {"baseline": baseline, "variants": out}


def paired_lines(paired: dict) -> list[str]:
    """The paired table (markdown), or nothing."""
    if not paired:
        return []
    lines = [f"Seed by seed against `{paired['baseline']}` (same start, same batches within a seed):", "",
             f"| variant | gain over {paired['baseline']}, mean ± std (points) | per seed (points) | seeds better |",
             "|---|---|---|---|"]
    for name, g in paired["variants"].items():
        lines.append(f"| {name} | {g['mean'] * 100:+.1f} ± {g['std'] * 100:.1f} | "
                     + ", ".join(f"{x * 100:+.1f}" for x in g["gains"]) + f" | {g['better']} of {len(g['gains'])} |")
    return lines + [""]


def mean_histories(per_seed: dict[int, dict], variants) -> dict[str, list[dict]]:
    """Per variant and epoch, the mean over seeds of each figure of the epoch records."""
    out = {}
    for name in variants:
        runs = [per_seed[s]["variants"][name]["history"] for s in per_seed]
        epochs = min(len(r) for r in runs)
        out[name] = [{"epoch": runs[0][e]["epoch"],
                      **{k: float(np.mean([r[e][k] for r in runs])) for k in runs[0][e]
                         if k != "epoch" and isinstance(runs[0][e][k], (int, float))}}
                     for e in range(epochs)]
    return out


def verdict(variants: dict[str, dict], paired: dict | None = None) -> list[str]:
    """What the tables show and what they do not, from the numbers."""
    ranked = sorted(variants.items(), key=lambda kv: -kv[1]["mean"])
    lines = []
    for name, g in ((paired or {}).get("variants") or {}).items():
        real = abs(g["mean"]) > 2 * g["std"] and g["better"] in (0, len(g["gains"]))
        lines.append(f"- {name} against {paired['baseline']}, seed by seed: {g['mean'] * 100:+.1f} ± "
                     f"{g['std'] * 100:.1f} points, better in {g['better']} of {len(g['gains'])} seeds: "
                     + ("every seed agrees and the gain is beyond twice its spread" if real else "not separated"))
    (best, b), rest = ranked[0], ranked[1:]
    for name, v in rest:
        gap = b["mean"] - v["mean"]
        noise = max(b["std"], v["std"])
        beyond = gap > 2 * noise and noise > 0
        lines.append(f"- {best} over {name}: {gap * 100:+.1f} points, "
                     + ("beyond twice the larger seed spread" if beyond else
                        f"within twice the larger seed spread ({2 * noise * 100:.1f} points): not separated"))
    n = len(next(iter(variants.values()))["val_accuracy"])
    lines += [f"- {n} seeds per variant: the spread is itself uncertain; a gap of about twice it is a hint, "
              "not a test.",
              "- One data set, one network and image size, one schedule: the ranking need not carry over to "
              "ImageNet-pretrained ResNet50 at 224 px (the default where those weights exist)."]
    return lines


def _preview_png(data, path: Path, variants, seed: int = 0) -> bool:
    """Rows: the original batch, then each variant's draw of it (uint8 grid, Pillow)."""
    from PIL import Image

    from srviewer.train.augment_preview import preview_batch

    try:
        batch = preview_batch(data, n=6, seed=seed, size=96, variants=variants)
    except Exception:  # noqa: BLE001 - e.g. tfds data: the report goes without a preview
        return False
    rows = [batch["images"]] + [batch["variants"][v]["images"] for v in variants]
    grid = np.concatenate([np.concatenate(list(r), axis=1) for r in rows], axis=0)
    with atomic_write(path) as handle:
        Image.fromarray((np.clip(grid, 0, 1) * 255).round().astype(np.uint8)).save(handle, format="PNG")
    return True


def write_report(out: Path, results: dict, per_seed: dict[int, dict], config, report_dir=None,
                 events: EventLog | None = None) -> None:
    """augment.md, augment.json and the PNGs into OUT; with `events`, the mean epoch curves and the
    "finished" event into OUT/events.jsonl; with `report_dir`, a copy of the report and of the run's
    record (events.jsonl, config.json), so that folder opens in the Training tab as the past run."""
    out = Path(out)
    histories = mean_histories(per_seed, config.variants)
    plot_accuracy(histories, out / "accuracy.png", title=f"Validation accuracy, mean of {len(per_seed)} seeds")
    has_preview = _preview_png(config.data, out / "preview.png", config.variants)
    atomic_write_json(out / RESULTS, results)
    v = results["variants"]
    rows = "\n".join(f"| {name} | {r['mean'] * 100:.1f} ± {r['std'] * 100:.1f} | "
                     + ", ".join(f"{a * 100:.1f}" for a in r["val_accuracy"]) + " |" for name, r in v.items())
    recipe = results["recipe"]
    text = [
        "# The augmentation experiment over seeds", "",
        f"{config.model} ({'ImageNet weights' if results['pretrained'] else 'from scratch'}), "
        f"{recipe['size']} px, {recipe['epochs']} epochs, batch {recipe['batch']}, Adam {recipe['lr']}"
        f"{' (' + recipe['lr_schedule'] + ' decay)' if recipe.get('lr_schedule', 'constant') != 'constant' else ''}, "
        f"seeds {', '.join(map(str, results['seeds']))}, on {results['data']} "
        f"({len(results['classes'] or [])} classes).", "",
        "Reproduce:", "", f"    {results['command'] or 'srviewer train augment ... --seeds ...'}", "",
        "| variant | val accuracy, mean ± std (%) | per seed (%) |", "|---|---|---|", rows, "",
        *paired_lines(results.get("paired") or {}),
        "![Validation accuracy, mean over seeds](accuracy.png)", "",
    ]
    if has_preview:
        text += ["Preview (first row: the images; then one row per variant, in the order "
                 f"{', '.join(config.variants)}):", "", "![Augmentation preview](preview.png)", ""]
    text += ["## What it shows and what it does not", "", *verdict(v, results.get("paired")), ""]
    atomic_write_text(out / REPORT, "\n".join(text))
    if events is not None:     # the tab's record of the finished experiment, written once
        for name, history in histories.items():
            for record in history:
                events.emit("epoch", variant=name, **record)
        events.emit("finished", step=len(per_seed), reason="done", results=RESULTS, plot="accuracy.png",
                    report=REPORT)
    if report_dir is not None:
        report_dir = Path(report_dir)
        report_dir.mkdir(parents=True, exist_ok=True)
        record = (REPORT, RESULTS, "accuracy.png", "events.jsonl", "config.json")
        for name in record + (("preview.png",) if has_preview else ()):
            with atomic_write(report_dir / name) as handle:
                handle.write((out / name).read_bytes())

