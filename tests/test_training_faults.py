"""Faults during training and export: SIGKILL at random moments, a full disk mid-write.

The kill trial is benchmarks/kill_resume.py's (20 kills there, a few here). A full disk is a
patched writer (os.replace / the checkpoint manager raising ENOSPC) and a real 4 MB tmpfs filled
to the brim (as root, or as root of a user namespace of its own). In every case the previous files are intact, the
error is one line (exit 2 through the CLI) and the run resumes from its last checkpoint.
"""

from __future__ import annotations

import errno
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "benchmarks"))

from kill_resume import check_run, kill_resume_trial, make_tiny_data  # noqa: E402

from srviewer.cli import main  # noqa: E402
from srviewer.errors import SrviewerError  # noqa: E402
from srviewer.train.events import read_events  # noqa: E402

pytestmark = pytest.mark.slow


def test_sigkill_at_random_moments_then_resume_loses_nothing(tmp_path):
    result = kill_resume_trial(tmp_path, kills=3, seed=11)
    assert result["problems"] == []
    records = result["records"]
    assert len(records) == 3
    for rec in records:
        assert rec.latest_after >= rec.latest_before >= 0      # the step never goes back
        assert rec.latest_after >= rec.logged_ckpt             # nothing the log announced was lost
        if rec.resumed_at is not None:
            assert rec.resumed_at == rec.latest_after          # the next session starts there
    final = result["final"]
    assert final["exit"] == 0 and final["last_event"]["event"] == "finished"
    assert final["latest"] == final["expected"] and final["checkpoints_read"] >= 1
    assert records[-1].latest_after > 0                        # some training really happened


# -- a full disk ---------------------------------------------------------------------------------
@pytest.fixture
def tiny_run(tmp_path, monkeypatch):
    """A finished 4-step SRCNN run (checkpoints at 2 and 4) and its config."""
    import srviewer.train.sr_data as sr_data
    from srviewer.train.sr_config import SRConfig
    from srviewer.train.sr_trainer import SRTrainer, StopFlag

    monkeypatch.setattr(sr_data, "CACHE_DIR", tmp_path / "cache")
    data = make_tiny_data(tmp_path / "data")
    run = tmp_path / "run"
    cfg = SRConfig.from_dict(dict(kind="srcnn", data=[str(data)], val=None, steps=4, batch=2, patch=24, n1=8, n2=4,
                                  checkpoint_every=2, val_every=1000, xla="off", log_every=1))
    run.mkdir()
    from srviewer.core.atomic import atomic_write_json

    atomic_write_json(run / "config.json", cfg.to_dict())
    assert SRTrainer(cfg, run).run(StopFlag(run)) == "done"
    return run, cfg


def _snapshot(run: Path) -> dict[str, bytes]:
    return {name: (run / name).read_bytes() for name in ("latest.weights.h5", "latest.json", "state.json")}


def _no_space(*_args, **_kwargs):
    raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))


def test_full_disk_while_exporting_the_checkpoint_weights_keeps_the_previous_files(tiny_run, monkeypatch):
    from srviewer.core import atomic
    from srviewer.train.sr_trainer import SRTrainer, StopFlag

    run, cfg = tiny_run
    before = _snapshot(run)
    trainer = SRTrainer(type(cfg).from_dict(dict(cfg.to_dict(), steps=8)), run, resumed=True)
    monkeypatch.setattr(atomic.os, "replace", _no_space)   # every atomic write fails at its last step
    with pytest.raises(SrviewerError) as info:
        trainer.run(StopFlag(run))
    monkeypatch.undo()
    message = str(info.value)
    assert "No space left on device" in message and "--resume" in message and "\n" not in message
    assert _snapshot(run) == before                         # latest weights, sidecar and state untouched
    assert not list(run.glob(".*.tmp*"))                    # and no temp file left behind
    step, read, problems = check_run(run)
    assert problems == [] and step in (4, 6) and read >= 2


def test_full_disk_while_writing_the_checkpoint_keeps_the_last_one(tiny_run, monkeypatch):
    import tensorflow as tf

    from srviewer.train.sr_trainer import SRTrainer, StopFlag

    run, cfg = tiny_run
    before = _snapshot(run)
    trainer = SRTrainer(type(cfg).from_dict(dict(cfg.to_dict(), steps=8)), run, resumed=True)

    def full(*_args, **_kwargs):
        (run / "checkpoints" / "ckpt-6_temp").mkdir()       # what TensorFlow leaves when SaveV2 fails
        raise tf.errors.ResourceExhaustedError(None, None, "ckpt-6_temp/part-0.tempstate1; No space left on device")

    monkeypatch.setattr(trainer.manager, "save", full)
    with pytest.raises(SrviewerError, match="No space left on device.*ckpt-4 is intact"):
        trainer.run(StopFlag(run))
    assert _snapshot(run) == before
    assert not (run / "checkpoints" / "ckpt-6_temp").exists()
    assert tf.train.latest_checkpoint(str(run / "checkpoints")).endswith("ckpt-4")


def test_full_disk_through_the_cli_is_one_line_an_error_event_and_the_run_resumes(tiny_run, monkeypatch, capsys):
    import srviewer.train.sr_trainer as sr_trainer

    run, _ = tiny_run
    before = _snapshot(run)
    def full(self, step):
        raise self._write_failed(f"the checkpoint of step {step}", OSError(errno.ENOSPC, os.strerror(errno.ENOSPC)))

    monkeypatch.setattr(sr_trainer.SRTrainer, "save_checkpoint", full)
    code = main(["train", "srcnn", "--resume", str(run), "--steps", "8"])
    err = capsys.readouterr().err
    assert code == 2
    lines = [line for line in err.splitlines() if line.startswith("srviewer:")]
    assert len(lines) == 1 and "No space left on device" in lines[0] and "Traceback" not in err
    last = read_events(run)[-1]
    assert last["event"] == "error" and "No space left" in last["message"]
    assert _snapshot(run) == before
    monkeypatch.undo()
    assert main(["train", "srcnn", "--resume", str(run), "--steps", "8"]) == 0
    events = read_events(run)
    assert [e for e in events if e["event"] == "started"][-1]["step"] == 4
    assert events[-1] == {**events[-1], "event": "finished", "reason": "done", "step": 8}


def test_full_disk_during_a_compare_export_keeps_the_previous_export(tmp_path, monkeypatch, smooth_rgb):
    from srviewer.core import atomic
    from srviewer.core.images import write_image

    image = tmp_path / "photo.png"
    write_image(image, smooth_rgb)
    out = tmp_path / "export"
    assert main(["compare", str(image), "--methods", "bicubic", "-o", str(out)]) == 0
    before = {p.name: p.read_bytes() for p in out.iterdir()}
    monkeypatch.setattr(atomic.os, "replace", _no_space)
    code = main(["compare", str(image), "--methods", "bicubic", "--kernel", "opencv", "-o", str(out)])
    monkeypatch.undo()
    assert code == 2
    assert {p.name: p.read_bytes() for p in out.iterdir()} == before   # nothing half-replaced, no temp files


def test_full_disk_during_a_model_export_keeps_the_shipped_pair(tiny_run, tmp_path, monkeypatch, capsys):
    from srviewer.core import atomic

    run, _ = tiny_run
    weights = tmp_path / "weights"
    weights.mkdir()
    (weights / "srcnn.weights.h5").write_bytes(b"old weights")
    (weights / "srcnn.json").write_text(json.dumps({"old": True}))
    real_replace = os.replace

    def sidecar_fails(src, dst):   # the weights would fit, the sidecar does not
        if str(dst).endswith(".json"):
            _no_space()
        real_replace(src, dst)

    monkeypatch.setattr(atomic.os, "replace", sidecar_fails)
    code = main(["train", "export", str(run), "--name", "srcnn", "--which", "latest", "--weights-dir", str(weights)])
    monkeypatch.undo()
    err = capsys.readouterr().err
    assert code == 2 and "No space left on device" in err
    assert (weights / "srcnn.weights.h5").read_bytes() == b"old weights"   # not a new file beside an old sidecar
    assert json.loads((weights / "srcnn.json").read_text()) == {"old": True}


def _can_mount_tmpfs(target: Path) -> bool:
    if os.geteuid() != 0 or sys.platform != "linux":
        return False
    target.mkdir(parents=True, exist_ok=True)
    return subprocess.run(["mount", "-t", "tmpfs", "-o", "size=4m", "tmpfs", str(target)],
                          capture_output=True).returncode == 0


def _run_again_in_own_mount_namespace(test_name: str) -> None:
    """Not root: run the test again as root of its own user and mount namespace (`unshare -rm`),
    where it may mount a tmpfs, and require it to pass there. Skipped only where the kernel or
    the system refuses such namespaces (a skip CI does not accept: tests/skip_policy.py)."""
    if os.environ.get("SRVIEWER_TEST_IN_NAMESPACE") or not shutil.which("unshare") or sys.platform != "linux":
        pytest.skip("cannot mount a small tmpfs: not root, and no user namespace to be root in")
    env = dict(os.environ, SRVIEWER_TEST_IN_NAMESPACE="1")
    proc = subprocess.run(["unshare", "-rm", sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
                           f"{__file__}::{test_name}"], env=env, cwd=REPO, capture_output=True, text=True, timeout=900)
    if proc.returncode != 0 and proc.stderr.startswith("unshare:"):
        pytest.skip(f"cannot mount a small tmpfs: not root, and {proc.stderr.strip()}")
    assert proc.returncode == 0 and "1 passed" in proc.stdout, proc.stdout[-3000:] + proc.stderr[-2000:]


def test_a_real_full_disk_fails_the_checkpoint_cleanly(tmp_path, monkeypatch, capsys):
    import srviewer.train.sr_data as sr_data

    disk = tmp_path / "disk"
    if not _can_mount_tmpfs(disk):
        _run_again_in_own_mount_namespace("test_a_real_full_disk_fails_the_checkpoint_cleanly")
        return
    try:
        monkeypatch.setattr(sr_data, "CACHE_DIR", tmp_path / "cache")
        data = make_tiny_data(tmp_path / "data")
        run = disk / "run"
        args = ["train", "srcnn", "--data", str(data), "--steps", "4", "--batch", "2", "--patch", "24", "--n1", "8",
                "--n2", "4", "--checkpoint-every", "2", "--val", "none", "--xla", "off", "--out", str(run)]
        assert main(args) == 0
        before = _snapshot(run)
        stat = os.statvfs(disk)
        with open(disk / "filler", "wb") as handle:   # leave 16 KB: events fit, a checkpoint does not
            handle.write(b"\0" * (stat.f_bavail * stat.f_frsize - 16384))
        capsys.readouterr()
        code = main(["train", "srcnn", "--resume", str(run), "--steps", "8"])
        err = capsys.readouterr().err
        assert code == 2 and "No space left on device" in err and "ckpt-4 is intact" in err, err
        assert _snapshot(run) == before
        step, read, problems = check_run(run)
        assert step == 4 and problems == []
        (disk / "filler").unlink()
        assert main(["train", "srcnn", "--resume", str(run), "--steps", "8"]) == 0
        assert check_run(run)[0] == 8
    finally:
        subprocess.run(["umount", "-l", str(disk)], capture_output=True)


def test_an_export_without_a_validation_folder_says_its_scores_were_not_measured(tiny_run, tmp_path):
    from srviewer.train.model_card import export_run

    run, _ = tiny_run                       # its config has val=None
    card = export_run(run, "srcnn", weights_dir=tmp_path / "weights", which="latest").read_text()
    assert "no validation folder to measure the file on" in card and "| **srcnn (this file)**" not in card
    assert (tmp_path / "weights" / "srcnn.weights.h5").is_file()
