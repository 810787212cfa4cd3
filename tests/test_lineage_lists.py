"""The seven methods in lineage order with their year: `srviewer methods`, bench and compare (`--methods
all`, the crop figure), and the window's list (default ticks, greyed methods naming their command)."""

import json

import numpy as np
import pytest

from srviewer.cli import main
from srviewer.core.atomic import atomic_write_json
from srviewer.core.images import write_image

TINY = {"srcnn": ({"n1": 4, "n2": 2}, "bicubic"), "vdsr": ({"depth": 3, "filters": 4}, "bicubic"),
        "espcn": ({"scale": 4, "n1": 4, "n2": 2}, "lr")}


@pytest.fixture
def weights(tmp_path):
    """A weights folder with tiny srcnn, espcn and vdsr models; fsrcnn, srresnet and srgan missing."""
    pytest.importorskip("keras")
    from srviewer.core import models

    folder = tmp_path / "weights"
    folder.mkdir()
    for name, (kwargs, input_kind) in TINY.items():
        models.build({"factory": name, "kwargs": kwargs}).save_weights(str(folder / f"{name}.weights.h5"))
        atomic_write_json(folder / f"{name}.json", {"factory": name, "kwargs": kwargs, "scale": 4,
                                                    "input": input_kind, "label": name.upper(), "format": 1})
    return folder


def test_methods_lists_the_lineage_with_years_and_how_to_train_what_is_missing(capsys, weights):
    assert main(["methods", "--weights-dir", str(weights)]) == 0
    rows = [line.split() for line in capsys.readouterr().out.splitlines()[1:]]
    assert [(r[0], r[1]) for r in rows] == [("bicubic", "1981"), ("srcnn", "2014"), ("fsrcnn", "2016"),
                                            ("espcn", "2016"), ("vdsr", "2016"), ("srresnet", "2017"),
                                            ("srgan", "2017")]
    status = {r[0]: " ".join(r[3:]) for r in rows}
    assert status["srcnn"] == status["vdsr"] == status["bicubic"] == "ready"
    assert status["fsrcnn"] == "not trained: srviewer train fsrcnn --config configs/fsrcnn.json"
    assert status["srgan"] == "not trained: srviewer train srgan --config configs/srgan.json"


@pytest.fixture
def hr_folder(tmp_path, rng):
    folder = tmp_path / "hr"
    for i in range(2):
        y, x = np.mgrid[0:40, 0:36]
        base = np.stack([np.sin(x / (3 + i)), np.cos(y / 4), np.sin((x + y) / 5)], -1)
        write_image(folder / f"img_{i}.png", ((base + 1) * 110 + rng.normal(0, 5, base.shape)).clip(0, 255).astype(np.uint8))
    return folder


def test_bench_prints_the_methods_in_lineage_order_whatever_order_they_are_asked_in(capsys, weights, hr_folder):
    assert main(["bench", str(hr_folder), "--methods", "vdsr,bicubic,espcn,srcnn", "--weights-dir", str(weights)]) == 0
    rows = [line.split() for line in capsys.readouterr().out.splitlines()[1:]]
    order = list(dict.fromkeys(r[0] for r in rows))
    assert order == ["bicubic", "srcnn", "espcn", "vdsr"]
    assert [r[1] for r in rows if r[0] == "vdsr"] == ["img_0", "img_1", "mean"]


def test_compare_all_runs_every_available_method_in_order_into_the_crop_figure(capsys, weights, hr_folder, tmp_path):
    out = tmp_path / "out"
    assert main(["compare", str(hr_folder / "img_0.png"), "--methods", "all", "--crop", "4,4,16,16",
                 "-o", str(out), "--weights-dir", str(weights)]) == 0
    captured = capsys.readouterr()
    table = [line.split()[0] for line in captured.out.splitlines()[1:5]]
    assert table == ["bicubic", "srcnn", "espcn", "vdsr"]
    for missing in ("fsrcnn", "srresnet", "srgan"):     # said, with the command, not silently dropped
        assert f"skipping {missing}: weights/{missing}.weights.h5 not found" in captured.err.replace(str(weights.parent) + "/", "")
        assert f"srviewer train {missing} --config configs/{missing}.json" in captured.err
    assert set(json.loads((out / "manifest.json").read_text())["methods"]) == set(table)
    rows = [line.split(",")[0] for line in (out / "metrics.csv").read_text().splitlines()[1:]]
    assert rows[:4] == table
    assert (out / "figure.png").exists() and all((out / f"{n}.png").exists() for n in table)


def test_the_window_lists_the_lineage_with_years_ticks_the_four_and_greys_the_untrained(qtbot, tmp_path, weights):
    from PySide6.QtCore import QSettings

    from srviewer.core.methods import default_registry
    from srviewer.gui.app import configure_pyqtgraph
    from srviewer.gui.main_window import MainWindow
    from srviewer.gui.settings import WindowSettings

    configure_pyqtgraph()
    settings = WindowSettings(QSettings(str(tmp_path / "settings.ini"), QSettings.IniFormat))
    win = MainWindow(default_registry(weights_dir=weights), settings=settings, show_dialogs=False)
    qtbot.addWidget(win)
    controls = win.compare.controls
    assert [box.text() for box in controls.checks.values()] == [
        "Bicubic (1981)", "SRCNN (2014)", "FSRCNN (2016)", "ESPCN (2016)", "VDSR (2016)", "SRResNet (2017)",
        "SRGAN (2017)"]
    assert controls.selected_methods() == ["bicubic", "srcnn"]      # the default four, where they can run
    assert controls.checks["vdsr"].isEnabled() and not controls.checks["vdsr"].isChecked()
    for name in ("fsrcnn", "srresnet", "srgan"):
        assert not controls.checks[name].isEnabled()
        assert controls.notes[name].text() == f"srviewer train {name} --config configs/{name}.json"
        assert f"{name}.weights.h5 not found" in controls.notes[name].toolTip() == controls.checks[name].toolTip()
    assert set(controls.notes) == {"fsrcnn", "srresnet", "srgan"}
    controls.checks["vdsr"].setChecked(True)
    assert controls.selected_methods() == ["bicubic", "srcnn", "vdsr"]
    win.compare.refresh_methods(["vdsr", "fsrcnn"])                 # an untrained method cannot be ticked
    assert controls.selected_methods() == ["vdsr"]
