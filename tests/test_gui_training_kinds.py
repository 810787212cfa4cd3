"""The Training tab offers every kind `srviewer train` has (the lineage's FSRCNN, ESPCN and VDSR
included) with the settings each kind's model takes, read from the train package, their shipped
recipes as presets, and the augmentation experiment's small model, seeds and report folder."""

import argparse
import dataclasses
import json

import pytest
from PySide6.QtCore import QSettings

from srviewer.core.lineage import LABELS
from srviewer.errors import DataError
from srviewer.gui import training_form as tf_form
from srviewer.gui.training_tab import TrainingTab
from srviewer.train import cli as train_cli
from srviewer.train import kinds
from srviewer.train.recipes import configs_dir
from srviewer.train.sr_config import KINDS, SRConfig

LINEAGE_KINDS = ("fsrcnn", "espcn", "vdsr")


@pytest.fixture
def tab(qtbot, tmp_path):
    tab = TrainingTab(settings=QSettings(str(tmp_path / "settings.ini"), QSettings.Format.IniFormat))
    qtbot.addWidget(tab)
    tab.runs_panel.set_root(tmp_path / "runs")
    return tab


def _parser():
    parser = argparse.ArgumentParser()
    train_cli.register(parser.add_subparsers())
    return parser


def _resolved(argv) -> SRConfig:
    """The settings `srviewer train` builds from these arguments (the CLI's own parser)."""
    return train_cli._resolve(_parser().parse_args(argv))[0]


def test_the_experiment_list_is_the_trainers_kinds(tab):
    offered = [tab.form.kind.itemData(i) for i in range(tab.form.kind.count())]
    assert offered == [*KINDS, "augment"] == kinds.cli_kinds()
    for i, kind in enumerate(offered[:-1]):
        assert tab.form.kind.itemText(i) == LABELS[kind]              # "FSRCNN", as the window names it
    assert set(kinds.KIND_HELP) == set(KINDS)                          # the CLI registers each with its help


# a setting held as a word, and another value it may take
OTHER_CHOICE = {"activation": "relu", "optimizer": "sgd", "content_loss": "l1", "gan_loss": "ragan", "loss": "l1"}


@pytest.mark.parametrize("kind", KINDS)
def test_each_kind_shows_exactly_the_settings_that_shape_its_model(kind):
    """A setting changes the generator the run builds iff the form shows it for that kind."""
    base = SRConfig(kind=kind, data=["sample"], init="x")
    shaping = set()
    for f in dataclasses.fields(SRConfig):
        if isinstance(f.default, bool):
            changed = not f.default
        elif isinstance(f.default, int) and f.name != "scale":
            changed = f.default + 1
        elif isinstance(f.default, float):
            changed = f.default + 0.5
        elif f.name in OTHER_CHOICE:
            changed = OTHER_CHOICE[f.name]
        else:
            continue
        if dataclasses.replace(base, **{f.name: changed}).generator_spec() != base.generator_spec():
            shaping.add(f.name)
    assert set(kinds.MODEL_OPTIONS[kind]) == shaping
    for name in kinds.kind_options(kind):                              # each one a flag of `srviewer train KIND`
        assert kinds.cli_action(kind, name).option_strings[0] == "--" + name.replace("_", "-")


@pytest.mark.parametrize("kind", LINEAGE_KINDS)
def test_a_lineage_recipe_fills_the_model_fields_and_the_form_names_it(tab, kind):
    tab.form.set_values({"kind": kind, "options": {"optimizer": "sgd", "clip": 0.5, "momentum": 0.5}})
    index = next(i for i in range(tab.presets.count()) if getattr(tab.presets.itemData(i), "name", None) == kind)
    tab._on_preset_chosen(index)
    recipe = json.loads((configs_dir() / f"{kind}.json").read_text())
    assert tab.form.current_kind() == kind
    label = tab.presets.itemText(index)
    assert label.startswith(LABELS[kind] + " (")                      # "VDSR (recipe)", "FSRCNN (shipped weights)"
    assert tab.form.preset_name() == label and label in tab.form.preset_label.text()
    assert f"configs/{kind}.json" in tab.form.preset_label.text()
    options = tab.form.values()["options"]
    assert set(options) == set(kinds.kind_options(kind))
    for name in kinds.kind_options(kind):                              # the recipe's values, else the defaults
        expected = recipe.get(name, kinds.option(name).default)
        assert options[name] == pytest.approx(expected) if isinstance(expected, float) else options[name] == expected
    shown = [tab.form._form.isRowVisible(tab.form._rows[row]) for row in ("options", "optimizer", "model", "seeds")]
    assert shown == [True, True, False, False]
    assert tab.form.model_boxes[kind].isVisibleTo(tab.form)
    assert not any(box.isVisibleTo(tab.form) for k, box in tab.form.model_boxes.items() if k != kind)


def test_the_model_and_optimizer_fields_reach_the_engine(tab, tmp_path):
    """What the tab starts for FSRCNN, ESPCN and VDSR is what `srviewer train` builds from the same flags."""
    form = tab.form
    form.set_values({"kind": "fsrcnn", "data": "sample", "val": "", "extra": "",
                     "options": {"d": 8, "s": 4, "m": 1, "bicubic_residual": False}})
    cfg = _resolved(tf_form.command_args(form.values(), tmp_path / "a"))
    assert cfg.kind == "fsrcnn" and cfg.generator_spec()["kwargs"] == {
        "d": 8, "s": 4, "m": 1, "scale": 4, "bicubic_residual": False}
    form.set_values({"kind": "espcn", "options": {"n1": 16, "n2": 8}})
    cfg = _resolved(tf_form.command_args(form.values(), tmp_path / "b"))
    assert cfg.generator_spec()["factory"] == "espcn" and (cfg.n1, cfg.n2) == (16, 8)
    momentum = form.optimizer_options["momentum"]
    assert not momentum.isEnabled()                                    # Adam has no momentum to set
    form.set_values({"kind": "vdsr", "options": {"depth": 6, "filters": 16, "optimizer": "sgd", "momentum": 0.8,
                                                 "clip": 0.01}})
    assert momentum.isEnabled()
    cfg = _resolved(tf_form.command_args(form.values(), tmp_path / "c"))
    assert cfg.generator_spec() == {"factory": "vdsr", "kwargs": {"depth": 6, "filters": 16}, "input": "bicubic"}
    assert (cfg.optimizer, cfg.momentum, cfg.clip) == ("sgd", pytest.approx(0.8), pytest.approx(0.01))
    form.extra.setText("--depth 8")                                    # extra flags still have the last word
    assert _resolved(tf_form.command_args(form.values(), tmp_path / "d")).depth == 8


def test_the_augmentation_experiment_offers_the_small_model_seeds_and_a_report_folder(tab, tmp_path):
    form = tab.form
    models = [form.model.itemText(i) for i in range(form.model.count())]
    assert models == list(kinds.cli_action("augment", "model").choices) and "small" in models
    form.set_values({"kind": "augment", "data": "tfds:stanford_dogs", "model": "small", "seeds": "0,1,2",
                     "report_dir": str(tmp_path / "docs"), "epochs": 2, "variants": ["none", "cutmix"], "extra": ""})
    assert [form._form.isRowVisible(form._rows[r]) for r in ("seeds", "report_dir", "options")] == [True, True, False]
    form.validate()
    args = _parser().parse_args(tf_form.command_args(form.values(), tmp_path / "exp"))
    assert (args.model, args.seeds, args.report_dir) == ("small", "0,1,2", str(tmp_path / "docs"))
    form.seeds.setText("3")
    with pytest.raises(DataError, match="at least two different seeds"):
        form.validate()
    form.seeds.setText("")
    with pytest.raises(DataError, match="report folder goes with seeds"):
        form.validate()
    form.report_dir.setText("")
    assert "--seeds" not in tf_form.command_args(form.values(), tmp_path / "one")
