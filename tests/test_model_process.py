"""Learned models in a child Python: same results, cancel, a killed child, errors, no TensorFlow in the parent."""

import os
import signal
import subprocess
import sys
import threading

import numpy as np
import pytest

from srviewer.core import methods
from srviewer.core.cancel import CancelToken
from srviewer.core.model_process import ModelProcess, ModelProcessDied
from srviewer.errors import Cancelled, ModelFileError

KWARGS = {"num_filters": 4, "num_res_blocks": 1, "batch_norm": False}


@pytest.fixture(scope="module")
def shipped(tmp_path_factory):
    """A weights folder with a tiny srresnet, and the Keras model itself (built in this process)."""
    from srviewer.core import models
    from srviewer.core.atomic import atomic_write_json

    folder = tmp_path_factory.mktemp("weights")
    model = models.build({"factory": "sr_resnet", "kwargs": KWARGS})
    model.save_weights(str(folder / "srresnet.weights.h5"))
    atomic_write_json(folder / "srresnet.json", {"factory": "sr_resnet", "kwargs": KWARGS, "scale": 4,
                                                 "input": "lr", "label": "SRResNet (tiny)", "format": 1})
    return folder, model


@pytest.fixture
def process(model_process):
    return model_process       # conftest's, shared with other modules


def _method(folder, process, tile=None):
    method = methods.default_registry(weights_dir=folder, process=process).get("srresnet")
    method.tile, method.jit_compile = tile, False
    return method


def test_results_match_the_model_and_the_work_runs_in_the_child(shipped, process, rng):
    folder, model = shipped
    method = _method(folder, process, tile=8)
    lr = rng.random((60, 50, 3)).astype(np.float32)
    fractions = []
    out = method.upscale(lr, progress=fractions.append)
    assert out.shape == (240, 200, 3) and out.dtype == np.float32
    np.testing.assert_allclose(out, np.clip(np.asarray(model(lr[None]))[0], 0, 1), atol=1e-4)
    assert len(fractions) > 1 and fractions[-1] == 1.0 and fractions == sorted(fractions)
    assert process.pid not in (None, os.getpid())
    assert method.scale == 4 and method.device_description().split(":")[0] in ("CPU", "GPU")


def test_cancel_stops_the_child_between_tiles_and_it_serves_the_next_request(shipped, process, rng):
    folder, _ = shipped
    method = _method(folder, process, tile=8)
    lr = rng.random((120, 120, 3)).astype(np.float32)
    token, fractions = CancelToken(), []

    def on_progress(f):
        fractions.append(f)
        token.cancel()
    with pytest.raises(Cancelled):
        method.upscale(lr, progress=on_progress, cancel=token)
    assert 0 < fractions[-1] < 1.0        # stopped part-way, not after the last tile
    assert method.upscale(lr[:20, :20]).shape == (80, 80, 3)


def test_a_killed_child_is_a_clear_error_and_the_next_run_starts_a_new_one(shipped, rng):
    folder, _ = shipped
    proc = ModelProcess()
    try:
        method = _method(folder, proc, tile=8)
        lr = rng.random((120, 120, 3)).astype(np.float32)
        killed = threading.Event()

        def kill_on_progress(_f):
            if not killed.is_set():
                killed.set()
                os.kill(proc.pid, signal.SIGKILL)
        with pytest.raises(ModelProcessDied, match="killed"):
            method.upscale(lr, progress=kill_on_progress)
        assert method.upscale(lr[:16, :16]).shape == (64, 64, 3)     # a fresh child
    finally:
        proc.close()


def test_errors_in_the_child_come_back_as_themselves(tmp_path, process):
    (tmp_path / "srresnet.weights.h5").write_bytes(b"not an HDF5 file")
    (tmp_path / "srresnet.json").write_text('{"factory": "sr_resnet", "kwargs": {}, "scale": 4, "input": "lr", '
                                            '"label": "x", "format": 1}')
    with pytest.raises(ModelFileError):
        _method(tmp_path, process).upscale(np.zeros((8, 8, 3), np.float32))


def test_the_parent_never_imports_tensorflow(shipped, tmp_path):
    folder, _ = shipped
    code = (
        "import sys, numpy as np\n"
        "from srviewer.core.methods import default_registry\n"
        "from srviewer.core.model_process import ModelProcess\n"
        f"m = default_registry(weights_dir={str(folder)!r}, process=ModelProcess()).get('srresnet')\n"
        "out = m.upscale(np.full((10, 12, 3), 0.5, np.float32))\n"
        "assert out.shape == (40, 48, 3), out.shape\n"
        "print(m.device_description())\n"
        "assert 'tensorflow' not in sys.modules and 'keras' not in sys.modules\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300, cwd=tmp_path)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.split(":")[0] in ("CPU", "GPU")


def test_the_window_runs_learned_methods_in_the_child_and_shows_its_device(shipped, process, qtbot, tmp_path):
    from PySide6.QtCore import QSettings

    from srviewer.core.images import from_array
    from srviewer.gui.main_window import MainWindow
    from srviewer.gui.settings import WindowSettings

    folder, _ = shipped
    registry = methods.default_registry(weights_dir=folder, process=process)
    registry.get("srresnet").jit_compile = False
    win = MainWindow(registry, settings=WindowSettings(QSettings(str(tmp_path / "s.ini"), QSettings.IniFormat)), show_dialogs=False)
    qtbot.addWidget(win)
    win.compare.refresh_methods(["bicubic", "srresnet"])
    image = from_array((np.random.default_rng(0).random((48, 40, 3)) * 255).astype(np.uint8))
    with qtbot.waitSignal(win.compare.results_shown, timeout=120_000):
        win.compare.set_image(image)
    assert set(win.compare.session.results) == {"bicubic", "srresnet"}
    assert win.compare.session.results["srresnet"].sr.shape == win.compare.session.results["bicubic"].sr.shape
    assert win.compare.controls.device.text().split(":")[1].strip() in ("CPU", "GPU")
    win.compare.runner.wait_all(5000)
    registry.process = None    # closing the window closes its process (test_preload): keep the shared one going


def test_a_renamed_or_relabelled_method_is_the_same_loaded_model_in_the_child(shipped):
    from srviewer.core.model_process import model_key

    folder, _ = shipped
    method = methods.ModelMethod("mine", folder / "srresnet.weights.h5")
    spec = method.spec()
    method.name, method.label, method.tile = "mine_2", "My model", 64     # what the window does after loading
    assert model_key(method.spec()) == model_key(spec)
    for field, value in (("path", str(folder / "other.weights.h5")), ("precision", "mixed"), ("kernel", "opencv"),
                         ("trust_code", True), ("value_range", "-1..1"), ("jit_compile", False)):
        assert model_key({**spec, field: value}) != model_key(spec), field


def test_a_held_child_imports_tensorflow_only_once_released(tmp_path, monkeypatch):
    """`start(hold=True)` (srviewer gui, before Qt): the child starts and waits; TensorFlow's import
    begins only after `start()` (the window shown), so it does not compete with the window's start."""
    from srviewer.core import timeline

    path = tmp_path / "timeline.tsv"
    monkeypatch.setenv(timeline.ENV, str(path))
    proc = ModelProcess()
    try:
        proc.start(hold=True)
        _wait_for(lambda: path.exists() and any(m[4] == "held until the window is shown" for m in timeline.read(path)))
        released = timeline.now()
        proc.start()
        assert proc._go.is_set()
        assert proc.device().split(":")[0] in ("CPU", "GPU")
        began = next(at for at, _pid, role, _cpu, what in timeline.read(path)
                     if role == "models" and what == "TensorFlow import begins")
        assert began > released
        child = proc._proc
    finally:
        proc.close()
    assert child.exitcode == 0                  # idle after its request: it returned on the pipe's end


def test_closing_a_child_still_importing_tensorflow_does_not_wait_for_it(tmp_path, monkeypatch):
    """`srviewer gui` lets the child import TensorFlow during the window's start: a window closed in
    its first seconds must close at once, not wait for the import (it used to wait 2 s, then end it)."""
    import time

    from srviewer.core import timeline

    path = tmp_path / "timeline.tsv"
    monkeypatch.setenv(timeline.ENV, str(path))
    proc = ModelProcess()
    proc.start()
    child = proc._proc
    _wait_for(lambda: path.exists() and any(m[4] == "TensorFlow import begins" for m in timeline.read(path)))
    t0 = time.monotonic()
    proc.close()
    assert time.monotonic() - t0 < 1.0
    assert not child.is_alive()
    assert not any(m[4] == "TensorFlow imported" for m in timeline.read(path))   # it was still importing


def test_a_held_child_ends_by_itself_when_closed(tmp_path, monkeypatch):
    from srviewer.core import timeline

    path = tmp_path / "timeline.tsv"
    monkeypatch.setenv(timeline.ENV, str(path))
    proc = ModelProcess()
    proc.start(hold=True)
    child = proc._proc
    _wait_for(lambda: path.exists() and any(m[4] == "held until the window is shown" for m in timeline.read(path)))
    proc.close()
    assert child.exitcode == 0                  # it returned on the pipe's end: not terminated, no TensorFlow
    assert not any(m[4] == "TensorFlow import begins" for m in timeline.read(path))


def _wait_for(condition, seconds=120.0):
    import time

    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline
        time.sleep(0.02)
