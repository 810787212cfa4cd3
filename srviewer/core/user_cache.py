"""The folder srviewer keeps its per-user caches in: $SRVIEWER_CACHE, else ~/.cache/srviewer.

What lives there can always be rebuilt (deleting the folder only costs time): the XLA probe's
verdict (xla_choice_store.py), the folded fast-path weights of sr_resnet models (folded_store.py)
and the training data's LR/HR pairs (train/sr_data.py).
"""

from __future__ import annotations

import os
from pathlib import Path


def cache_dir() -> Path:
    """Read at each call, so a test or a user can point it elsewhere by the environment."""
    return Path(os.environ.get("SRVIEWER_CACHE") or Path.home() / ".cache" / "srviewer")
