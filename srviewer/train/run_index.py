"""Find the run folders under a runs root and summarise each one from its files (no Qt).

A run folder is a folder holding `events.jsonl` or `config.json` (see docs/ARCHITECTURE.md).
`list_runs(root)` looks at the root's direct sub-folders (and the root itself), newest first;
`kept_generators(run)` lists the generators a run kept at its validation steps.
Written by gui-training for the training tab's list of past runs.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from srviewer.train.events import EVENTS_FILE

DEFAULT_RUNS_ROOT = Path.home() / "srviewer-runs"
GENERATORS_DIR = "generators"   # RUN/generators/step_NNNNNN.*: each validation's generator (keep_generators)


def generator_name(step: int) -> str:
    """RUN/<this>.weights.h5 + .json: the generator kept at a validation step."""
    return f"{GENERATORS_DIR}/step_{step:06d}"


def kept_generators(run_dir: str | os.PathLike) -> dict[int, Path]:
    """{step: RUN/generators/step_N.weights.h5} for every kept generator whose sidecar is there too."""
    folder = Path(run_dir) / GENERATORS_DIR
    kept = {}
    for sidecar in folder.glob("step_*.json"):
        weights = sidecar.with_name(sidecar.stem + ".weights.h5")
        if sidecar.stem[5:].isdigit() and weights.is_file():
            kept[int(sidecar.stem[5:])] = weights
    return dict(sorted(kept.items()))


@dataclass
class RunSummary:
    path: Path
    kind: str | None        # "srresnet", "srgan", "srcnn", "augment" (None when unknown yet)
    step: int               # the last step (or epoch events count for augment) seen
    total_steps: int | None
    state: str              # "done", "stopped", "error", "not finished" (running or killed), "empty"
    modified: float         # mtime of events.jsonl (or the folder), seconds since the epoch
    message: str = ""       # the error message, if any

    @property
    def name(self) -> str:
        return self.path.name


def is_run_folder(path: Path) -> bool:
    return (path / EVENTS_FILE).is_file() or (path / "config.json").is_file()


def summarise_run(path: str | os.PathLike) -> RunSummary:
    """One line's worth of a run folder, from its `RunState` (the events, as the Training tab reads them)."""
    from srviewer.train.run_state import RunState   # run_state uses kept_generators from here

    path = Path(path)
    state = RunState.load(path)
    marker = path / EVENTS_FILE if (path / EVENTS_FILE).exists() else path
    shown = {"finished": "done", "running": "not finished"}.get(state.status, state.status)
    return RunSummary(path, state.kind, state.step, state.total_steps, shown, marker.stat().st_mtime,
                      state.error_message)


def list_runs(root: str | os.PathLike) -> list[RunSummary]:
    """Runs under `root` (its sub-folders, and root itself if it is a run), newest first."""
    root = Path(root).expanduser()
    if not root.is_dir():
        return []
    candidates = [root] if is_run_folder(root) else []
    try:
        candidates += [p for p in root.iterdir() if p.is_dir() and is_run_folder(p)]
    except OSError:
        return []
    runs = []
    for path in candidates:
        try:
            runs.append(summarise_run(path))
        except OSError:
            continue
    return sorted(runs, key=lambda r: r.modified, reverse=True)
