"""SIGKILL a tiny SRCNN training at random moments and resume it each time.

    python benchmarks/kill_resume.py [--kills 20] [--seed 0] [--keep DIR]

A tiny generated data folder, `srviewer train srcnn ... --checkpoint-every 2` in a child process,
killed with SIGKILL at a random moment (during start-up, just after restoring, or 0-1 s after the
session's first step, when a
checkpoint is often being written), then `--resume`d. After every kill it checks that:
- the newest checkpoint (tf.train.latest_checkpoint) and every other one the index lists (unless its
  .index is gone: the manager was deleting it, max_to_keep, when the kill came) read back in
  full (every tensor, TensorFlow verifies their checksums), and none the log announced is lost;
- the latest checkpoint step never goes back; the resumed session starts exactly there;
- events.jsonl parses (only a torn last line may fail) and latest.weights.h5/latest.json read;
and at the end that the run completes. It prints one row per kill and a summary.
`tests/test_training_faults.py` runs the same trial with a few kills.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
TINY = ["--batch", "2", "--patch", "24", "--n1", "8", "--n2", "4", "--checkpoint-every", "2",
        "--val-every", "1000", "--val", "none", "--xla", "off", "--log-every", "1"]


def make_tiny_data(folder: Path, n: int = 4, size: int = 48, seed: int = 0) -> Path:
    """n smooth RGB PNGs of size x size (sums of sinusoids with a little noise)."""
    from srviewer.core.images import write_image

    rng = np.random.default_rng(seed)
    folder.mkdir(parents=True, exist_ok=True)
    y, x = np.mgrid[0:size, 0:size]
    for i in range(n):
        base = np.stack([np.sin(x / (3 + i)), np.cos(y / (4 + i)), np.sin((x + y) / 5)], -1)
        img = ((base + 1) * 110 + rng.normal(0, 6, base.shape)).clip(0, 255).astype(np.uint8)
        write_image(folder / f"img_{i}.png", img)
    return folder


@dataclass
class KillRecord:
    kill: int
    moment: str            # "start-up" or "training +0.53 s"
    alive_s: float         # how long the process had run
    latest_before: int     # latest checkpoint step before this session
    latest_after: int      # after the kill
    logged_ckpt: int       # newest checkpoint the event log announced
    resumed_at: int | None = None   # the next session's `started` step
    torn_lines: int = 0
    checkpoints_read: int = 0
    temp_files: int = 0
    problems: list[str] = field(default_factory=list)


def _env(cache: Path) -> dict:
    env = dict(os.environ, SRVIEWER_CACHE=str(cache), PYTHONPATH=str(REPO), TF_CPP_MIN_LOG_LEVEL="2",
               PYTHONUNBUFFERED="1")
    env.pop("SRVIEWER_DEBUG", None)
    return env


def _spawn(args: list[str], run: Path, env: dict) -> subprocess.Popen:
    run.parent.mkdir(parents=True, exist_ok=True)
    log = open(run.parent / f"{run.name}.console.txt", "ab")   # noqa: SIM115 - closed by the child's exit
    return subprocess.Popen([sys.executable, "-m", "srviewer", *args], cwd=REPO, env=env, stdout=log, stderr=log)


def _events_raw(run: Path) -> tuple[list[dict], int]:
    """All events, and how many lines do not parse (only a torn last line may, before a resume)."""
    path = run / "events.jsonl"
    if not path.exists():
        return [], 0
    events, bad = [], 0
    for line in path.read_text(encoding="utf-8", errors="replace").splitlines():
        if not line.strip():
            continue
        try:
            events.append(json.loads(line))
        except json.JSONDecodeError:
            bad += 1
    return events, bad


def check_run(run: Path) -> tuple[int, int, list[str]]:
    """(latest checkpoint step or 0, checkpoints read back, problems) for a run folder."""
    import h5py
    import tensorflow as tf

    from srviewer.train.events import read_events

    problems = []
    ckpt_dir = run / "checkpoints"
    latest = tf.train.latest_checkpoint(str(ckpt_dir)) if ckpt_dir.exists() else None
    read = 0
    if latest is not None:
        state = tf.train.get_checkpoint_state(str(ckpt_dir))
        for prefix in state.all_model_checkpoint_paths:
            if prefix != latest and not Path(prefix + ".index").exists():
                # an older one the manager was deleting (max_to_keep) when the kill came: it lists
                # the new checkpoint, deletes old files one by one, then drops them from the list;
                # a later save sweeps what is left. Not a loss: the newest is read in full.
                continue
            try:
                reader = tf.train.load_checkpoint(prefix)
                for name in reader.get_variable_to_shape_map():
                    reader.get_tensor(name)
                read += 1
            except Exception as exc:  # noqa: BLE001 - this is what the check is for
                present = sorted(p.name for p in Path(prefix).parent.glob(Path(prefix).name + ".*"))
                problems.append(f"checkpoint {Path(prefix).name} (latest {Path(latest).name}, files {present}) "
                                f"unreadable: {type(exc).__name__}: {str(exc)[:80]}")
    for name in ("latest", "best"):
        weights, sidecar = run / f"{name}.weights.h5", run / f"{name}.json"
        if weights.exists():
            try:
                with h5py.File(weights, "r") as handle:
                    handle.visit(lambda _n: None)
            except Exception as exc:  # noqa: BLE001
                problems.append(f"{weights.name} unreadable: {exc}"[:200])
        if sidecar.exists():
            try:
                json.loads(sidecar.read_text())
            except ValueError as exc:
                problems.append(f"{sidecar.name} unreadable: {exc}")
    try:
        read_events(run)
    except Exception as exc:  # noqa: BLE001
        problems.append(f"read_events failed: {exc}")
    step = int(latest.rsplit("-", 1)[-1]) if latest else 0
    return step, read, problems


def _wait_started(run: Path, proc: subprocess.Popen, sessions: int, timeout: float) -> bool:
    """Wait until the run has `sessions` started events (or the process ends)."""
    end = time.monotonic() + timeout
    while time.monotonic() < end and proc.poll() is None:
        events, _ = _events_raw(run)
        if sum(e.get("event") == "started" for e in events) >= sessions:
            return True
        time.sleep(0.05)
    return False


def _wait_first_step(run: Path, proc: subprocess.Popen, sessions: int, timeout: float) -> bool:
    """Wait until session number `sessions` (1-based) has logged its first train event."""
    end = time.monotonic() + timeout
    while time.monotonic() < end and proc.poll() is None:
        events, _ = _events_raw(run)
        starts = [i for i, e in enumerate(events) if e.get("event") == "started"]
        if len(starts) >= sessions and any(e.get("event") == "train" for e in events[starts[sessions - 1]:]):
            return True
        time.sleep(0.02)
    return False


def kill_resume_trial(work: Path, kills: int, seed: int = 0, echo=None, steps: int = 100_000) -> dict:
    """Run the trial in `work`; returns {"records": [KillRecord], "final": {...}, "problems": [...]}."""
    rng = random.Random(seed)
    data = make_tiny_data(work / "data")
    run = work / "run"
    env = _env(work / "cache")
    first = ["train", "srcnn", "--data", str(data), "--steps", str(steps), "--out", str(run), *TINY]
    records: list[KillRecord] = []
    latest, sessions = 0, 0
    for k in range(1, kills + 1):
        args = ["train", "srcnn", "--resume", str(run)] if (run / "config.json").exists() else first
        proc = _spawn(args, run, env)
        t0 = time.monotonic()
        draw = rng.random()
        if draw < 0.2:   # during imports, model building, restoring
            moment = "start-up"
            time.sleep(rng.uniform(0.5, 6.0))
        elif draw < 0.35:   # restored, tracing the first step
            _wait_started(run, proc, sessions + 1, timeout=180)
            delay = rng.uniform(0.0, 0.4)
            moment = f"started +{delay:.2f} s"
            time.sleep(delay)
        else:   # training: most of the time goes into writing checkpoints (one every 2 steps)
            _wait_first_step(run, proc, sessions + 1, timeout=180)
            delay = rng.uniform(0.0, 1.0)
            moment = f"training +{delay:.2f} s"
            time.sleep(delay)
        alive = time.monotonic() - t0
        ended_by_itself = proc.poll() is not None
        if not ended_by_itself:
            proc.send_signal(signal.SIGKILL)
        proc.wait(60)
        events, bad = _events_raw(run)
        starts = [e for e in events if e.get("event") == "started"]
        rec = KillRecord(k, moment, alive, latest, 0,
                         max([e["step"] for e in events if e.get("event") == "checkpoint"], default=0), torn_lines=bad)
        if ended_by_itself:
            rec.problems.append(f"the process ended by itself (exit {proc.returncode})")
        if len(starts) > sessions:   # this session got as far as its started event
            rec_start = starts[-1]["step"]
            if records:
                records[-1].resumed_at = rec_start
            if rec_start != latest:
                rec.problems.append(f"session started at step {rec_start}, the latest checkpoint was {latest}")
            sessions = len(starts)
        step, read, problems = check_run(run)
        rec.latest_after, rec.checkpoints_read = step, read
        rec.problems += problems
        if step < latest:
            rec.problems.append(f"latest checkpoint went back from {latest} to {step}")
        if step < rec.logged_ckpt:
            rec.problems.append(f"the log announced checkpoint {rec.logged_ckpt} but the newest is {step}")
        rec.temp_files = sum(1 for p in run.rglob("*.tmp*")) if run.exists() else 0
        latest = max(latest, step)
        records.append(rec)
        if echo:
            echo(rec)
    # the end: resume and let the run finish a few steps later
    final_steps = latest + 6
    args = ["train", "srcnn", "--resume", str(run), "--steps", str(final_steps)] if (run / "config.json").exists() \
        else ["train", "srcnn", "--data", str(data), "--steps", str(final_steps), "--out", str(run), *TINY]
    proc = _spawn(args, run, env)
    code = proc.wait(300)
    events, bad = _events_raw(run)
    starts = [e for e in events if e.get("event") == "started"]
    if records and len(starts) > sessions:
        records[-1].resumed_at = starts[-1]["step"]
    step, read, problems = check_run(run)
    final = {"exit": code, "last_event": events[-1] if events else None, "latest": step, "expected": final_steps,
             "torn_lines": bad, "checkpoints_read": read}
    if code != 0:
        problems.append(f"the final resume exited {code}")
    if not events or events[-1].get("event") != "finished" or events[-1].get("reason") != "done":
        problems.append(f"the run did not finish: last event {events[-1] if events else None}")
    if step != final_steps:
        problems.append(f"final checkpoint at {step}, expected {final_steps}")
    if bad > sum(r.torn_lines > 0 for r in records):   # each kill tears at most one line, kept as is
        problems.append(f"{bad} unparsable lines in events.jsonl, more than the kills could have torn")
    if starts and starts[-1]["step"] != latest:
        problems.append(f"the final session started at {starts[-1]['step']}, the latest checkpoint was {latest}")
    return {"records": records, "final": final, "problems": problems + [p for r in records for p in r.problems]}


def _row(rec: KillRecord) -> str:
    return (f"{rec.kill:>4} {rec.moment:<18} {rec.alive_s:>7.2f} {rec.latest_before:>7} {rec.latest_after:>6} "
            f"{rec.logged_ckpt:>7} {rec.checkpoints_read:>5} {rec.torn_lines:>5} {rec.temp_files:>5}  "
            + ("; ".join(rec.problems) or "ok"))


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--kills", type=int, default=20)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--keep", help="work in this folder and keep it (default: a temporary one)")
    parser.add_argument("--json", action="store_true", help="print the summary as JSON")
    args = parser.parse_args(argv)
    work = Path(args.keep) if args.keep else Path(tempfile.mkdtemp(prefix="srviewer-kill-"))
    header = (f"{'kill':>4} {'moment':<18} {'alive_s':>7} {'ckpt<':>7} {'ckpt>':>6} {'logged':>7} {'read':>5} "
              f"{'torn':>5} {'tmp':>5}  result")
    if not args.json:
        print(header)
    t0 = time.monotonic()
    result = kill_resume_trial(work, args.kills, args.seed, echo=None if args.json else lambda r: print(_row(r)))
    summary = {
        "kills": len(result["records"]),
        "killed_during_startup": sum(r.moment == "start-up" for r in result["records"]),
        "resumes_ok": sum(1 for r in result["records"] if not r.problems),
        "checkpoint_reads": sum(r.checkpoints_read for r in result["records"]),
        "torn_lines_seen": sum(r.torn_lines for r in result["records"]),
        "final": result["final"], "problems": result["problems"], "seconds": round(time.monotonic() - t0, 1),
        "work": str(work),
    }
    if args.json:
        print(json.dumps(summary, indent=2, default=str))
    else:
        print(f"\n{summary['kills']} kills ({summary['killed_during_startup']} during start-up), "
              f"{summary['resumes_ok']} clean, {summary['checkpoint_reads']} checkpoint reads, "
              f"{summary['torn_lines_seen']} torn event lines seen; final: exit {result['final']['exit']}, "
              f"checkpoint {result['final']['latest']} of {result['final']['expected']}; "
              f"{len(result['problems'])} problems; {summary['seconds']} s")
        for p in result["problems"]:
            print("  problem:", p)
    return 0 if not result["problems"] else 1


if __name__ == "__main__":
    sys.exit(main())
