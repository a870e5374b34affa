"""Where nodes and labels go: a vectorised force layout per component, components packed in rows, greedy labels."""

from __future__ import annotations

import math
from typing import Any

import networkx as nx


def _force_layout(graph: nx.Graph, *, seed: int, iterations: int = 120, dense_limit: int = 3000) -> dict[str, Any]:
    """Fruchterman-Reingold, vectorised over all node pairs (networkx switches to a slow sparse loop
    from 500 nodes on). Iterations shrink from ``iterations`` as n² grows past 600 nodes (at least 30),
    so a drawing takes seconds; a component larger than ``dense_limit`` gets networkx's sparse layout."""
    import numpy as np

    nodes = list(graph.nodes)
    n = len(nodes)
    iterations = max(30, min(iterations, int(iterations * (600 / n) ** 2)))
    k = 2.5 / math.sqrt(n)
    if n > dense_limit:
        return nx.spring_layout(graph, seed=seed, k=k, weight=None, iterations=30, method="force")
    index = {v: i for i, v in enumerate(nodes)}
    adj = np.zeros((n, n), dtype=np.float32)
    for a, b in graph.edges:
        adj[index[a], index[b]] = adj[index[b], index[a]] = 1.0
    pos = np.random.default_rng(seed).random((n, 2), dtype=np.float32)
    t = 0.1
    cool = t / (iterations + 1)
    for _ in range(iterations):
        dx = pos[:, 0:1] - pos[:, 0]
        dy = pos[:, 1:2] - pos[:, 1]
        dist = np.hypot(dx, dy)
        np.maximum(dist, 0.01, out=dist)
        force = adj * dist
        force *= -1 / k
        force += (k * k) / (dist * dist)  # repulsion between all pairs, attraction along edges
        disp = np.stack([(dx * force).sum(axis=1), (dy * force).sum(axis=1)], axis=1)
        length = np.maximum(np.hypot(disp[:, 0], disp[:, 1]), 0.01)
        pos += disp * (t / length)[:, None]
        t -= cool
    return {v: (float(pos[i, 0]), float(pos[i, 1])) for i, v in enumerate(nodes)}


def _spread(local: dict[str, Any], power: float = 0.6) -> dict[str, Any]:
    """Fish-eye: radius r → r**power around the median, so a dense core opens up and far outliers come closer."""
    xs = sorted(p[0] for p in local.values())
    ys = sorted(p[1] for p in local.values())
    cx, cy = xs[len(xs) // 2], ys[len(ys) // 2]
    rmax = max(math.hypot(px - cx, py - cy) for px, py in local.values()) or 1.0
    out = {}
    for n, (px, py) in local.items():
        dx, dy = (px - cx) / rmax, (py - cy) / rmax
        r = math.hypot(dx, dy)
        f = r ** (power - 1) if r > 0 else 0.0
        out[n] = (dx * f, dy * f)
    return out


def layout(graph: nx.Graph, seed: int, aspect: float) -> dict[str, Any]:
    """Spring layout per connected component; components packed in rows (largest first) to fill ``aspect``."""
    comps = sorted((sorted(c) for c in nx.connected_components(graph)), key=lambda c: (-len(c), c[0]))
    pos: dict[str, Any] = {}
    sides = [math.sqrt(len(c)) for c in comps]  # a component's cell area grows with its size
    row_width = max(math.sqrt(sum(s * s for s in sides) * aspect) * 1.1, sides[0] if sides else 1)
    x = y = row_h = 0.0
    for comp, side in zip(comps, sides):
        if x > 0 and x + side > row_width:
            x, y, row_h = 0.0, y - row_h, 0.0
        if len(comp) == 1:
            local = {comp[0]: (0.0, 0.0)}
        elif len(comp) == 2:
            local = {comp[0]: (-0.5, 0.0), comp[1]: (0.5, 0.0)}
        else:
            local = _spread(_force_layout(graph.subgraph(comp), seed=seed))
        xs = [p[0] for p in local.values()]
        ys = [p[1] for p in local.values()]
        span = max(max(xs) - min(xs), max(ys) - min(ys), 1e-9)
        inner = side * (0.8 if len(comp) > 2 else 0.5)
        cx, cy = (max(xs) + min(xs)) / 2, (max(ys) + min(ys)) / 2
        for n, (px, py) in local.items():
            pos[n] = ((px - cx) / span * inner + x + side / 2, (py - cy) / span * inner + y - side / 2)
        x += side
        row_h = max(row_h, side)
    return pos


def place_labels(
    ax: Any, renderer: Any, items: list[tuple[str, tuple[float, float], float, float]], family: list[str]
) -> int:
    """Label points greedily (first = most important): above, below, right or left of the node,
    whichever overlaps no label placed before; a label that fits nowhere is left out. Returns how many fit."""
    placed: list[Any] = []
    for text, xy, fontsize, radius in items:
        for dx, dy, ha, va in (
            (0, 1, "center", "bottom"),
            (0, -1, "center", "top"),
            (1, 0, "left", "center"),
            (-1, 0, "right", "center"),
        ):
            ann = ax.annotate(
                text,
                xy,
                xytext=(dx * (radius + 2), dy * (radius + 2)),
                textcoords="offset points",
                ha=ha,
                va=va,
                fontsize=fontsize,
                family=family,
                zorder=4,
                bbox=dict(boxstyle="round,pad=0.15", fc="white", ec="none", alpha=0.8),
            )
            box = ann.get_window_extent(renderer).expanded(1.04, 1.1)
            if not any(box.overlaps(b) for b in placed):
                placed.append(box)
                break
            ann.remove()
    return len(placed)
