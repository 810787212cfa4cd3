"""Run one `srviewer train ...` child so that it can outlive the window.

    python -m srviewer.gui.training_launcher CONSOLE_FILE -- COMMAND...

The training tab starts this launcher in a QProcess, not the engine itself: the launcher starts
COMMAND (`sys.executable -m srviewer train ...`, the exact engine the CLI runs) in its own session, with the
engine's stdout and stderr appended to CONSOLE_FILE (the tab tails that file for its log), waits
for it and exits with its exit status (128 + N when signal N killed it). SIGTERM and SIGINT sent to
the launcher are passed on to the engine, which checkpoints and exits 0.

Why a launcher: Qt kills a QProcess's child when the QProcess is destroyed (the window closes).
When the user chooses "leave it going", only this launcher dies; the engine keeps running, writes
its events and checkpoints into its run folder, and can be reopened later.
This module imports neither Qt nor TensorFlow.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    if len(argv) < 2 or argv[1] != "--":
        print("usage: python -m srviewer.gui.training_launcher CONSOLE_FILE -- COMMAND...", file=sys.stderr)
        return 2
    console, command = Path(argv[0]), argv[2:]
    console.parent.mkdir(parents=True, exist_ok=True)
    env = dict(os.environ, PYTHONUNBUFFERED="1")
    package_root = str(Path(__file__).resolve().parents[2])
    env["PYTHONPATH"] = os.pathsep.join(p for p in (package_root, env.get("PYTHONPATH", "")) if p)
    with open(console, "ab", buffering=0) as out:  # an append-only log, read while it grows
        try:
            child = subprocess.Popen(
                command, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                env=env, start_new_session=True,
            )
        except OSError as exc:
            out.write(f"srviewer: error: cannot start the engine: {exc}\n".encode())
            return 1

        def forward(signum, _frame):
            try:
                child.send_signal(signum)
            except ProcessLookupError:
                pass

        for sig in (signal.SIGTERM, signal.SIGINT):
            signal.signal(sig, forward)
        code = child.wait()
    return 128 - code if code < 0 else code


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
