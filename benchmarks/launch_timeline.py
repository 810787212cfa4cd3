"""Where the seconds from launching the window to all four results on the sample go.

Launches `python -m srviewer gui --screenshot PNG --quit-after-results` (the window on the sample
photo, the default ticks: bicubic, SRCNN, SRResNet, SRGAN; offscreen) N times with
$SRVIEWER_TIMELINE set (core/timeline.py), and prints the timeline of the median launch (every mark
of the window's process and of the model process, as seconds since the launch) and a table of
each launch's milestones. The machine is shared: read the figures as a median, beside the load.

    PYTHONPATH=. QT_QPA_PLATFORM=offscreen python benchmarks/launch_timeline.py [-n 5] [--all]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from srviewer.core import timeline  # noqa: E402

MILESTONES = (("window shown", "window shown"), ("model process spawned", "model process spawned"),
              ("TensorFlow imported", "TensorFlow imported"), ("run starts", "run starts"),
              ("bicubic", "result bicubic drawn"), ("srcnn", "result srcnn drawn"),
              ("srresnet", "result srresnet drawn"), ("srgan", "result srgan drawn"))


def launch(folder: Path, i: int) -> tuple[list, float]:
    """One launch: (marks, t0)."""
    path = folder / f"timeline{i}.tsv"
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen", SRVIEWER_SETTINGS_ORG="srviewer-bench",
               SRVIEWER_TIMELINE=str(path), PYTHONPATH=str(REPO), TF_CPP_MIN_LOG_LEVEL="3")
    t0 = timeline.now()
    proc = subprocess.run([sys.executable, "-m", "srviewer", "gui", "--screenshot", str(folder / f"shot{i}.png"),
                           "--quit-after-results"], cwd=REPO, env=env, capture_output=True, text=True, timeout=300)
    if proc.returncode != 0:
        raise SystemExit(f"launch {i} failed ({proc.returncode}): {proc.stderr.strip()[-2000:]}")
    return timeline.read(path), t0


def first(marks, text: str, t0: float) -> float | None:
    """Seconds from t0 to the first mark containing `text`."""
    return next((at - t0 for at, _pid, _role, _cpu, what in marks if text in what), None)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("-n", type=int, default=5, help="launches (default 5)")
    ap.add_argument("--all", action="store_true", help="print every launch's timeline, not only the median's")
    args = ap.parse_args(argv)
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for i in range(args.n):
            marks, t0 = launch(Path(tmp), i)
            rows.append((marks, t0, first(marks, "run finished", t0)))
            print(f"launch {i + 1}: all results after {rows[-1][2]:.2f} s", file=sys.stderr, flush=True)
    order = sorted(range(len(rows)), key=lambda k: rows[k][2])
    median = order[len(order) // 2]
    for k in (range(len(rows)) if args.all else [median]):
        marks, t0, total = rows[k]
        print(f"\n== launch {k + 1}{' (the median)' if k == median else ''}: all results at {total:.2f} s ==")
        print(timeline.table(marks, t0))
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
    print(f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
