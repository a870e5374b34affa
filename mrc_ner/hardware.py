"""What this machine's CPU is and which arithmetic it does in hardware.

bfloat16 autocast pays only on CPUs with bf16 matrix instructions (AVX512-BF16, AMX-BF16):
on an AVX512-BF16 AMD EPYC a bf16 training step measured 18x slower than float32 with
torch 2.13 (BENCHMARKS.md), and a CPU without them emulates every bf16 product. Commands
that offer ``--bf16`` or ``--quantize bf16`` call :func:`warn_if_bf16_is_slow` before using it,
and every compare cell records :func:`bf16_units` beside its CPU.

Linux only (``/proc/cpuinfo``); elsewhere the answers are "unknown" (None), never a guess.
"""

from __future__ import annotations

import platform
import warnings
from pathlib import Path

from mrc_ner.errors import MrcNerWarning

CPUINFO = Path("/proc/cpuinfo")
MEMINFO = Path("/proc/meminfo")
#: ``/proc/cpuinfo`` flags of bf16 matrix instructions
BF16_FLAGS = ("avx512_bf16", "amx_bf16")


def _cpuinfo_lines(path: Path = CPUINFO) -> list[str]:
    try:
        return path.read_text(encoding="utf-8", errors="replace").splitlines()
    except OSError:
        return []


def cpu_model(path: Path = CPUINFO) -> str:
    """The CPU's model name (``/proc/cpuinfo``; elsewhere what :mod:`platform` knows)."""
    for line in _cpuinfo_lines(path):
        if line.lower().startswith("model name"):
            return line.split(":", 1)[1].strip()
    return platform.processor() or platform.machine()


def cpu_flags(path: Path = CPUINFO) -> frozenset[str] | None:
    """The first CPU's instruction-set flags, None where ``/proc/cpuinfo`` does not list them."""
    for line in _cpuinfo_lines(path):
        if line.lower().startswith("flags"):
            return frozenset(line.split(":", 1)[1].split())
    return None


def bf16_units(flags: frozenset[str] | None) -> bool | None:
    """Whether the CPU has bf16 matrix instructions; None when its flags are unknown.

    >>> bf16_units(frozenset({"avx512f", "avx512_bf16"})), bf16_units(frozenset({"avx512f"})), bf16_units(None)
    (True, False, None)
    """
    if flags is None:
        return None
    return any(flag in flags for flag in BF16_FLAGS)


def bf16_cpu_warning(device: str, *, flags: frozenset[str] | None = None, model: str | None = None) -> str | None:
    """Why bf16 autocast on ``device`` will probably be slower than float32, or None.

    Only a CPU whose flags are known and lack bf16 matrix instructions gets a warning
    (a GPU, or a CPU that says nothing, does not). ``flags`` and ``model`` default to
    this machine's.

    >>> bf16_cpu_warning("cpu", flags=frozenset({"avx512f"}), model="Xeon")
    'bf16 autocast on Xeon, which has no bf16 matrix instructions (avx512_bf16, amx_bf16): expect it slower than float32 here'
    >>> bf16_cpu_warning("cpu", flags=frozenset({"amx_bf16"})) is None, bf16_cpu_warning("cuda:0") is None
    (True, True)
    """
    if not str(device).startswith("cpu"):
        return None
    if bf16_units(cpu_flags() if flags is None else flags) is not False:
        return None
    return (
        f"bf16 autocast on {model or cpu_model()}, which has no bf16 matrix instructions "
        f"({', '.join(BF16_FLAGS)}): expect it slower than float32 here"
    )


def warn_if_bf16_is_slow(device: str, *, stacklevel: int = 2) -> None:
    """Warn (:class:`~mrc_ner.errors.MrcNerWarning`) when :func:`bf16_cpu_warning` has a reason;
    ``stacklevel`` counts from the caller, as in :func:`warnings.warn`."""
    if note := bf16_cpu_warning(device):
        warnings.warn(note, MrcNerWarning, stacklevel=stacklevel + 1)


def memory_gib(path: Path = MEMINFO) -> float | None:
    """Total memory in GiB (``/proc/meminfo``), None where it cannot be read."""
    try:
        for line in path.read_text(encoding="utf-8").splitlines():
            if line.startswith("MemTotal:"):
                return round(int(line.split()[1]) / 1024**2, 1)
    except (OSError, ValueError, IndexError):
        pass
    return None
