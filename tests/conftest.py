"""Shared test set-up: headless Qt, quiet TensorFlow, small images the tests make themselves."""

import atexit
import os
import shutil
import tempfile

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("SRVIEWER_SETTINGS_ORG", "srviewer-tests")  # keep tests' QSettings apart
if not os.environ.get("SRVIEWER_CACHE"):   # keep tests' caches (folded weights, pairs, XLA verdict) apart
    os.environ["SRVIEWER_CACHE"] = tempfile.mkdtemp(prefix="srviewer-test-cache-")
    atexit.register(shutil.rmtree, os.environ["SRVIEWER_CACHE"], ignore_errors=True)

from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402
import pytest  # noqa: E402

# under CI=true a skip fails the run unless it needs a documented optional extra (skip_policy.py)
from skip_policy import (pytest_runtest_logreport, pytest_sessionfinish,  # noqa: E402, F401
                         pytest_terminal_summary, skip_optional)

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared"
SET5 = SHARED / "datasets" / "sr-val" / "Set5"


@pytest.fixture
def rng():
    return np.random.default_rng(1234)


@pytest.fixture
def smooth_rgb(rng):
    """A 64x48 RGB uint8 image with structure (gradients + noise), HWC."""
    y, x = np.mgrid[0:48, 0:64]
    base = np.stack([x * 4, y * 5, (x + y) * 2], axis=-1).astype(np.float64)
    img = base + rng.normal(0, 8, base.shape)
    return np.clip(img, 0, 255).astype(np.uint8)


@pytest.fixture
def empty_weights(tmp_path, monkeypatch):
    """No shipped weights: only bicubic (and result images) can run, keeping TensorFlow out."""
    folder = tmp_path / "weights"
    folder.mkdir()
    monkeypatch.setenv("SRVIEWER_WEIGHTS", str(folder))
    return folder


@pytest.fixture
def registry():
    """A MethodRegistry with the two bicubic kernels ("bicubic": MATLAB, "bicubic_cv": OpenCV)."""
    from srviewer.core.methods import BicubicMethod, MethodRegistry

    r = MethodRegistry()
    r.register(BicubicMethod("matlab"))
    r.register(BicubicMethod("opencv", name="bicubic_cv"))
    return r


def set5_available() -> bool:
    return (SET5 / "HR").is_dir()


needs_set5 = pytest.mark.skipif(not set5_available(), reason="../shared/datasets/sr-val/Set5 not present")


@pytest.fixture(scope="session")
def model_process():
    """One model process (a child Python with TensorFlow) shared by the tests that only run models in it:
    each start costs a TensorFlow import. A test that kills, closes or counts starts makes its own."""
    from srviewer.core.model_process import ModelProcess

    process = ModelProcess()
    yield process
    process.close()


@pytest.fixture
def make_window(qtbot, tmp_path):
    """make_window(registry, checked) -> a MainWindow over `registry` with its own settings file (no
    saved geometry: the default size), `checked` methods ticked, not yet shown; runs waited for at the end."""
    from PySide6.QtCore import QSettings

    from srviewer.gui.app import configure_pyqtgraph
    from srviewer.gui.settings import WindowSettings

    configure_pyqtgraph()
    made = []

    def make(registry, checked):
        from srviewer.gui.main_window import MainWindow

        settings = WindowSettings(QSettings(str(tmp_path / f"settings{len(made)}.ini"), QSettings.IniFormat))
        win = MainWindow(registry, settings=settings, show_dialogs=False)
        qtbot.addWidget(win)
        win.compare.refresh_methods(list(checked))
        made.append(win)
        return win

    yield make
    for win in made:
        win.compare.runner.wait_all(5000)
