"""The host helpers: the CPU's name and the idle-core estimate that decides whether `srviewer gui`
lets its model process import TensorFlow during the window's start."""

import os

from srviewer.core import host


def _loads(monkeypatch, tmp_path, cores, average, runnable, own_states="R"):
    """A machine of `cores` with this load average and `runnable` threads runnable in all (this
    process's included: one thread per letter of own_states, R running, S sleeping)."""
    monkeypatch.setattr(os, "cpu_count", lambda: cores)
    monkeypatch.setattr(os, "getloadavg", lambda: (average, average, average))
    tmp_path.mkdir(parents=True, exist_ok=True)
    path = tmp_path / "loadavg"
    path.write_text(f"{average} {average} {average} {runnable}/345 9999\n")
    monkeypatch.setattr(host, "LOADAVG", str(path))
    for i, state in enumerate(own_states):
        (tmp_path / "task" / str(100 + i)).mkdir(parents=True)
        (tmp_path / "task" / str(100 + i) / "stat").write_text(f"{100 + i} (python (x)) {state} 1 100 100 0 -1")
    monkeypatch.setattr(host, "OWN_TASKS", str(tmp_path / "task"))


def test_a_busy_machine_has_no_spare_core(monkeypatch, tmp_path):
    _loads(monkeypatch, tmp_path, cores=2, average=2.4, runnable=4)     # the caller + 3 others runnable
    assert host.spare_cores() < 1.0


def test_a_quiet_machine_has_its_cores_spare(monkeypatch, tmp_path):
    _loads(monkeypatch, tmp_path, cores=2, average=0.1, runnable=1)     # only the caller
    assert host.spare_cores() == 2


def test_a_job_that_just_stopped_does_not_count_for_a_minute(monkeypatch, tmp_path):
    _loads(monkeypatch, tmp_path, cores=2, average=1.9, runnable=1)     # the average still remembers it
    assert host.spare_cores() == 2


def test_this_processs_own_spinning_threads_are_not_load(monkeypatch, tmp_path):
    _loads(monkeypatch, tmp_path, cores=2, average=0.2, runnable=2, own_states="RRS")   # a BLAS thread spinning
    assert host.runnable_threads() == 0 and host.spare_cores() == 2
    _loads(monkeypatch, tmp_path / "busy", cores=2, average=0.2, runnable=3, own_states="RS")
    assert host.runnable_threads() == 2


def test_unreadable_loads_leave_every_core_spare(monkeypatch, tmp_path):
    def no_average():
        raise OSError("no load average here")

    monkeypatch.setattr(os, "cpu_count", lambda: 8)
    monkeypatch.setattr(os, "getloadavg", no_average)
    monkeypatch.setattr(host, "LOADAVG", str(tmp_path / "missing"))
    assert host.spare_cores() == 8


def test_the_cpu_model_is_a_name():
    name = host.cpu_model()
    assert isinstance(name, str) and name.strip() == name and name
