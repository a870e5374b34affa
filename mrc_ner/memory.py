"""The C allocator's side of memory: keep a long run's peak flat (glibc only).

glibc serves a large ``malloc`` with its own ``mmap`` and raises that threshold
each time such a block is freed (up to 32 MB). In a long prediction run the
encoder's activation tensors then move onto the heap and fragment it, and the
resident size grows with the input (``BENCHMARKS.md``, *Extraction memory*; keeping
the per-window outputs in one block, ``OutputPool``, took most but not all of that
growth away). Fixing the threshold turns the rest off.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import sys

M_MMAP_THRESHOLD = -3  # glibc's mallopt parameter number (malloc.h)
FLAT_MEMORY_MMAP_THRESHOLD = 1 << 20  # what `extract --flat-memory` sets: 64 KB and 1 MB measured alike (BENCHMARKS.md)


def set_mmap_threshold(nbytes: int) -> bool:
    """Fix glibc's mmap threshold at ``nbytes`` (which also stops its dynamic growth).

    Returns False, changing nothing, where the C library is not glibc
    (``tests/test_memory.py``).
    """
    if nbytes < 0:
        raise ValueError(f"mmap threshold must be at least 0 bytes, not {nbytes}")
    if not sys.platform.startswith("linux"):
        return False
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        mallopt = libc.mallopt
    except (OSError, AttributeError):
        return False
    mallopt.argtypes = [ctypes.c_int, ctypes.c_int]
    mallopt.restype = ctypes.c_int
    return bool(mallopt(M_MMAP_THRESHOLD, int(nbytes)))
