"""A start-up timeline across processes: where the seconds from launch to the first results go.

With $SRVIEWER_TIMELINE set to a file path, `mark("what")` appends one line
`SECONDS<TAB>PID<TAB>ROLE<TAB>CPU<TAB>what` to that file (CPU: the process's CPU seconds so far, so
a step's wall time can be told from the CPU it got on a shared machine); unset, `mark` costs one
dict lookup. The clock is
Linux's CLOCK_BOOTTIME (system-wide, so the window's process and the model process share it; a
process's exec time from /proc/PID/stat is on the same clock), time.monotonic() elsewhere. The
variable is inherited by the model process (spawn copies the environment), so both write to the
same file; one short `write` on a file opened for appending is atomic enough for these lines.

`read(path)` parses the file back; `table(marks, t0)` prints it as offsets from t0 (the launch),
one line per mark with its process's role, wall and CPU seconds since that process's last mark. benchmarks/launch_timeline.py drives it; nothing in srviewer depends on it.
"""

from __future__ import annotations

import os
import time

ENV = "SRVIEWER_TIMELINE"
_CLOCK = getattr(time, "CLOCK_BOOTTIME", None)
_role = "window"


def now() -> float:
    """Seconds on the timeline's clock (comparable across processes)."""
    return time.clock_gettime(_CLOCK) if _CLOCK is not None else time.monotonic()


def set_role(role: str) -> None:
    """Name this process in the timeline ("window", "models")."""
    global _role
    _role = role


def mark(what: str, at: float | None = None) -> None:
    """Log `what` at `at` (default: now) when $SRVIEWER_TIMELINE names a file; else nothing."""
    path = os.environ.get(ENV)
    if not path:
        return
    cpu = 0.0 if at is not None else time.process_time()
    line = f"{now() if at is None else at:.6f}\t{os.getpid()}\t{_role}\t{cpu:.3f}\t{what}\n"
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    try:
        os.write(fd, line.encode())
    finally:
        os.close(fd)


def process_started_at(pid: int | None = None) -> float | None:
    """When process `pid` (default: this one) was exec'd, on the timeline's clock (10 ms ticks); None
    where /proc or CLOCK_BOOTTIME is missing."""
    if _CLOCK is None:
        return None
    try:
        with open(f"/proc/{pid or os.getpid()}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return int(fields[19]) / os.sysconf("SC_CLK_TCK")    # field 22: starttime, ticks since boot
    except (OSError, ValueError, IndexError):
        return None


def mark_process_start(what: str = "process exec'd") -> None:
    """Mark this process's exec time (from /proc), so Python's own start-up shows as a gap."""
    at = process_started_at()
    if at is not None:
        mark(what, at)


def read(path) -> list[tuple[float, int, str, float, str]]:
    """The marks of a timeline file: (seconds, pid, role, cpu seconds, what), in time order."""
    marks = []
    with open(path) as f:
        for line in f:
            parts = line.rstrip("\n").split("\t", 4)
            if len(parts) == 5:
                marks.append((float(parts[0]), int(parts[1]), parts[2], float(parts[3]), parts[4]))
    return sorted(marks)


def table(marks, t0: float) -> str:
    """The marks as offsets from t0 in seconds, one line each: the wall time since the same process's
    last mark and the CPU time that process got meanwhile (a process's exec mark has no CPU figure)."""
    lines, last = ["   at s   wall s  cpu s  process what"], {}
    for at, pid, role, cpu, what in marks:
        prev_at, prev_cpu = last.get(pid, (at, 0.0))
        last[pid] = (at, cpu or prev_cpu)
        cpu_step = f"{cpu - prev_cpu:6.2f}" if cpu else "     -"
        lines.append(f"{at - t0:7.2f}  +{at - prev_at:6.2f} {cpu_step}  {role:<7} {what}")
    return "\n".join(lines)
