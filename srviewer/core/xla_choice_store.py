"""The XLA probe's verdict, kept on disk per machine, so a launch does not time it again.

`tf_runtime.xla_is_faster()` times XLA against TensorFlow's plain graph (about 0.3 s on a quiet
machine, over a second on a loaded one, and the verdict can flip from one launch to the next when
the machine is busy; the two engines round differently, so results did too). The first verdict on
a machine is kept in $SRVIEWER_CACHE/xla_choice.json (default ~/.cache/srviewer), keyed by what
decides it: the CPU model, the core count, TensorFlow's version, the GPUs TensorFlow sees and
$TF_ENABLE_ONEDNN_OPTS. Delete the file (or set SRVIEWER_XLA=on/off) to choose again.
"""

from __future__ import annotations

import json
import logging
import os
from pathlib import Path

from srviewer.core.atomic import atomic_write_json
from srviewer.core.host import cpu_model
from srviewer.core.user_cache import cache_dir

log = logging.getLogger(__name__)
FILE_NAME = "xla_choice.json"


def path() -> Path:
    """The file, in user_cache.cache_dir() (read at each call)."""
    return cache_dir() / FILE_NAME


def machine_key(tf_version: str, gpus: list[str]) -> str:
    """What the verdict depends on, as one string."""
    onednn = os.environ.get("TF_ENABLE_ONEDNN_OPTS", "")
    return (f"{cpu_model()} | {os.cpu_count()} cores | tensorflow {tf_version} | gpus {','.join(gpus) or '-'}"
            f" | onednn {onednn or 'default'}")


def load(key: str) -> dict | None:
    """The kept verdict for `key` ({'faster', 'xla_ms', 'plain_ms'}), or None (no file, unreadable, no entry)."""
    try:
        entry = json.loads(path().read_text()).get(key)
    except (OSError, ValueError, AttributeError):
        return None
    if not isinstance(entry, dict) or not isinstance(entry.get("faster"), bool):
        return None
    return entry


def save(key: str, choice: dict) -> None:
    """Keep `choice` for `key` beside the other machines' entries; a folder that cannot be written is only logged."""
    file = path()
    try:
        kept = json.loads(file.read_text()) if file.exists() else {}
        kept = kept if isinstance(kept, dict) else {}
    except (OSError, ValueError):
        kept = {}
    kept[key] = {k: choice[k] for k in ("faster", "xla_ms", "plain_ms") if k in choice}
    try:
        file.parent.mkdir(parents=True, exist_ok=True)
        atomic_write_json(file, kept)
    except OSError as exc:
        log.info("XLA choice not kept (%s)", exc)
