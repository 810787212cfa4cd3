"""`srviewer gui` starts the model process before Qt, held: TensorFlow's import waits for the window shown."""

import os
import subprocess
import sys

from srviewer.core import timeline


def test_the_model_process_starts_before_the_window(tmp_path):
    path = tmp_path / "timeline.tsv"
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen", SRVIEWER_SETTINGS_ORG="srviewer-tests-cli",
               SRVIEWER_TIMELINE=str(path))
    proc = subprocess.run([sys.executable, "-m", "srviewer", "gui", "--methods", "bicubic",
                           "--weights-dir", str(tmp_path / "no-weights"), "--screenshot", str(tmp_path / "shot.png"),
                           "--quit-after-results"], env=env, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    marks = timeline.read(path)

    def at(text):
        return next(t for t, _pid, _role, _cpu, what in marks if what.startswith(text))

    assert at("model process spawned") < at("QApplication made") < at("window shown") < at("result bicubic drawn")
    started = next(what for _t, _pid, _role, _cpu, what in marks if what.startswith("model process started"))
    held = any(what == "held until the window is shown" for _t, _pid, _role, _cpu, what in marks)
    if ", held (" in started:        # a busy machine: the window's start is its own, TensorFlow waits
        assert held and at("TensorFlow import begins") > at("window shown")
    else:                            # an idle core besides the window's: the import starts at once
        assert ", not held (" in started and not held
    assert any(role == "models" for _t, _pid, role, _cpu, _what in marks)  # the child ran
