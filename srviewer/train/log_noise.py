"""Which lines of a training process's output are the libraries' noise, and its one-line reason.

A run's child writes everything to RUN/console.txt (and the engine its own RUN/log.txt); the
Training tab shows only srviewer's own lines and, when the run fails, one line saying why.
Noise: TensorFlow's absl and C++ log lines (`I0000 00:00:...  cudart_stub.cc:31] ...`,
`2026-... I tensorflow/...`), its start-up notices (CUDA drivers, oneDNN, CPU instructions,
TF-TRT), Keras' download notices and Python warnings (the warning line and the source line under it).
"""

from __future__ import annotations

import re

_NOISE = re.compile(r"""
    ^[IWEF]\d{4}\s+\d\d:\d\d:[\d.]+\s+\d+\s+[\w./-]+:\d+\]          # absl: I0000 00:00:17.9 19244 file.cc:31]
  | ^\d{4}-\d\d-\d\d[\sT]\d\d:\d\d:[\d.]+:?\s+[IWEF]\s+\S+:\d+\]     # TF C++: 2026-12-04 18:00:00.1: I tf/x.cc:12]
  | ^WARNING:\s+All\s+log\s+messages\s+before\s+absl::InitializeLog
  | ^WARNING:absl:
  | ^To\s+enable\s+the\s+following\s+instructions
  | ^This\s+TensorFlow\s+binary\s+is\s+optimized
  | oneDNN\s+custom\s+operations
  | \b(?:cuInit|cuda\s+drivers|CUDA\s+error|cuDNN|cuFFT|cuBLAS|TF-TRT|TensorRT)\b
  | ^Downloading\s+data\s+from\s+https?://
  | ^\S+\.py:\d+:\s+\w*Warning:                                       # a Python warning
""", re.VERBOSE)
_ERROR_LINE = re.compile(r"^srviewer(?:\s+\S+)*:\s+error:\s+")


def is_noise(line: str) -> bool:
    """True for the libraries' log and warning lines (see the module docstring)."""
    return bool(_NOISE.search(line))


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
