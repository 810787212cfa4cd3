"""The Qt-free training-run state: events in, curves / progress / status / sample out."""

import json

import pytest

from srviewer.train.events import EventLog
from srviewer.train.run_state import EVENT_NAMES, RunState, eta_text


def _recording(state):
    seen = []
    for name in EVENT_NAMES:
        getattr(state.events, name).connect(lambda *args, n=name: seen.append((n, args)))
    return seen


def _sr_run(tmp_path, steps=range(1, 6), total=10, kind="srresnet"):
    run = tmp_path / "run"
    log = EventLog(run)
    log.emit("started", step=0, total_steps=total, kind=kind, resumed=False)
    for s in steps:
        log.emit("train", step=s, total_steps=total, loss=1.0 / s, content=2.0 / s, lr=1e-4, steps_per_s=2.0)
    return run, log


def test_a_live_run_gives_curves_progress_eta_and_its_sample(tmp_path):
    run, log = _sr_run(tmp_path)
    state = RunState(run, kind="srresnet")
    seen = _recording(state)
    state.poll()
    assert state.status == "running" and state.step == 5 and state.total_steps == 10
    assert state.fraction == 0.5 and state.steps_per_s == 2.0
    assert state.eta_s == pytest.approx((10 - 5) / 2.0)              # no eta_s in the events: from the rate
    assert state.status_line() == "2.00 steps/s   ETA 0:02"
    assert set(state.curves) == {("loss", "loss"), ("loss", "content")}   # lr and steps/s are not curves
    loss = state.curves[("loss", "loss")]
    assert loss.xs == [1, 2, 3, 4, 5] and loss.ys == pytest.approx([1.0, 0.5, 1 / 3, 0.25, 0.2])
    names = [n for n, _ in seen]
    assert names == ["started", "curves_changed", "progressed"]      # one batch: each event once

    log.emit("val", step=5, psnr_y=27.5, ssim_y=0.81, loss=0.3)
    log.emit("sample", step=5, path="samples/step_000005.png")
    log.emit("checkpoint", step=5, path="checkpoints/ckpt-1")
    seen.clear()
    state.poll()
    assert state.curves[("psnr", "psnr_y")].xs == [5] and state.curves[("ssim", "ssim_y")].ys == [0.81]
    assert state.curves[("loss", "val loss")].ys == [0.3]
    assert state.last_val == {"psnr_y": 27.5, "ssim_y": 0.81, "loss": 0.3} and state.val_step == 5
    assert state.sample == run / "samples" / "step_000005.png" and state.sample_step == 5
    assert [n for n, _ in seen] == ["curves_changed", "validated", "checkpointed", "sample_changed", "progressed"]
    assert dict(seen)["sample_changed"] == (run / "samples" / "step_000005.png", 5)
    assert state.poll() == [] and len(seen) == 5                     # nothing new: nothing emitted


def test_a_resumed_run_keeps_the_event_written_last_for_each_step(tmp_path):
    run, log = _sr_run(tmp_path, steps=range(1, 9))                   # killed at step 8, checkpoint at 5
    log.emit("started", step=5, total_steps=10, kind="srresnet", resumed=True)
    for s in range(6, 11):
        log.emit("train", step=s, total_steps=10, loss=10.0 + s, steps_per_s=2.0)
    log.emit("finished", step=10, reason="done")
    state = RunState.load(run)
    loss = state.curves[("loss", "loss")]
    assert loss.xs == list(range(1, 11))                               # one point per step, none twice
    assert loss.ys[:5] == pytest.approx([1.0, 0.5, 1 / 3, 0.25, 0.2]) and loss.ys[5:] == [16, 17, 18, 19, 20]
    assert state.curves[("loss", "content")].xs == [1, 2, 3, 4, 5, 6, 7, 8]   # only the first session had it
    assert state.status == "finished" and state.finished_reason == "done" and state.fraction == 1.0
    assert state.status_line() == "done at step 10"


def test_stopped_error_and_empty_runs(tmp_path):
    assert RunState().status == "empty" and RunState().status_line() == ""
    run, log = _sr_run(tmp_path, steps=[1, 2])
    log.emit("finished", step=2, reason="stopped")
    state = RunState.load(run)
    assert state.status == "stopped" and state.status_line() == "stopped at step 2"
    failures = []
    state.events.failed.connect(failures.append)
    log.emit("started", step=2, total_steps=10, kind="srresnet", resumed=True)
    log.emit("error", message="out of memory")
    state.poll()
    assert state.status == "error" and state.error_message == "out of memory" and failures == ["out of memory"]
    assert state.finished_reason is None and "out of memory" in state.status_line()


def test_the_kind_comes_from_config_json_and_attach_forgets_the_previous_run(tmp_path):
    run, _ = _sr_run(tmp_path)
    (run / "config.json").write_text(json.dumps({"kind": "srgan"}))
    state = RunState.load(run)
    assert state.kind == "srresnet"                                   # the started event has the last word
    other = tmp_path / "other"
    other.mkdir()
    (other / "config.json").write_text(json.dumps({"kind": "augment"}))
    resets = []
    state.events.reset.connect(lambda: resets.append(True))
    state.attach(other)
    assert resets == [True] and state.kind == "augment" and state.layout == "augment"
    assert state.curves == {} and state.step == 0 and state.status == "empty"


def test_augment_events_make_one_curve_per_variant_and_metric():
    state = RunState()
    changed = []
    state.events.curves_changed.connect(changed.append)
    events = [{"event": "started", "kind": "augment", "step": 0, "total_steps": 8},
              {"event": "variant", "variant": "cutmix", "epoch": 1, "batch": 0},
              {"event": "train", "variant": "cutmix", "epoch": 1, "batch": 1, "batches": 4, "step": 1,
               "loss": 2.0, "accuracy": 0.1, "steps_per_s": 4.0}]
    for variant in ("none", "cutmix"):
        for epoch in (1, 2, 2):                                         # epoch 2 written twice: the last counts
            events.append({"event": "epoch", "variant": variant, "epoch": epoch, "step": epoch * 2,
                           "loss": 2.0 / epoch, "accuracy": 0.3 * epoch, "val_loss": 2.1 / epoch,
                           "val_accuracy": 0.25 * epoch + (variant == "cutmix") * 0.1, "seconds": 3.0})
    state.feed(events)
    assert state.layout == "augment" and state.kind == "augment"
    assert set(state.curves) == {(p, f"{v} {m}") for v in ("none", "cutmix") for p, m in
                                 (("accuracy", "accuracy"), ("accuracy", "val_accuracy"), ("loss", "loss"),
                                  ("loss", "val_loss"))}               # train events draw no augment curve
    curve = state.curves[("accuracy", "cutmix val_accuracy")]
    assert curve.xs == [1, 2] and curve.ys == pytest.approx([0.35, 0.6]) and curve.group == "cutmix"
    assert curve.validation and not state.curves[("loss", "none loss")].validation
    assert changed == [set(state.curves)]
    assert state.running_what() == "augment step 4 / 8: cutmix epoch 1"
    assert state.status_line() == "4.00 steps/s   ETA 0:02  cutmix epoch 1"


def test_eta_text():
    assert eta_text(None) == eta_text(float("nan")) == eta_text(-1) == "–"
    assert eta_text(59.6) == "1:00" and eta_text(3 * 3600 + 61) == "3:01:01"


def test_train_status_prints_the_state_of_a_run_folder(tmp_path, capsys):
    from srviewer.cli import main

    run, log = _sr_run(tmp_path, steps=[1, 2, 3, 4])
    log.emit("val", step=4, psnr_y=27.5, ssim_y=0.81)
    log.emit("sample", step=4, path="samples/step_000004.png")
    assert main(["train", "status", str(run)]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out == [f"{run}: running: srresnet step 4 / 10 (40%)", "2.00 steps/s   ETA 0:03",
                   "validation at step 4: psnr_y 27.5, ssim_y 0.81",
                   f"latest sample: {run / 'samples' / 'step_000004.png'}"]
    assert main(["train", "status", str(tmp_path)]) == 2
    assert "not a run folder" in capsys.readouterr().err


def test_the_checkpoints_a_run_can_hand_to_the_comparison(tmp_path):
    run, _ = _sr_run(tmp_path)
    state = RunState.load(run)
    assert state.checkpoint("best") is None and state.kept_generators() == {}
    (run / "best.weights.h5").write_bytes(b"w")
    assert state.checkpoint("best") is None                           # no sidecar yet: not usable
    (run / "best.json").write_text("{}")
    assert state.checkpoint("best") == run / "best.weights.h5" and state.checkpoint("latest") is None
    (run / "generators").mkdir()
    for step in (20, 10):
        (run / "generators" / f"step_{step:06d}.weights.h5").write_bytes(b"w")
        (run / "generators" / f"step_{step:06d}.json").write_text("{}")
    assert list(state.kept_generators()) == [10, 20]
    assert state.checkpoint(20) == run / "generators" / "step_000020.weights.h5" and state.checkpoint(30) is None
    assert RunState().checkpoint("best") is None


def test_the_list_of_past_runs_says_what_the_state_says(tmp_path):
    from srviewer.train.run_index import list_runs

    run, log = _sr_run(tmp_path)                                         # tmp_path/run: not finished
    log.emit("error", message="disk full")
    done = tmp_path / "done"
    EventLog(done).emit("started", step=0, total_steps=3, kind="srcnn", resumed=False)
    EventLog(done).emit("finished", step=3, reason="done")
    (tmp_path / "old").mkdir()
    (tmp_path / "old" / "config.json").write_text(json.dumps({"experiment": "augment"}))
    rows = {r.name: (r.kind, r.step, r.total_steps, r.state, r.message) for r in list_runs(tmp_path)}
    assert rows == {"run": ("srresnet", 5, 10, "error", "disk full"), "done": ("srcnn", 3, 3, "done", ""),
                    "old": ("augment", 0, None, "empty", "")}
