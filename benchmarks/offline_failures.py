"""How fast the offline failures are (these timings used to be assertions inside tests).

    .venv/bin/python benchmarks/offline_failures.py

Prints one table: seconds until each path gives up, with the network probe pointed at a local
port nobody listens on (refused) and at a server that accepts and never answers (silent), and
tensorflow-datasets hidden (not installed) or faked (installed, offline, nothing prepared).
"""

from __future__ import annotations

import socket
import sys
import time
import types
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from srviewer.errors import DataError  # noqa: E402
from srviewer.train import augment_data, net_probe, sr_data  # noqa: E402


def _seconds(fn) -> float:
    t0 = time.perf_counter()
    try:
        fn()
    except DataError:
        pass
    return time.perf_counter() - t0


def main() -> int:
    rows = []
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen(1)
        silent_url = f"http://127.0.0.1:{silent.getsockname()[1]}/"
        for timeout in (0.5, 3.0):
            rows.append((f"net_probe.host_reachable, silent server, timeout {timeout} s",
                         _seconds(lambda: net_probe.host_reachable(silent_url, timeout))))
        rows.append(("net_probe.host_reachable, refused port",
                     _seconds(lambda: net_probe.host_reachable("http://127.0.0.1:9/", 3.0))))

    sys.modules["tensorflow_datasets"] = None          # not installed
    rows.append(("train: tfds not installed", _seconds(lambda: sr_data.load_tfds_pairs("div2k/bicubic_x4"))))
    rows.append(("augment: tfds not installed", _seconds(lambda: augment_data.open_source("tfds:stanford_dogs"))))

    fake = types.ModuleType("tensorflow_datasets")     # installed, offline, nothing prepared
    fake.core = types.SimpleNamespace(constants=types.SimpleNamespace(DATA_DIR="/nonexistent-tfds"))
    sys.modules["tensorflow_datasets"] = fake
    net_probe.TFDS_PROBE_URL = "http://127.0.0.1:9/"
    rows.append(("train: tfds offline (probe refused)", _seconds(lambda: sr_data.load_tfds_pairs("div2k/bicubic_x4"))))
    print("| path | seconds to fail |\n|---|---:|")
    for name, seconds in rows:
        print(f"| {name} | {seconds:.3f} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
