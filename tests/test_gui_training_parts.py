"""Training tab parts with a stand-in engine: crash lines, closing during a run, data checks,
presets, per-variant curves, the augmentation preview and torn event lines."""

import json
import os
import sys
import time

import numpy as np
import pytest
from PIL import Image
from PySide6.QtCore import QSettings  # noqa: E402

from srviewer.errors import DataError  # noqa: E402
from srviewer.gui.training_form import check_data, command_args  # noqa: E402
from srviewer.gui.training_plots import TrainingPlots  # noqa: E402
from srviewer.gui.training_tab import TrainingTab  # noqa: E402
from srviewer.train.event_tail import EventTail  # noqa: E402
from srviewer.train.run_state import RunState  # noqa: E402

# A stand-in for `srviewer train ...`: appends events like the engine, honours STOP and SIGTERM.
FAKE_ENGINE = r'''
import json, os, signal, sys, time
args = sys.argv[1:]
out = args[args.index("--out") + 1] if "--out" in args else args[args.index("--resume") + 1]
if "--crash" in args:
    print("loading data", flush=True)
    print("Traceback (most recent call last):", file=sys.stderr)
    print("RuntimeError: the fake engine fell over", file=sys.stderr, flush=True)
    sys.exit(1)
stop = []
signal.signal(signal.SIGTERM, lambda *a: stop.append(1))
def emit(**record):
    with open(os.path.join(out, "events.jsonl"), "a") as f:
        f.write(json.dumps({"time": time.time(), **record}) + "\n")
emit(event="started", step=0, total_steps=100000, kind="srresnet", resumed=False, pid=os.getpid())
step = 0
while not stop and not os.path.exists(os.path.join(out, "STOP")):
    step += 1
    emit(event="train", step=step, loss=1.0 / step, steps_per_s=20.0)
    time.sleep(0.05)
emit(event="finished", step=step, reason="stopped")
'''


@pytest.fixture
def settings(tmp_path):
    return QSettings(str(tmp_path / "settings.ini"), QSettings.Format.IniFormat)


@pytest.fixture
def hr_folder(tmp_path, smooth_rgb):
    folder = tmp_path / "hr"
    folder.mkdir()
    Image.fromarray(smooth_rgb).save(folder / "a.png")
    return folder


@pytest.fixture
def fake_tab(qtbot, tmp_path, settings, hr_folder):
    script = tmp_path / "fake_engine.py"
    script.write_text(FAKE_ENGINE)
    tab = TrainingTab(settings=settings)
    qtbot.addWidget(tab)
    tab.engine = [sys.executable, str(script)]
    tab.runs_panel.set_root(tmp_path / "runs")
    tab.form.set_values({"kind": "srresnet", "data": str(hr_folder), "out": ""})
    yield tab
    if tab.is_running():
        tab.process.request_stop()
        tab.process.wait(5000)


def _events(run_dir):
    return [json.loads(line) for line in (run_dir / "events.jsonl").read_text().splitlines() if line.strip()]


def test_a_crashing_child_shows_its_last_error_lines_and_the_tab_stays_usable(qtbot, fake_tab):
    fake_tab.form.extra.setText("--crash")
    assert fake_tab.start_run()
    with qtbot.waitSignal(fake_tab.process.exited, timeout=15000) as blocker:
        pass
    assert blocker.args == [1]
    assert fake_tab.error_view.isVisibleTo(fake_tab)
    text = fake_tab.error_view.text()
    assert "RuntimeError: the fake engine fell over" in text and "exit status 1" in text
    assert fake_tab.start_button.isEnabled() and not fake_tab.is_running()
    fake_tab.form.extra.setText("")
    assert fake_tab.start_run()  # usable: a new run starts, and the old error is gone
    assert not fake_tab.error_view.isVisibleTo(fake_tab)


def test_the_real_cli_rejecting_bad_flags_is_shown_as_an_error(qtbot, fake_tab):
    fake_tab.engine = None  # the real `python -m srviewer`
    fake_tab.form.extra.setText("--patch notanumber")
    assert fake_tab.start_run()
    with qtbot.waitSignal(fake_tab.process.exited, timeout=30000) as blocker:
        pass
    assert blocker.args == [2]
    assert "invalid int value: 'notanumber'" in fake_tab.error_view.text()


def test_closing_during_a_run_can_cancel_leave_it_going_or_stop_it(qtbot, fake_tab, monkeypatch):
    assert fake_tab.confirm_close()  # nothing running: no question
    asked = []
    monkeypatch.setattr(fake_tab, "_ask_close_choice", lambda: asked.append(1) or "cancel")
    assert fake_tab.start_run()
    run_dir = fake_tab.process.run_dir
    qtbot.waitUntil(lambda: len(_events(run_dir)) > 2 if (run_dir / "events.jsonl").exists() else False,
                    timeout=15000)
    assert not fake_tab.confirm_close() and asked and fake_tab.is_running()

    monkeypatch.setattr(fake_tab, "_ask_close_choice", lambda: "leave")
    assert fake_tab.confirm_close()
    assert not fake_tab.is_running()  # the tab let go of it ...
    n = len(_events(run_dir))
    qtbot.waitUntil(lambda: len(_events(run_dir)) > n + 3, timeout=10000)  # ... and it keeps going
    (run_dir / "STOP").write_text("")  # end the orphan
    qtbot.waitUntil(lambda: _events(run_dir)[-1]["event"] == "finished", timeout=10000)


def test_choosing_stop_on_close_ends_the_run_gracefully(qtbot, fake_tab, monkeypatch):
    monkeypatch.setattr(fake_tab, "_ask_close_choice", lambda: "stop")
    assert fake_tab.start_run()
    run_dir = fake_tab.process.run_dir
    qtbot.waitUntil(lambda: fake_tab.process.engine_ready, timeout=15000)
    assert fake_tab.confirm_close()
    qtbot.waitUntil(lambda: _events(run_dir)[-1]["event"] == "finished", timeout=10000)
    assert _events(run_dir)[-1]["reason"] == "stopped"


def test_start_refuses_missing_or_empty_data_with_a_message(qtbot, fake_tab, tmp_path):
    (tmp_path / "empty").mkdir()
    for data, words in ((str(tmp_path / "nope"), "not found"), (str(tmp_path / "empty"), "no images"),
                        ("", "choose the training data")):
        fake_tab.form.data.setText(data)
        assert not fake_tab.start_run()
        assert words in fake_tab.message.text() and not fake_tab.is_running()
    fake_tab.form.set_values({"kind": "augment", "data": str(tmp_path / "empty")})
    assert not fake_tab.start_run() and not fake_tab.is_running()
    assert str(tmp_path / "empty") in fake_tab.message.text() or "class" in fake_tab.message.text()


def test_check_data_accepts_image_folders_tfds_and_class_folders(tmp_path, hr_folder):
    check_data(str(hr_folder), "srresnet")
    check_data("tfds:div2k/bicubic_x4", "srgan")
    with pytest.raises(DataError):
        check_data(str(hr_folder), "augment")  # images but no class sub-folders


def test_command_args_carry_the_form_settings(tmp_path):
    values = {"kind": "srgan", "data": "tfds:div2k/bicubic_x4", "val": "", "steps": 500, "batch": 8, "lr": 1e-4,
              "checkpoint_every": 50, "val_every": 25, "content_loss": "l1", "init": "runs/a",
              "extra": "--blocks 4", "epochs": 1, "variants": [], "model": "tiny"}
    args = command_args(values, tmp_path / "run")
    assert args[:2] == ["train", "srgan"]
    pairs = dict(zip(args[2::2], args[3::2]))
    assert pairs["--steps"] == "500" and pairs["--content-loss"] == "l1" and pairs["--init"] == "runs/a"
    assert pairs["--val-every"] == "25" and pairs["--checkpoint-every"] == "50" and pairs["--blocks"] == "4"
    assert float(pairs["--lr"]) == 1e-4 and pairs["--out"] == str(tmp_path / "run")
    aug = command_args({**values, "kind": "augment", "variants": ["none", "mixup"], "epochs": 2}, "r")
    assert aug[aug.index("--variants") + 1] == "none,mixup" and "--steps" not in aug


def test_presets_round_trip_through_the_presets_folder(qtbot, fake_tab, tmp_path):
    fake_tab.form.set_values({"kind": "srgan", "steps": 1234, "batch": 4, "lr": 3e-4, "content_loss": "mse"})
    path = fake_tab.presets_dir() / "mine.json"
    fake_tab.save_preset(path)
    assert json.loads(path.read_text())["training_form"]["steps"] == 1234
    fake_tab.form.set_values({"kind": "srcnn", "steps": 10, "batch": 16})
    mine = fake_tab.presets.findText("mine")     # after the shipped recipes
    assert mine >= 0 and fake_tab.presets.itemData(mine) == str(path)
    fake_tab._on_preset_chosen(mine)
    assert fake_tab.form.preset_name() == "mine"
    values = fake_tab.form.values()
    assert (values["kind"], values["steps"], values["batch"], values["content_loss"]) == ("srgan", 1234, 4, "mse")
    assert values["lr"] == pytest.approx(3e-4)
    (tmp_path / "bad.json").write_text("{not json")
    fake_tab.load_preset(tmp_path / "bad.json")
    assert "not a training preset" in fake_tab.message.text()


def test_augment_events_give_one_curve_per_variant_and_metric(qtbot):
    state = RunState()
    plots = TrainingPlots(state)
    qtbot.addWidget(plots)
    events = [{"event": "started", "kind": "augment", "step": 0, "total_steps": 8}]
    for variant in ("none", "cutmix"):
        for epoch in (1, 2):
            events.append({"event": "epoch", "variant": variant, "epoch": epoch, "step": epoch * 2,
                           "loss": 2.0 / epoch, "accuracy": 0.3 * epoch, "val_loss": 2.1 / epoch,
                           "val_accuracy": 0.25 * epoch + (variant == "cutmix") * 0.1, "seconds": 3.0})
    state.feed(events)
    plots.flush()
    series = plots.series()
    assert set(series) == {(p, f"{v} {m}") for v in ("none", "cutmix") for p, m in
                           (("accuracy", "accuracy"), ("accuracy", "val_accuracy"), ("loss", "loss"),
                            ("loss", "val_loss"))}  # "seconds" and "step" are not curves
    x, y = series[("accuracy", "cutmix val_accuracy")].getData()
    assert list(x) == [1, 2] and list(y) == pytest.approx([0.35, 0.6])


def test_legends_list_the_variants_in_one_order_whatever_order_they_arrive_in(qtbot):
    state = RunState()
    plots = TrainingPlots(state)
    qtbot.addWidget(plots)
    events = [{"event": "started", "kind": "augment", "step": 0, "total_steps": 4}]
    events += [{"event": "epoch", "variant": v, "epoch": 1, "loss": 2.0, "accuracy": 0.3, "val_loss": 2.1,
                "val_accuracy": 0.25} for v in ("mixup", "cutmix", "flip_brightness", "none")]
    state.feed(events)
    for key in ("accuracy", "loss"):
        legend = plots.plot(key).getPlotItem().legend
        assert [label.text for _sample, label in legend.items] == ["none", "flip_brightness", "cutmix", "mixup"]


def test_event_tail_leaves_a_torn_last_line_for_the_next_read(tmp_path):
    path = tmp_path / "events.jsonl"
    path.write_text('{"event": "train", "step": 1}\n{"event": "train", "st')
    tail = EventTail(tmp_path)
    assert [e["step"] for e in tail.read_new()] == [1]
    assert tail.read_new() == []
    with open(path, "a") as f:
        f.write('ep": 2}\nnot json\n{"event": "val", "step": 2}\n')
    assert [(e["event"], e["step"]) for e in tail.read_new()] == [("train", 2), ("val", 2)]


def test_augmentation_preview_draws_the_cutmix_box(qtbot, fake_tab, tmp_path, rng):
    data = tmp_path / "classes"
    for c, name in enumerate(("cats", "dogs")):
        (data / name).mkdir(parents=True)
        for i in range(3):
            img = np.full((40, 40, 3), (60 + 120 * c, 90, 200 - 120 * c), np.uint8)
            Image.fromarray(img).save(data / name / f"{i}.png")
    fake_tab.form.set_values({"kind": "augment", "data": str(data), "variants": ["none", "cutmix", "mixup"]})
    assert fake_tab.preview_button.isEnabled()
    dialog = fake_tab.show_preview()
    assert dialog is not None
    qtbot.addWidget(dialog)
    batch = dialog.batch
    assert list(batch["variants"]) == ["none", "cutmix", "mixup"]
    image = dialog.image
    n, h, w = batch["images"].shape[:3]
    y1, y2, x1, x2 = batch["variants"]["cutmix"]["box"]
    from srviewer.gui import training_preview as tp

    cell_h = h + tp._CAPTION + tp._GAP
    top = tp._GAP + 1 * cell_h  # the cutmix row
    colour = image.pixelColor(tp._LEFT + x1, top + (y1 + y2) // 2)  # on the box's left edge
    assert (colour.red(), colour.green(), colour.blue()) == (255, 40, 40)
    none_px = image.pixelColor(tp._LEFT + x1, tp._GAP + (y1 + y2) // 2)  # same place, "none" row
    assert (none_px.red(), none_px.green(), none_px.blue()) != (255, 40, 40)
