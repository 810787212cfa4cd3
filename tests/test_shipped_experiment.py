"""The shipped augmentation experiment (docs/experiments): its numbers agree with each other, it
has the seeds the issue asks for, and the Training tab reads it as a finished run."""

import json
from pathlib import Path

import numpy as np
import pytest

from srviewer.train.augment_seeds import paired_gains
from srviewer.train.run_state import RunState

DOCS = Path(__file__).resolve().parents[1] / "docs" / "experiments"


def test_the_report_the_json_and_the_run_record_agree():
    results = json.loads((DOCS / "augment.json").read_text())
    report = (DOCS / "augment.md").read_text()
    assert set(results["variants"]) == {"none", "flip_brightness", "cutmix", "mixup"}
    for name, row in results["variants"].items():
        finals = row["val_accuracy"]
        assert len(finals) >= 3 and all(0 <= a <= 1 for a in finals)
        assert row["mean"] == pytest.approx(np.mean(finals)) and row["std"] == pytest.approx(np.std(finals, ddof=1))
        assert f"| {name} | {row['mean'] * 100:.1f} ± {row['std'] * 100:.1f} |" in report
    paired = paired_gains(results["variants"])
    assert results["paired"]["baseline"] == paired["baseline"] == "none"
    for name, gains in paired["variants"].items():
        shipped = results["paired"]["variants"][name]
        assert shipped["gains"] == pytest.approx(gains["gains"]) and shipped["better"] == gains["better"]
        assert f"| {name} | {gains['mean'] * 100:+.1f} ± {gains['std'] * 100:.1f} |" in report
    assert f"--seeds {','.join(map(str, results['seeds']))}" in report and "srviewer train augment" in report
    state = RunState.load(DOCS)
    assert state.status == "finished" and state.layout == "augment" and state.plot == DOCS / "accuracy.png"
    n = len(results["seeds"])
    assert state.status_line() == f"done after {n} of {n} seeds" and state.running_what() == f"augment seed {n} / {n}"
    last = {}
    for name in results["variants"]:        # the tab's curves end at the mean of the seeds' finals
        x, y = zip(*[(e["epoch"], e["val_accuracy"]) for e in _epochs(name)])
        last[name] = y[-1]
        assert x[-1] == results["recipe"]["epochs"]
    assert last == pytest.approx({n: r["mean"] for n, r in results["variants"].items()})


def _epochs(variant):
    lines = (DOCS / "events.jsonl").read_text().splitlines()
    return [e for e in map(json.loads, lines) if e.get("event") == "epoch" and e.get("variant") == variant]
