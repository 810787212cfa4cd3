"""The training tab driving the real engine: a tiny SRCNN run started from the tab, watched live,
stopped (exit 0, checkpoint written), resumed (curves reload, then grow), reopened from the list
of past runs, and its best generator handed to the comparison window."""

import json
import os

import numpy as np
import pytest
from PIL import Image
from PySide6.QtCore import QSettings  # noqa: E402

from srviewer.gui.training_tab import TrainingTab  # noqa: E402

SHOTS = os.environ.get("SRVIEWER_TRAINING_SHOTS")  # a folder: save tab grabs there to look at


@pytest.fixture
def tiny_data(tmp_path, rng):
    """Four 64x64 RGB training images and two validation images (uint8, structured + noise)."""
    folders = {name: tmp_path / name for name in ("hr", "val")}
    y, x = np.mgrid[0:64, 0:64]
    for i in range(4):
        img = np.stack([x * 3 + i * 10, y * 4, (x + y) * 2 - i * 8], -1) + rng.normal(0, 10, (64, 64, 3))
        img = Image.fromarray(np.clip(img, 0, 255).astype(np.uint8))
        for name, folder in folders.items():
            if name == "hr" or i < 2:
                folder.mkdir(exist_ok=True)
                img.save(folder / f"{i}.png")
    return folders


def _curve_len(tab, key=("loss", "loss")):
    item = tab.plots.series().get(key)
    if item is None:
        return 0
    x, _ = item.getData()
    return 0 if x is None else len(x)


def _grab(tab, name):
    if SHOTS:
        tab.grab().save(os.path.join(SHOTS, name))


def test_a_real_run_from_the_tab_stop_resume_reopen_and_compare(qtbot, tmp_path, tiny_data):
    handed = []
    settings = QSettings(str(tmp_path / "settings.ini"), QSettings.Format.IniFormat)
    tab = TrainingTab(settings=settings, on_compare_checkpoint=handed.append)
    qtbot.addWidget(tab)
    tab.resize(1400, 900)
    tab.show()
    runs = tmp_path / "runs"
    tab.runs_panel.set_root(runs)
    tab.form.set_values({"kind": "srcnn", "data": str(tiny_data["hr"]), "val": str(tiny_data["val"]),
                         "steps": 100000, "batch": 2, "lr": 1e-3, "checkpoint_every": 100000,
                         "val_every": 10, "extra": "--patch 32 --n1 8 --n2 4 --log-every 1 --xla off --keep-generators"})
    assert not tab.compare_step.isEnabled() and tab.compare_step.currentText() == "No kept steps"
    assert tab.start_run(), tab.message.text()
    run_dir = tab.process.run_dir
    assert run_dir.parent == runs.resolve() and run_dir.name.startswith("srcnn-")

    # live: the loss curve and the validation curves receive points, a sample shows up
    qtbot.waitUntil(lambda: _curve_len(tab) >= 20 and _curve_len(tab, ("psnr", "psnr_y")) >= 2, timeout=60000)
    qtbot.waitUntil(lambda: tab.sample.picture() is not None, timeout=10000)
    n = _curve_len(tab)
    qtbot.waitUntil(lambda: _curve_len(tab) > n, timeout=10000)  # still growing
    assert tab.progress.maximum() == 100000 and tab.progress.value() > 0
    assert "steps/s" in tab.stats.text() and "ETA" in tab.stats.text()
    assert tab.stop_button.isEnabled() and not tab.start_button.isEnabled()
    _grab(tab, "training_live.png")

    # stop: graceful, exit 0, a checkpoint at the step reached
    with qtbot.waitSignal(tab.process.exited, timeout=30000) as blocker:
        tab.stop_run()
    assert blocker.args == [0]
    assert tab.state.finished_reason == "stopped" and not tab.error_view.isVisibleTo(tab)
    stopped_at = tab.state.step
    events = [json.loads(line) for line in (run_dir / "events.jsonl").read_text().splitlines()]
    checkpoints = [e for e in events if e["event"] == "checkpoint"]
    assert checkpoints and checkpoints[-1]["step"] == stopped_at
    assert (run_dir / "latest.weights.h5").is_file() and not (run_dir / "STOP").exists()
    old_points = _curve_len(tab)
    assert old_points == sum(e["event"] == "train" for e in events)

    # compare: the best generator (by validation PSNR) goes to the comparison window
    assert tab.compare_best.isEnabled()
    tab.compare_best.click()
    assert handed == [run_dir / "best.weights.h5"]
    # ... and any validation step's kept generator, from the step list
    kept = [tab.compare_step.itemData(i) for i in range(1, tab.compare_step.count())]
    assert tab.compare_step.isEnabled() and kept == list(range(10, stopped_at + 1, 10))
    tab.compare_step.activated.emit(1)
    assert handed[-1] == run_dir / "generators" / "step_000010.weights.h5"
    assert tab.compare_step.currentIndex() == 0

    # resume: the curves reload the old points, then grow to the new total
    tab.form.steps.setValue(stopped_at + 15)
    assert tab.resume_run(run_dir)
    assert _curve_len(tab) == old_points  # reloaded from events.jsonl before the child wrote anything
    with qtbot.waitSignal(tab.process.exited, timeout=60000) as blocker:
        pass
    assert blocker.args == [0] and tab.state.finished_reason == "done"
    x, _ = tab.plots.series()[("loss", "loss")].getData()
    assert x[-1] == stopped_at + 15 and len(x) == stopped_at + 15  # one point per step, none twice
    started = [e for e in map(json.loads, (run_dir / "events.jsonl").read_text().splitlines())
               if e["event"] == "started"]
    assert started[-1]["resumed"] and started[-1]["step"] == stopped_at
    assert tab.progress.value() == tab.progress.maximum() == stopped_at + 15

    # reopen from the list of past runs, in a fresh tab: the same curves
    other = TrainingTab(settings=settings)
    qtbot.addWidget(other)
    other.runs_panel.set_root(runs)
    assert other.runs_panel.run_paths() == [run_dir]
    assert "done" in other.runs_panel.list.item(0).text()
    other.runs_panel.list.setCurrentRow(0)
    other.runs_panel.open_button.click()
    assert other.run_dir == run_dir and other.state.finished_reason == "done"
    for key, item in tab.plots.series().items():
        assert other.plots.series()[key].getData()[0].tolist() == item.getData()[0].tolist()
    assert other.sample.picture() is not None
    assert "srcnn: done at step" in other.log_view.toPlainText()
