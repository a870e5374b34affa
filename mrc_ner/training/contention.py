"""How much of this process's CPUs other processes used while it trained.

A training time is only a training time when the run had its cores to itself. A test
suite or a second training beside it halves the speed of a run on two cores, and the
epoch log cannot tell. :class:`CpuMeter` reads the kernel's busy time of the CPUs this
process may run on (``/proc/stat``, Linux) and subtracts the process's own CPU time, so
every epoch records how many cores, on average, *other* processes kept busy.

Where ``/proc/stat`` is missing (macOS, Windows) the meter says ``None``. In a container
whose ``/proc/stat`` shows the host's CPUs, the CPUs of this process's affinity mask are
read, which is right under ``taskset``/cpusets but counts other tenants under a bare
CPU quota.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from pathlib import Path

PROC_STAT = Path("/proc/stat")
#: ``/proc/stat`` fields that are work: user nice system (idle iowait skipped) irq softirq steal
BUSY_FIELDS = (0, 1, 2, 5, 6, 7)
#: other processes' load worth a warning: a quarter of a core
NOTABLE_CORES = 0.25


def busy_seconds(stat_text: str, cpus: set[int] | None, ticks_per_second: float) -> float:
    """Seconds the given CPUs spent busy since boot, from the text of ``/proc/stat``.

    ``cpus=None`` reads the all-CPU line.

    >>> text = "cpu  10 0 5 100 0 0 0 0 0 0\\ncpu0 4 0 2 50 0 0 0 0 0 0\\ncpu1 6 0 3 50 0 0 0 0 0 0\\n"
    >>> busy_seconds(text, None, 100), busy_seconds(text, {1}, 100)
    (0.15, 0.09)
    """
    total = 0
    for line in stat_text.splitlines():
        name, *fields = line.split() or [""]
        if not name.startswith("cpu"):
            continue
        index = name[3:]
        if (cpus is None and index == "") or (cpus is not None and index.isdigit() and int(index) in cpus):
            values = [int(x) for x in fields]
            total += sum(values[i] for i in BUSY_FIELDS if i < len(values))
    return total / ticks_per_second


def _machine_busy() -> float | None:
    """Busy seconds of this process's CPUs, or None where the kernel does not say."""
    try:
        text = PROC_STAT.read_text(encoding="ascii")
        ticks = float(os.sysconf("SC_CLK_TCK"))
        cpus = os.sched_getaffinity(0) if hasattr(os, "sched_getaffinity") else None
    except (OSError, ValueError):
        return None
    return busy_seconds(text, cpus, ticks)


def _own_cpu() -> float:
    """CPU seconds of this process, every thread, user and system."""
    t = os.times()
    return t.user + t.system


class CpuMeter:
    """Cores other processes kept busy since the meter was made.

    The readers are arguments so a test can feed it known figures:

    >>> now = {"busy": 100.0, "own": 10.0, "wall": 0.0}
    >>> m = CpuMeter(busy=lambda: now["busy"], own=lambda: now["own"], clock=lambda: now["wall"])
    >>> now.update(busy=103.0, own=11.0, wall=2.0)
    >>> m.other_cores()  # 3 busy seconds, 1 of them ours, over 2 s of wall time
    1.0
    """

    def __init__(
        self,
        *,
        busy: Callable[[], float | None] = _machine_busy,
        own: Callable[[], float] = _own_cpu,
        clock: Callable[[], float] = time.perf_counter,
    ) -> None:
        self._busy, self._own, self._clock = busy, own, clock
        self._start = (busy(), own(), clock())

    def other_cores(self) -> float | None:
        """Mean number of cores other processes kept busy since the start (≥ 0), or None where unknown."""
        busy0, own0, t0 = self._start
        busy1, own1, t1 = self._busy(), self._own(), self._clock()
        if busy0 is None or busy1 is None or t1 <= t0:
            return None
        return max(0.0, ((busy1 - busy0) - (own1 - own0)) / (t1 - t0))


def describe(cores: float | None) -> str:
    """A log suffix when other processes' load is worth a warning, else ``""``.

    >>> describe(0.93), describe(0.1), describe(None)
    ('; other processes kept 0.9 cores busy (times are not this run alone)', '', '')
    """
    if cores is None or cores < NOTABLE_CORES:
        return ""
    return f"; other processes kept {cores:.1f} cores busy (times are not this run alone)"
