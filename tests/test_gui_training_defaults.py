"""The Training tab as a newcomer meets it: the shipped recipes offered and loaded, data that trains
offline by default, and TensorFlow's start-up noise kept out of the log pane and the error box."""

import argparse
import json
import sys

import pytest
from PySide6.QtCore import QSettings

from srviewer.gui import training_form as tf_form
from srviewer.gui.training_tab import TrainingTab
from srviewer.train import cli as train_cli
from srviewer.train.log_noise import failure_reason, own_lines
from srviewer.train.recipes import configs_dir

# What a TensorFlow child really prints on a CPU machine before srviewer's own line.
TF_NOISE = [
    "WARNING: All log messages before absl::InitializeLog() is called are written to STDERR",
    "I0000 00:00:1796408618.226898   19244 cudart_stub.cc:31] Could not find cuda drivers on your machine, "
    "GPU will not be used.",
    "I0000 00:00:1796408618.419507   19244 cpu_feature_guard.cc:227] This TensorFlow binary is optimized to use "
    "available CPU instructions in performance-critical operations.",
    "To enable the following instructions: AVX2 FMA, in other operations, rebuild TensorFlow with the appropriate "
    "compiler flags.",
    "2026-12-04 18:00:00.123456: I tensorflow/core/util/port.cc:153] oneDNN custom operations are on.",
    "E0000 00:00:1796408632.108219   19244 cuda_platform.cc:52] failed call to cuInit: INTERNAL: CUDA error",
    "/venv/lib/python3.11/site-packages/keras/src/layers/layer.py:421: UserWarning: `build()` was called",
    "  warnings.warn(",
]
REASON = "srviewer: error: tensorflow-datasets is not installed: `pip install srviewer[datasets]`"


@pytest.fixture
def tab(qtbot, tmp_path):
    settings = QSettings(str(tmp_path / "settings.ini"), QSettings.Format.IniFormat)   # a first start
    tab = TrainingTab(settings=settings)
    qtbot.addWidget(tab)
    tab.runs_panel.set_root(tmp_path / "runs")
    yield tab
    if tab.is_running():
        tab.process.request_stop()
        tab.process.wait(5000)


def _resolved(argv):
    """The SRConfig `srviewer train` builds from these arguments (the CLI's own parser)."""
    parser = argparse.ArgumentParser()
    train_cli.register(parser.add_subparsers())
    return train_cli._resolve(parser.parse_args(argv))[0].to_dict()


def test_the_presets_list_opens_on_the_shipped_recipes_named_after_their_weights(tab):
    names = [tab.presets.itemText(i) for i in range(tab.presets.count())]
    for label in ("SRCNN", "SRResNet", "SRGAN"):
        assert f"{label} (shipped weights)" in names
    assert tab.form.preset_name() == "SRResNet (shipped weights)"              # loaded, and shown as loaded
    assert "SRResNet (shipped weights)" in tab.form.preset_label.text()
    assert "weights/srresnet.weights.h5" in tab.form.preset_label.text()
    tab.form.steps.setValue(50)
    assert tab.form.preset_name() is None and "edited" in tab.form.preset_label.text()


@pytest.mark.parametrize("name", ["srcnn", "fsrcnn", "espcn", "vdsr", "srresnet"])
def test_a_recipe_from_the_list_trains_what_its_config_file_trains(tab, tmp_path, name):
    index = next(i for i in range(tab.presets.count())
                 if getattr(tab.presets.itemData(i), "name", None) == name)
    tab._on_preset_chosen(index)
    values = tab.form.values()
    assert values["kind"] == name
    from_form = _resolved(tf_form.command_args({**values, "data": "sample", "val": "none"}, tmp_path / "a"))
    from_file = _resolved(["train", name, "--config", str(configs_dir() / f"{name}.json"),
                           "--data", "sample", "--val", "none", "--out", str(tmp_path / "b")])
    assert from_form == from_file
    recipe = json.loads((configs_dir() / f"{name}.json").read_text())
    assert from_form["steps"] == recipe["steps"] and from_form["lr"] == recipe["lr"]


def test_the_default_data_is_the_offline_sample_and_each_choice_is_explained(tab, tmp_path):
    values = tab.form.values()
    assert values["data"] == "sample"
    tf_form.check_data(values["data"], values["kind"])                          # nothing to download
    assert _resolved(tf_form.command_args({**values, "val": "none"}, tmp_path / "run"))["data"] == ["sample"]
    explained = {}
    for i in range(tab.form.data_choice.count()):
        value = tab.form.data_choice.itemData(i)
        if value is not None:
            tab.form.data.setText(value)
            explained[value] = tab.form.data_help.text()
    assert "offline" in explained["sample"] and "network" in explained["tfds:div2k/bicubic_x4"]
    tab.form.data.setText(str(tmp_path))
    assert tab.form.data_choice.itemData(tab.form.data_choice.currentIndex()) is None   # "a folder of images"
    assert "your folder" in tab.form.data_help.text()


def test_tensorflow_noise_is_not_srviewers_and_the_reason_is_one_line():
    lines = ["loading data", *TF_NOISE, REASON]
    assert own_lines(lines) == ["loading data", REASON]
    assert failure_reason(lines) == REASON
    assert failure_reason(["Traceback (most recent call last):", "RuntimeError: boom"]) == "RuntimeError: boom"
    assert failure_reason(TF_NOISE, error_event="DataError: no images") == "DataError: no images"


def test_the_log_pane_and_error_box_show_srviewers_lines_only(qtbot, tab, tmp_path):
    engine = tmp_path / "noisy_engine.py"
    engine.write_text("import sys\n"
                      f"print('loading data', flush=True)\n"
                      f"for line in {TF_NOISE!r}:\n    print(line, file=sys.stderr, flush=True)\n"
                      f"print({REASON!r}, file=sys.stderr, flush=True)\nsys.exit(2)\n")
    tab.engine = [sys.executable, str(engine)]
    tab.form.set_values({"kind": "srcnn", "data": "sample", "val": "", "extra": ""})
    assert tab.start_run()
    with qtbot.waitSignal(tab.process.exited, timeout=15000):
        pass
    shown = tab.log_view.toPlainText()
    assert "loading data" in shown and REASON in shown
    assert not any(noise in shown for noise in ("cuda", "absl", "oneDNN", "AVX2", "UserWarning", "warnings.warn"))
    box = tab.error_view.text()
    assert REASON in box and "exit status 2" in box and "cuda" not in box and "absl" not in box
    console = (tab.process.run_dir / "console.txt").read_text()
    assert all(line in console for line in TF_NOISE)                            # everything kept in the file
