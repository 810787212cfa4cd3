"""What this machine is and how busy it is: the CPU's name beside measured figures (hosts differ
between sessions) and whether a core is free for background work."""

from __future__ import annotations

import os
import platform
import time

LOADAVG = "/proc/loadavg"
OWN_TASKS = "/proc/self/task"
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


def runnable_threads() -> int | None:
    """Threads of other processes runnable now (/proc/loadavg's fourth field less this process's
    own runnable threads, such as a BLAS pool still spinning after a numpy call; the fewest of
    RUNNABLE_READS readings 4 ms apart, since one reading catches passing threads), or None where
    it cannot be read."""
    try:
        counts = []
        for i in range(RUNNABLE_READS):
            if i:
                time.sleep(0.004)
            with open(LOADAVG) as f:
                everyone = int(f.read().split()[3].split("/")[0])
            counts.append(everyone - _own_runnable())
        return max(0, min(counts))
    except (OSError, IndexError, ValueError):
        return None


def _own_runnable() -> int:
    """This process's threads in state R (at least 1: the caller)."""
    running = 0
    try:
        for task in os.listdir(OWN_TASKS):
            try:
                with open(os.path.join(OWN_TASKS, task, "stat")) as f:
                    running += f.read().rsplit(")", 1)[1].split()[0] == "R"
            except (OSError, IndexError):
                continue
    except OSError:
        pass
    return max(1, running)


def spare_cores() -> float:
    """Cores idle now, roughly: the core count minus the lower of two load readings, the 1-minute
    load average (it lags a minute behind a job that just stopped) and `runnable_threads()`.
    Negative on an overloaded machine; the core count where neither can be read. The caller counts
    as idle."""
    cores = os.cpu_count() or 1
    readings = [n for n in (_load_average(), runnable_threads()) if n is not None]
    return cores - min(readings) if readings else float(cores)


def _load_average() -> float | None:
    try:
        return os.getloadavg()[0]
    except (OSError, AttributeError):
        return None
