"""The training child as a QObject: start, stop gracefully, let go, report its exit.

`TrainingProcess.start(args, run_dir)` runs `sys.executable -m srviewer ARGS` (or
`engine + ARGS` when `engine` is given: tests use a stand-in) through
`srviewer.gui.training_launcher` (see there why) in a QProcess. The engine's stdout+stderr are
appended to RUN/console.txt, which the tab tails for its log. Signals (GUI thread, from QProcess):
`started_running()`, `exited(int code)` (0: done or stopped; anything else: crashed or failed).
"""

from __future__ import annotations

import contextlib
import os
import sys
from pathlib import Path

from PySide6.QtCore import QObject, QProcess, QProcessEnvironment, Signal

from srviewer.core.atomic import atomic_write_text

CONSOLE_FILE = "console.txt"
STOP_FILE = "STOP"
ENGINE = [sys.executable, "-m", "srviewer"]  # the exact engine the CLI runs


class TrainingProcess(QObject):
    started_running = Signal()
    exited = Signal(int)

    def __init__(self, parent=None):
        super().__init__(parent)
        self._proc: QProcess | None = None
        self.run_dir: Path | None = None
        self.args: list[str] = []
        self.engine_ready = False  # set by the tab once the run's "started" event arrived

    def is_running(self) -> bool:
        return self._proc is not None and self._proc.state() != QProcess.ProcessState.NotRunning

    def start(self, args: list[str], run_dir: Path, engine: list[str] | None = None) -> None:
        """Start `srviewer ARGS`; `run_dir` is where its events and console log go."""
        if self.is_running():
            raise RuntimeError("a training run is already going")
        self.run_dir, self.args, self.engine_ready = Path(run_dir), list(args), False
        self.run_dir.mkdir(parents=True, exist_ok=True)
        with contextlib.suppress(FileNotFoundError):
            (self.run_dir / STOP_FILE).unlink()  # a stale stop request would end a resume at once
        proc = QProcess(self)
        env = QProcessEnvironment.systemEnvironment()
        package_root = str(Path(__file__).resolve().parents[2])  # srviewer may not be installed
        env.insert("PYTHONPATH", os.pathsep.join(p for p in (package_root, env.value("PYTHONPATH", "")) if p))
        env.insert("PYTHONUNBUFFERED", "1")
        if not env.contains("TF_CPP_MIN_LOG_LEVEL"):
            env.insert("TF_CPP_MIN_LOG_LEVEL", "1")  # TensorFlow's C++ INFO lines only crowd the log
        proc.setProcessEnvironment(env)
        proc.setProcessChannelMode(QProcess.ProcessChannelMode.MergedChannels)
        proc.readyReadStandardOutput.connect(self._on_launcher_output)
        proc.started.connect(self.started_running)
        proc.finished.connect(self._on_finished)
        proc.errorOccurred.connect(self._on_error)
        self._proc = proc
        console = self.run_dir / CONSOLE_FILE
        command = [*(engine or ENGINE), *self.args]
        proc.start(sys.executable, ["-m", "srviewer.gui.training_launcher", str(console), "--", *command])

    def request_stop(self) -> None:
        """Graceful stop: write RUN/STOP (checked every step) and, once the engine runs, SIGTERM."""
        if self.run_dir is not None:
            atomic_write_text(self.run_dir / STOP_FILE, "stop requested by the training tab\n")
        if self.is_running() and self.engine_ready:
            self._proc.terminate()  # the launcher passes SIGTERM on; the engine checkpoints, exits 0

    def let_go(self) -> None:
        """Leave the engine running on its own: end only the launcher (the engine has its own session)."""
        if self.is_running():
            proc, self._proc = self._proc, None
            proc.finished.disconnect(self._on_finished)
            proc.kill()
            proc.waitForFinished(2000)

    def wait(self, msecs: int) -> bool:
        return self._proc is None or self._proc.waitForFinished(msecs)

    def _on_launcher_output(self) -> None:
        # The launcher itself prints only when it cannot start; keep it in the console file.
        data = bytes(self._proc.readAllStandardOutput())
        if data and self.run_dir is not None:
            with open(self.run_dir / CONSOLE_FILE, "ab") as out:  # append-only log, not atomic
                out.write(data)

    def _on_finished(self, code: int, status: QProcess.ExitStatus) -> None:
        if status == QProcess.ExitStatus.CrashExit and code == 0:
            code = 1
        self.exited.emit(int(code))

    def _on_error(self, error: QProcess.ProcessError) -> None:
        if error == QProcess.ProcessError.FailedToStart:
            if self.run_dir is not None:
                with open(self.run_dir / CONSOLE_FILE, "a", encoding="utf-8") as out:
                    out.write(f"srviewer: error: cannot start {sys.executable}: {self._proc.errorString()}\n")
            self.exited.emit(1)
