"""What this machine is and how busy it is: the CPU's name beside measured figures (hosts differ
between sessions) and whether a core is free for background work."""

from __future__ import annotations

import os
import platform
import time

LOADAVG = "/proc/loadavg"
RUNNABLE_READS = 3


def cpu_model() -> str:
    """The CPU's name as /proc/cpuinfo gives it ("AMD EPYC", "Intel(R) Xeon(R) ..."), else the
    platform's processor or machine string."""
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine() or "unknown CPU"


def spare_cores() -> float:
    """Cores idle now, roughly: the core count minus the lower of two load readings, the 1-minute
    load average (it lags a minute behind a job that just stopped) and the threads runnable now
    (/proc/loadavg's fourth field, less the caller; the fewest of 3 readings 4 ms apart).
    Negative on an overloaded machine; the core count where neither can be read."""
    cores = os.cpu_count() or 1
    readings = []
    try:
        readings.append(os.getloadavg()[0])
    except (OSError, AttributeError):
        pass
    try:
        runnable = []
        for i in range(RUNNABLE_READS):     # one reading catches passing threads: the fewest of a few
            if i:
                time.sleep(0.004)
            with open(LOADAVG) as f:
                runnable.append(int(f.read().split()[3].split("/")[0]) - 1)
        readings.append(min(runnable))
    except (OSError, IndexError, ValueError):
        pass
    return cores - min(readings) if readings else float(cores)
