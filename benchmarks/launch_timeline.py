"""Where the seconds from launching the window to all four results on the sample go.

Launches `python -m srviewer gui --screenshot PNG --quit-after-results` (the window on the sample
photo, the default ticks: bicubic, SRCNN, SRResNet, SRGAN; offscreen) N times with
$SRVIEWER_TIMELINE set (core/timeline.py), and prints the timeline of the median launch (every mark
of the window's process and of the model process, as seconds since the launch) and a table of
each launch's milestones. The machine is shared: read the figures as a median, beside the load.

    PYTHONPATH=. QT_QPA_PLATFORM=offscreen python benchmarks/launch_timeline.py [-n 5] [--all]
        [--against OTHER_TREE]

Launches share srviewer's cache folder ($SRVIEWER_CACHE or ~/.cache/srviewer), as a user's do:
the first load of SRResNet and SRGAN keeps their folded weights there (core/folded_store.py) and
later launches skip building them. `--fresh-cache` gives every launch an empty cache folder
instead: what the very first launch on a machine meets.

`--against DIR` alternates launches of this tree's srviewer and DIR's (another checkout, say the
commit before a change; it needs no timeline marks): both are timed to the screenshot file (written
0.3 s after the last result is shown), so the two are compared on the same moments of a shared machine.
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from srviewer.core import timeline  # noqa: E402

MILESTONES = (("window shown", "window shown"), ("model process spawned", "model process spawned"),
              ("TensorFlow imported", "TensorFlow imported"), ("run starts", "run starts"),
              ("bicubic", "result bicubic drawn"), ("srcnn", "result srcnn drawn"),
              ("srresnet", "result srresnet drawn"), ("srgan", "result srgan drawn"))


def _settle(limit_s: float = 5.0) -> None:
    """Wait (up to limit_s) until no other thread is runnable: the previous launch's multiprocessing
    resource tracker outlives its window by up to a second, and a launch that finds it running sees
    a busy machine (`srviewer gui` then holds its model process)."""
    from srviewer.core.host import runnable_threads

    end = time.monotonic() + limit_s
    while time.monotonic() < end and (runnable_threads() or 0) > 0:
        time.sleep(0.05)


def launch(folder: Path, i: int, tree: Path = REPO, fresh_cache: bool = False) -> tuple[list, float, float, float]:
    """One launch of `tree`'s srviewer: (marks, t0, seconds until the screenshot file appeared, CPU seconds
    of the launch's processes, the model process's included). `fresh_cache`: an empty $SRVIEWER_CACHE."""
    path, shot = folder / f"timeline{i}.tsv", folder / f"shot{i}.png"
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen", SRVIEWER_SETTINGS_ORG="srviewer-bench",
               SRVIEWER_TIMELINE=str(path), PYTHONPATH=str(tree), TF_CPP_MIN_LOG_LEVEL="3")
    if fresh_cache:
        env["SRVIEWER_CACHE"] = tempfile.mkdtemp(prefix=f"cache{i}-", dir=folder)
    _settle()
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = timeline.now()
    proc = subprocess.Popen([sys.executable, "-m", "srviewer", "gui", "--screenshot", str(shot), "--quit-after-results"],
                            cwd=tree, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    shot_at = None
    while proc.poll() is None:
        if shot_at is None and shot.exists():
            shot_at = timeline.now() - t0
        time.sleep(0.02)
    if proc.returncode != 0 or not shot.exists():
        raise SystemExit(f"launch {i} failed ({proc.returncode}): {proc.stderr.read().strip()[-2000:]}")
    after = resource.getrusage(resource.RUSAGE_CHILDREN)   # the window's process and its model process, waited for
    cpu = (after.ru_utime + after.ru_stime) - (before.ru_utime + before.ru_stime)
    return (timeline.read(path) if path.exists() else []), t0, shot_at if shot_at is not None else timeline.now() - t0, cpu


def first(marks, text: str, t0: float) -> float | None:
    """Seconds from t0 to the first mark containing `text`."""
    return next((at - t0 for at, _pid, _role, _cpu, what in marks if text in what), None)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("-n", type=int, default=5, help="launches (default 5)")
    ap.add_argument("--all", action="store_true", help="print every launch's timeline, not only the median's")
    ap.add_argument("--against", type=Path, help="another srviewer tree, launched in alternation with this one")
    ap.add_argument("--fresh-cache", action="store_true", help="an empty cache folder for every launch (a first "
                    "launch on a new machine): no kept folded weights, no kept XLA verdict")
    args = ap.parse_args(argv)
    rows, shots, cpus, other, other_cpus = [], [], [], [], []
    with tempfile.TemporaryDirectory() as tmp:
        for i in range(args.n):
            marks, t0, shot, cpu = launch(Path(tmp), i, fresh_cache=args.fresh_cache)
            rows.append((marks, t0, first(marks, "run finished", t0)))
            shots.append(shot)
            cpus.append(cpu)
            print(f"launch {i + 1}: all results after {rows[-1][2]:.2f} s, screenshot {shot:.2f} s, CPU {cpu:.1f} s",
                  file=sys.stderr, flush=True)
            if args.against:
                _marks, _t0, shot, cpu = launch(Path(tmp), 1000 + i, args.against.resolve(), args.fresh_cache)
                other.append(shot)
                other_cpus.append(cpu)
                print(f"  {args.against}: screenshot {shot:.2f} s, CPU {cpu:.1f} s", file=sys.stderr, flush=True)
    order = sorted(range(len(rows)), key=lambda k: rows[k][2])
    median = order[len(order) // 2]
    for k in (range(len(rows)) if args.all else [median]):
        marks, t0, total = rows[k]
        print(f"\n== launch {k + 1}{' (the median)' if k == median else ''}: all results at {total:.2f} s ==")
        print(timeline.table(marks, t0))
        cpu = {}
        for _at, _pid, role, used, _what in marks:
            cpu[role] = max(cpu.get(role, 0.0), used)
        print("CPU seconds used by the end: " + ", ".join(f"{role} {used:.2f}" for role, used in cpu.items()))
    print("\nmilestones (seconds since launch), per launch, then the median")
    print("launch " + "".join(f"{name[:14]:>15}" for name, _ in MILESTONES) + f"{'all drawn':>15}")
    cols = []
    for k, (marks, t0, total) in enumerate(rows):
        vals = [first(marks, text, t0) for _, text in MILESTONES] + [total]
        cols.append(vals)
        print(f"{k + 1:>6} " + "".join(f"{v:15.2f}" if v is not None else f"{'-':>15}" for v in vals))
    meds = [statistics.median([c[j] for c in cols if c[j] is not None]) if any(c[j] is not None for c in cols)
            else None for j in range(len(MILESTONES) + 1)]
    print("median " + "".join(f"{v:15.2f}" if v is not None else f"{'-':>15}" for v in meds))
    print(f"screenshot written (0.3 s after the last result): median {statistics.median(shots):.2f} s "
          f"({', '.join(f'{v:.2f}' for v in shots)}); CPU seconds of the launch (window + model process, to exit) "
          f"median {statistics.median(cpus):.1f} ({', '.join(f'{v:.1f}' for v in cpus)})")
    if other:
        print(f"  {args.against}, launched in alternation: median {statistics.median(other):.2f} s "
              f"({', '.join(f'{v:.2f}' for v in other)}); CPU median {statistics.median(other_cpus):.1f} "
              f"({', '.join(f'{v:.1f}' for v in other_cpus)})")
    print(f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
