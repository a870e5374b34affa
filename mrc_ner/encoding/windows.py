"""Long contexts → overlapping windows, and window predictions → one per position.

Nothing is truncated: a context of ``n`` tokens is covered by windows of at most
``size`` tokens that overlap by ``overlap`` tokens. When merging, every position
takes the prediction of the window in which it sits farthest from an edge (the
window that saw the most context on both sides of it).

>>> plan_windows(10, size=4, overlap=2)
[(0, 4), (2, 6), (4, 8), (6, 10)]
>>> owner_of_positions(10, plan_windows(10, size=4, overlap=2))
[0, 0, 0, 1, 1, 2, 2, 3, 3, 3]
"""

from __future__ import annotations

from collections.abc import Sequence


def plan_windows(n: int, *, size: int, overlap: int) -> list[tuple[int, int]]:
    """Windows ``[start, end)`` covering ``0..n``; the last one ends at ``n``."""
    if size < 1:
        raise ValueError(f"window size must be positive, got {size}")
    if n <= size:
        return [(0, n)]
    overlap = max(0, min(overlap, size - 1))
    step = size - overlap
    windows = []
    start = 0
    while True:
        end = min(start + size, n)
        windows.append((max(0, end - size), end))
        if end >= n:
            break
        start += step
    return windows


def owner_of_positions(n: int, windows: Sequence[tuple[int, int]]) -> list[int]:
    """For each position, the index of the window where it is farthest from an edge."""
    owner = [-1] * n
    best = [-1] * n
    for w, (a, b) in enumerate(windows):
        for p in range(a, b):
            margin = min(p - a, b - 1 - p)
            if margin > best[p]:
                best[p], owner[p] = margin, w
    if n and min(owner) < 0:
        raise ValueError("windows do not cover every position")
    return owner
