"""Which lines of a training process's output are the libraries' noise, and its one-line reason.

A run's child writes everything to RUN/console.txt (and the engine its own RUN/log.txt); the
Training tab shows only srviewer's own lines and, when the run fails, one line saying why.
Noise is what `core/library_noise.is_noise` says (TensorFlow's absl and C++ log lines, its start-up
notices, Keras' download notices, Python warnings), and the source line under a Python warning.
"""

from __future__ import annotations

import re

from srviewer.core.library_noise import is_noise

_ERROR_LINE = re.compile(r"^srviewer(?:\s+\S+)*:\s+error:\s+")


def own_lines(lines) -> list[str]:
    """The lines worth showing: not noise, and not the indented source line under a Python warning."""
    kept, after_warning = [], False
    for line in lines:
        if is_noise(line):
            after_warning = bool(re.match(r"^\S+\.py:\d+:\s+\w*Warning:", line))
            continue
        if after_warning and line.startswith((" ", "\t")):
            continue
        after_warning = False
        kept.append(line)
    return kept


def failure_reason(lines, error_event: str = "") -> str:
    """Why a run failed, in one line: srviewer's own `error:` line (the CLI's one line, argparse's),
    else the engine's `error` event, else the last line that is not noise."""
    own = [line.strip() for line in own_lines(lines) if line.strip()]
    for line in reversed(own):
        if _ERROR_LINE.match(line):
            return line
    if error_event.strip():
        return error_event.strip().splitlines()[-1]
    return own[-1] if own else ""
