"""The Training tab shows how a run spreads over devices (from its `started` event, via RunState)."""

import json

from PySide6.QtCore import QSettings

from srviewer.gui.training_tab import TrainingTab
from srviewer.train.run_state import RunState

MIRRORED = {"event": "started", "time": 1.0, "step": 0, "total_steps": 10, "kind": "srresnet", "strategy": "auto",
            "strategy_class": "MirroredStrategy", "replicas": 2, "workers": 1, "precision": "mixed",
            "compute_dtype": "bfloat16", "devices": ["/job:localhost/replica:0/task:0/device:CPU:0",
                                                     "/job:localhost/replica:0/task:0/device:CPU:1"]}


def _run(tmp_path, *records):
    run = tmp_path / "run"
    run.mkdir(parents=True, exist_ok=True)
    (run / "config.json").write_text(json.dumps({"kind": "srresnet"}))
    with open(run / "events.jsonl", "a") as handle:
        handle.writelines(json.dumps(r) + "\n" for r in records)
    return run


def test_run_state_reads_the_strategy_replicas_and_devices(tmp_path):
    state = RunState.load(_run(tmp_path, MIRRORED))
    assert state.distribution["replicas"] == 2 and len(state.distribution["devices"]) == 2
    assert state.devices_line() == "MirroredStrategy: 2 replicas on CPU:0, CPU:1, mixed (bfloat16)"
    # a resumed run's last `started` event wins: the run went on over two workers
    state.feed([dict(MIRRORED, strategy_class="CollectiveAllReduceStrategy", workers=2, precision="float32",
                     devices=["/job:worker/replica:0/task:0/device:CPU:0"])])
    assert state.devices_line() == "CollectiveAllReduceStrategy: 2 replicas on 2 workers on CPU:0"
    old = {k: v for k, v in MIRRORED.items() if k in ("event", "time", "step", "total_steps", "kind")}
    assert RunState.load(_run(tmp_path / "b", old)).devices_line() == ""        # runs from before say nothing


def test_the_training_tab_shows_the_runs_devices(qtbot, tmp_path):
    tab = TrainingTab(settings=QSettings(str(tmp_path / "s.ini"), QSettings.Format.IniFormat))
    qtbot.addWidget(tab)
    tab.open_run(_run(tmp_path, MIRRORED))
    qtbot.waitUntil(lambda: tab.devices.text() != "", timeout=5000)
    assert tab.devices.text() == "MirroredStrategy: 2 replicas on CPU:0, CPU:1, mixed (bfloat16)"
    tab.resize(1100, 700)
    tab.grab().save(str(tmp_path / "tab.png"))
    tab.open_run(_run(tmp_path / "other", {k: MIRRORED[k] for k in ("event", "time", "step", "kind")}))
    qtbot.waitUntil(lambda: tab.devices.text() == "", timeout=5000)
