"""The XLA probe's verdict is kept per machine: a later process reads it instead of timing again."""

import json
import math

from srviewer.core import tf_runtime, xla_choice_store


def _fake_probe(monkeypatch, verdict):
    calls = []

    def probe():
        calls.append(1)
        return dict(verdict)

    monkeypatch.setattr(tf_runtime, "_time_xla_against_plain", probe)
    return calls


def _new_process(monkeypatch):
    monkeypatch.setattr(tf_runtime, "_xla_choice", {})       # what a fresh process starts with


def test_the_first_verdict_is_kept_and_the_next_process_reads_it(tmp_path, monkeypatch):
    monkeypatch.setenv("SRVIEWER_CACHE", str(tmp_path))
    calls = _fake_probe(monkeypatch, {"faster": False, "xla_ms": 3.0, "plain_ms": 2.0})
    _new_process(monkeypatch)
    assert tf_runtime.xla_is_faster() is False and len(calls) == 1
    assert tf_runtime.xla_choice()["kept"] is False
    saved = json.loads((tmp_path / "xla_choice.json").read_text())
    (key, entry), = saved.items()
    assert entry == {"faster": False, "xla_ms": 3.0, "plain_ms": 2.0}
    assert f"tensorflow {tf_runtime.tf().__version__}" in key
    _new_process(monkeypatch)
    _fake_probe(monkeypatch, {"faster": True, "xla_ms": 1.0, "plain_ms": 2.0})   # a busy moment would say this
    assert tf_runtime.xla_is_faster() is False                                     # the kept verdict holds
    assert tf_runtime.xla_choice() == {"faster": False, "xla_ms": 3.0, "plain_ms": 2.0, "kept": True}


def test_another_machines_verdict_is_not_used_and_both_are_kept(tmp_path, monkeypatch):
    monkeypatch.setenv("SRVIEWER_CACHE", str(tmp_path))
    (tmp_path / "xla_choice.json").write_text(json.dumps({"Other CPU | 64 cores": {"faster": False}}))
    calls = _fake_probe(monkeypatch, {"faster": True, "xla_ms": 1.0, "plain_ms": 2.0})
    _new_process(monkeypatch)
    assert tf_runtime.xla_is_faster() is True and len(calls) == 1
    assert len(json.loads((tmp_path / "xla_choice.json").read_text())) == 2


def test_a_failed_xla_or_an_unreadable_file_is_not_a_verdict(tmp_path, monkeypatch):
    monkeypatch.setenv("SRVIEWER_CACHE", str(tmp_path))
    (tmp_path / "xla_choice.json").write_text("{not json")
    assert xla_choice_store.load(xla_choice_store.machine_key("2.0", [])) is None
    calls = _fake_probe(monkeypatch, {"faster": False, "xla_ms": math.inf, "plain_ms": math.nan})
    _new_process(monkeypatch)
    assert tf_runtime.xla_is_faster() is False
    _new_process(monkeypatch)
    assert tf_runtime.xla_is_faster() is False and len(calls) == 2    # timed again: XLA may work next time
