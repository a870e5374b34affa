"""What a run's timings and scores depend on beyond its settings: the machine and the code.

A training time compares with another only when both ran on the same CPU and code: one
fold's 1,625 training steps took 2,287 s in one session and 4,280 s in another, and nothing
said what had changed between them. Every ``compare`` cell records :func:`machine_facts`
and :func:`code_version`, so a table can say which ratios cross machines instead of leaving
the reader to guess from dates.
"""

from __future__ import annotations

import os
import platform
import subprocess
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from mrc_ner.hardware import bf16_units, cpu_flags, cpu_model, memory_gib

_PACKAGE = Path(__file__).resolve().parents[1]


def package_version(dist: str) -> str | None:
    """The installed version of a distribution, None when it is not installed."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version(dist)
    except PackageNotFoundError:
        return None


def machine_facts(threads: int | None = None) -> dict[str, Any]:
    """CPU (and whether it has bf16 matrix instructions), cores, memory, platform and library
    versions, and the torch threads a run used.

    >>> sorted(machine_facts(2))
    ['bf16_units', 'cores', 'cpu', 'memory_gib', 'platform', 'python', 'torch', 'torch_threads', 'transformers', 'usable_cores']
    """
    usable = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return {
        "cpu": cpu_model(),
        "bf16_units": bf16_units(cpu_flags()),
        "cores": os.cpu_count(),
        "usable_cores": usable,
        "memory_gib": memory_gib(),
        "platform": platform.platform(),
        "python": platform.python_version(),
        "torch": package_version("torch"),
        "transformers": package_version("transformers"),
        "torch_threads": threads,
    }


def timing_key(machine: Mapping[str, Any] | None) -> str | None:
    """What a recorded training time depends on, from a ``machine`` record: its CPU and torch
    threads; two times compare when their keys are equal. None when the CPU is not recorded.

    >>> timing_key({"cpu": "Intel Xeon", "torch_threads": 2}), timing_key({"cpu": "AMD EPYC"}), timing_key(None)
    ('Intel Xeon, 2 threads', 'AMD EPYC', None)
    """
    if not machine or not machine.get("cpu"):
        return None
    threads = machine.get("torch_threads")
    return f"{machine['cpu']}, {threads} threads" if threads else str(machine["cpu"])


def cell_timing_key(result: Mapping[str, Any]) -> str | None:
    """:func:`timing_key` of a compare cell's ``result.json`` when every epoch of it ran there;
    None when the machine is not recorded, when some epoch ran on another CPU, or when a
    resumed cell does not say where its earlier epochs ran (``epochs_ran_on``, written since
    each epoch's log line names its CPU).

    >>> m = {"cpu": "X", "torch_threads": 2}
    >>> cell_timing_key({"machine": m}), cell_timing_key({"machine": m, "resumed": {}})
    ('X, 2 threads', None)
    >>> cell_timing_key({"machine": m, "resumed": {}, "epochs_ran_on": [{"cpu": "Y, 2 threads"}, {"cpu": "X, 2 threads"}]})
    >>> cell_timing_key({"machine": m, "resumed": {}, "epochs_ran_on": [{"cpu": "X, 2 threads"}] * 2})
    'X, 2 threads'
    """
    key = timing_key(result.get("machine"))
    epochs = result.get("epochs_ran_on")
    if key is None or (epochs is None and "resumed" in result):
        return None
    return key if all(e and e.get("cpu") == key for e in epochs or ()) else None


def run_place(threads: int | None) -> dict[str, Any]:
    """Where this training process runs, for each epoch's log line: the timing key (CPU and
    torch threads) and the git commit, so a cell resumed elsewhere says which epochs ran where."""
    return {"cpu": timing_key({"cpu": cpu_model(), "torch_threads": threads}), "commit": code_version()["commit"]}


def code_version() -> dict[str, Any]:
    """The package version, and the git commit when the package runs from a git work tree
    (``dirty``: uncommitted changes to tracked files). ``commit`` is None for an installed wheel."""
    info: dict[str, Any] = {"version": package_version("mrc-ner"), "commit": None, "dirty": None}
    try:
        git = ["git", "-C", str(_PACKAGE)]
        top = subprocess.run([*git, "rev-parse", "--show-toplevel"], capture_output=True, text=True, timeout=10)
        if top.returncode != 0 or Path(top.stdout.strip()).resolve() != _PACKAGE.parent:
            return info  # not a checkout of this project (e.g. site-packages inside some other repository)
        head = subprocess.run([*git, "rev-parse", "HEAD"], capture_output=True, text=True, timeout=10)
        status = subprocess.run(
            [*git, "status", "--porcelain", "--untracked-files=no"], capture_output=True, text=True, timeout=10
        )
    except (OSError, subprocess.SubprocessError):
        return info
    if head.returncode == 0:
        info["commit"] = head.stdout.strip()
        info["dirty"] = bool(status.stdout.strip()) if status.returncode == 0 else None
    return info
