"""The start-up timeline (core/timeline.py): marks only when asked, one clock for all processes."""

import os
import subprocess
import sys

from srviewer.core import timeline


def test_marks_nothing_without_the_variable(tmp_path, monkeypatch):
    monkeypatch.delenv(timeline.ENV, raising=False)
    monkeypatch.chdir(tmp_path)
    timeline.mark("nothing")
    assert list(tmp_path.iterdir()) == []


def test_marks_from_two_processes_share_one_file_and_clock(tmp_path, monkeypatch):
    path = tmp_path / "timeline.tsv"
    monkeypatch.setenv(timeline.ENV, str(path))
    before = timeline.now()
    timeline.mark("in the parent")
    code = ("from srviewer.core import timeline; timeline.set_role('models'); "
            "timeline.mark_process_start(); timeline.mark('in the child')")
    subprocess.run([sys.executable, "-c", code], check=True, env=dict(os.environ, PYTHONPATH=os.pathsep.join(sys.path)))
    after = timeline.now()
    marks = timeline.read(path)
    whats = [m[4] for m in marks]
    assert whats.index("in the parent") < whats.index("in the child")
    assert whats.index("process exec'd") < whats.index("in the child")
    assert all(before - 0.02 <= at <= after for at, *_ in marks)        # exec time comes in 10 ms ticks
    roles = {what: role for _at, _pid, role, _cpu, what in marks}
    assert roles["in the parent"] == "window" and roles["in the child"] == "models"
    assert len({pid for _at, pid, *_ in marks}) == 2
    child_cpu = next(cpu for _at, _pid, _role, cpu, what in marks if what == "in the child")
    assert child_cpu > 0                                                 # the child's CPU seconds so far
    text = timeline.table(marks, before)
    assert text.count("\n") == 3 and "in the child" in text.splitlines()[-1]
