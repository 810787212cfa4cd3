"""The libraries' own log lines: TensorFlow's absl and C++ logging, its start-up notices, Keras'
download notices and Python warnings, told apart from srviewer's own output.

Noise: `I0000 00:00:...  cudart_stub.cc:31] ...`, `2026-... I tensorflow/...`, "WARNING: All log
messages before absl::InitializeLog()", CUDA/cuDNN/TF-TRT/oneDNN notices, CPU-instruction notices,
"Downloading data from https://...", and `file.py:12: SomeWarning:` lines. Used where a training
run's console is shown (train/log_noise) and where TensorFlow's start-up output is caught
(tf_runtime: kept out of the command line's one-line errors, logged at debug level).
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


def is_noise(line: str) -> bool:
    """True for the libraries' log and warning lines (see the module docstring)."""
    return bool(_NOISE.search(line))
