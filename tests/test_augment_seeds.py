"""The augmentation experiment over seeds: per-seed runs, augment.json/md, a past run for the tab."""

import json
import os

import numpy as np
import pytest
from PIL import Image
from PySide6.QtCore import QSettings

from srviewer.cli import main
from srviewer.gui.training_tab import TrainingTab
from srviewer.train.events import read_events
from srviewer.train.run_state import RunState

SHOTS = os.environ.get("SRVIEWER_TRAINING_SHOTS")  # a folder: save the tab's grab there to look at
COLOURS = [(200, 50, 50), (50, 50, 200), (50, 190, 50)]


@pytest.fixture
def colour_folder(tmp_path):
    """3 classes of noisy flat-colour 24x24 images, 10 each."""
    root = tmp_path / "colours"
    rng = np.random.default_rng(0)
    for c, colour in enumerate(COLOURS):
        (root / f"class{c}").mkdir(parents=True)
        for i in range(10):
            img = np.clip(np.array(colour) + rng.normal(0, 40, (24, 24, 3)), 0, 255).astype(np.uint8)
            Image.fromarray(img).save(root / f"class{c}" / f"{i}.png")
    return root


def test_two_seeds_write_the_report_the_json_and_a_past_run(qtbot, colour_folder, tmp_path, capsys):
    out, docs = tmp_path / "exp", tmp_path / "docs" / "experiments"
    argv = ["train", "augment", "--data", str(colour_folder), "--out", str(out), "--model", "small", "--weights",
            "none", "--size", "24", "--epochs", "1", "--batch", "6", "--lr", "5e-3", "--variants", "none,cutmix",
            "--seeds", "0,1", "--report-dir", str(docs)]
    assert main(argv) == 0
    results = json.loads((out / "augment.json").read_text())
    assert results["seeds"] == [0, 1] and set(results["variants"]) == {"none", "cutmix"}
    for name, row in results["variants"].items():
        finals = [json.loads((out / f"seed_{s}" / "results.json").read_text())["variants"][name]["final"]["val_accuracy"]
                  for s in (0, 1)]
        assert row["val_accuracy"] == finals and all(0 <= a <= 1 for a in finals)
        a, b = finals   # sample std of two values: |a - b| / sqrt(2)
        assert row["mean"] == pytest.approx((a + b) / 2) and row["std"] == pytest.approx(abs(a - b) / 2**0.5)
    report = (out / "augment.md").read_text()
    mean, std = results["variants"]["none"]["mean"] * 100, results["variants"]["none"]["std"] * 100
    assert f"| none | {mean:.1f} ± {std:.1f} |" in report
    assert "--seeds 0,1" in report and "## What it shows and what it does not" in report
    for name in ("augment.md", "augment.json", "accuracy.png", "preview.png", "events.jsonl", "config.json"):
        assert (docs / name).read_bytes() == (out / name).read_bytes()
    preview = np.asarray(Image.open(out / "preview.png"))
    assert preview.shape[0] == 3 * 96 and preview.std() > 0          # the images, then one row per variant

    state = RunState.load(out)                                       # the Training tab's view of it
    assert state.status == "finished" and state.layout == "augment" and state.plot == out / "accuracy.png"
    assert ("accuracy", "none val_accuracy") in state.curves
    assert (state.step, state.total_steps) == (2, 2)                 # followed seed by seed
    assert [e["seed"] for e in read_events(out) if e["event"] == "seed"] == [0, 1]

    # the report folder alone (docs/experiments) opens in the tab as the finished experiment
    tab = TrainingTab(settings=QSettings(str(tmp_path / "s.ini"), QSettings.Format.IniFormat))
    qtbot.addWidget(tab)
    tab.runs_panel.set_root(docs.parent)
    assert tab.runs_panel.run_paths() == [docs] and "done" in tab.runs_panel.list.item(0).text()
    tab.open_run(docs)
    assert tab.state.finished_reason == "done" and tab.state.plot == docs / "accuracy.png"
    assert tab.sample.picture() is not None and "accuracy.png" in tab.sample_caption.text()
    x, y = tab.plots.series()[("accuracy", "cutmix val_accuracy")].getData()
    assert list(x) == [1] and y[0] == pytest.approx(np.mean(results["variants"]["cutmix"]["val_accuracy"]))
    if SHOTS:
        tab.resize(1100, 700)
        tab.grab().save(f"{SHOTS}/augment_past_run.png")

    seed_events = len(read_events(out / "seed_0"))
    assert main(argv) == 0                                           # again: finished seeds are kept
    assert main(["train", "augment", "--resume", str(out)]) == 0     # so does --resume: over its own seeds
    assert len(read_events(out / "seed_0")) == seed_events and not (out / "checkpoints").exists()
    assert json.loads((out / "augment.json").read_text())["variants"] == results["variants"]
    assert [e["event"] for e in read_events(out)].count("finished") == 1

    capsys.readouterr()
    assert main([*argv[:-4], "--seeds", "3"]) == 2
    assert "at least two different seeds" in capsys.readouterr().err


def test_verdict_separates_only_gaps_beyond_the_seed_spread():
    from srviewer.train.augment_seeds import verdict

    lines = verdict({"a": {"mean": 0.60, "std": 0.01, "val_accuracy": [0.59, 0.61]},
                     "b": {"mean": 0.50, "std": 0.02, "val_accuracy": [0.48, 0.52]},
                     "c": {"mean": 0.58, "std": 0.02, "val_accuracy": [0.56, 0.60]}})
    assert lines[0].startswith("- a over c: +2.0 points") and "not separated" in lines[0]
    assert lines[1].startswith("- b") is False and "a over b: +10.0 points, beyond" in lines[1]


def test_paired_gains_compare_each_seed_with_its_own_baseline():
    from srviewer.train.augment_seeds import paired_gains, paired_lines, verdict

    # the seeds differ a lot (0.30 to 0.40) but cutmix beats none by 3 points in every one of them,
    # while mixup's mean gain hides one seed where it loses
    variants = {"none": {"val_accuracy": [0.30, 0.40, 0.35]}, "cutmix": {"val_accuracy": [0.33, 0.43, 0.38]},
                "mixup": {"val_accuracy": [0.36, 0.39, 0.38]}}
    for v in variants.values():
        v["mean"], v["std"] = float(np.mean(v["val_accuracy"])), float(np.std(v["val_accuracy"], ddof=1))
    paired = paired_gains(variants)
    cut, mix = paired["variants"]["cutmix"], paired["variants"]["mixup"]
    assert paired["baseline"] == "none" and set(paired["variants"]) == {"cutmix", "mixup"}
    assert cut["gains"] == pytest.approx([0.03] * 3) and cut["std"] == pytest.approx(0.0, abs=1e-12)
    assert (cut["better"], mix["better"]) == (3, 2) and mix["mean"] == pytest.approx(0.0267, abs=1e-4)
    lines = verdict(variants, paired)
    # the unpaired spreads (5 points) hide what pairing shows
    assert "cutmix against none, seed by seed: +3.0 ± 0.0 points, better in 3 of 3 seeds: every seed agrees" in lines[0]
    assert "mixup against none" in lines[1] and lines[1].endswith("not separated")
    assert any("cutmix over none" in line and "not separated" in line for line in lines)
    variants["cutmix"]["val_accuracy"] = [0.31, 0.45, 0.355]      # better in every seed, but unevenly
    assert verdict(variants, paired_gains(variants))[0].endswith("not separated")
    variants["cutmix"]["val_accuracy"] = [0.33, 0.44, 0.37]
    assert "| cutmix | +3.0 ± 1.0 | +3.0, +4.0, +2.0 | 3 of 3 |" in paired_lines(paired_gains(variants))
    assert verdict(variants, paired_gains(variants))[0].endswith("beyond twice its spread")
    assert paired_gains({"cutmix": variants["cutmix"]}) == {} and paired_lines({}) == []
