"""The PNG drawings: the whole network and the ego network of a node."""

from __future__ import annotations

import math
import os
import warnings
from pathlib import Path
from typing import Any

import networkx as nx
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.lines import Line2D

from mrc_ner.io import atomic_write
from mrc_ner.mining.drawing.fonts import displayable, font_family, node_text
from mrc_ner.mining.drawing.layout import layout, place_labels
from mrc_ner.mining.network.graph import sorted_nodes

COMMUNITY_COLOURS = [
    "#1f77b4",
    "#ff7f0e",
    "#2ca02c",
    "#d62728",
    "#9467bd",
    "#8c564b",
    "#e377c2",
    "#17becf",
    "#bcbd22",
    "#7f7f7f",
    "#aec7e8",
    "#ffbb78",
    "#98df8a",
    "#ff9896",
    "#c5b0d5",
    "#c49c94",
    "#f7b6d2",
    "#9edae5",
    "#dbdb8d",
    "#393b79",
]
OTHER_COLOUR = "#c8c8c8"


def _save(fig: Figure, path: str | os.PathLike, dpi: int) -> None:
    if fig.canvas is None or not isinstance(fig.canvas, FigureCanvasAgg):
        FigureCanvasAgg(fig)
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=r"Glyph .* missing from")
        atomic_write(path, lambda p: fig.savefig(p, format="png", dpi=dpi, facecolor="white"))


def _scale(value: float, lo: float, hi: float, out_lo: float, out_hi: float) -> float:
    if hi <= lo:
        return (out_lo + out_hi) / 2
    return out_lo + (out_hi - out_lo) * (value - lo) / (hi - lo)


def _community_colour(c: Any) -> str:
    return COMMUNITY_COLOURS[c] if isinstance(c, int) and 0 <= c < len(COMMUNITY_COLOURS) else OTHER_COLOUR


def draw_network(
    graph: nx.Graph,
    path: str | os.PathLike,
    *,
    max_labels: int = 40,
    seed: int = 42,
    title: str | None = None,
    size: tuple[float, float] = (12, 10),
    dpi: int = 150,
) -> Path:
    """Draw the network to a PNG: area ∝ node weight, colour = community, width ∝ edge weight.

    Connected components are laid out apart (largest top left). The ``max_labels``
    heaviest nodes are labelled where a label does not hide another; the legend
    names the largest communities by their heaviest members.
    """
    from matplotlib.collections import LineCollection

    fig = Figure(figsize=size, layout="constrained")
    canvas = FigureCanvasAgg(fig)
    ax = fig.add_subplot()
    ax.set_axis_off()
    family = font_family()
    a = graph.graph
    if title is None:
        title = (
            f"{a.get('types', 'entity')} co-occurrence network: {graph.number_of_nodes()} nodes, {graph.number_of_edges()} edges,"
            f" {a.get('communities', 0)} communities\n"
            f"edge weight ≥ {a.get('min_edge_weight', 1)} documents; co-occurrence window: {a.get('window', '?')} sentences"
        )
    fig.suptitle(displayable(title)[0], fontsize=12, family=family)
    if graph.number_of_edges() == 0:
        ax.text(
            0.5,
            0.5,
            f"no edge of weight ≥ {a.get('min_edge_weight', 1)}",
            ha="center",
            va="center",
            fontsize=16,
            family=family,
            transform=ax.transAxes,
        )
        _save(fig, path, dpi)
        return Path(path)

    order = sorted_nodes(graph)
    rank = {n: i + 1 for i, n in enumerate(order)}

    # legend first: it takes its room below the drawing before the layout is frozen
    members: dict[int, list[str]] = {}
    for n in order:
        c = graph.nodes[n].get("community")
        if isinstance(c, int):
            members.setdefault(c, []).append(n)
    handles = []
    for c in sorted(members)[:10]:
        names = ", ".join(node_text(graph, n, rank[n])[0] for n in members[c][:3])
        handles.append(
            Line2D(
                [],
                [],
                marker="o",
                linestyle="",
                markersize=8,
                color=_community_colour(c),
                label=f"{len(members[c])} nodes: {names}",
            )
        )
    if handles:
        more = len(members) - len(handles)
        fig.legend(
            handles=handles,
            loc="outside lower center",
            ncol=2,
            frameon=False,
            prop={"family": family, "size": 8},
            title=f"communities, largest {len(handles)}"
            + (f" of {len(members)}" if more > 0 else "")
            + " (heaviest members)",
            title_fontsize=9,
        )
    lost_any = any(node_text(graph, n, rank[n])[1] for n in order[:max_labels])
    notes = [
        f"labels: the heaviest of {len(order)} nodes (up to {max_labels}) where they fit; node area ∝ documents, edge width ∝ documents"
    ]
    if lost_any:
        notes.append("no CJK font found: Chinese characters shown as …, #N = row N of nodes.csv")
    ax.set_title("; ".join(notes), fontsize=8, color="#555555", family=family)

    canvas.draw()  # settle the constrained layout, then freeze it so label boxes stay where they are measured
    fig.set_layout_engine("none")
    bbox = ax.get_window_extent()
    pos = layout(graph, seed, bbox.width / max(bbox.height, 1))
    xs_all = [p[0] for p in pos.values()]
    ys_all = [p[1] for p in pos.values()]
    padx = (max(xs_all) - min(xs_all)) * 0.04 + 0.5
    pady = (max(ys_all) - min(ys_all)) * 0.05 + 0.5
    ax.set_xlim(min(xs_all) - padx, max(xs_all) + padx)
    ax.set_ylim(min(ys_all) - pady, max(ys_all) + pady)

    nweights = [graph.nodes[n].get("weight", 1) for n in order]
    wmin, wmax = min(nweights), max(nweights)
    many = graph.number_of_nodes() > 150
    smin, smax = (12 if many else 30), 520

    def node_size(w: float) -> float:
        return smin if wmax == wmin else _scale(w, wmin, wmax, smin, smax)

    edges = sorted(graph.edges(data=True), key=lambda e: e[2]["weight"])  # light first, heavy on top
    ewts = [d["weight"] for _, _, d in edges]
    emin, emax = min(ewts), max(ewts)
    thin = 0.35 if many else 0.6
    widths = [thin if emax == emin else _scale(w, emin, emax, thin, 4.5) for w in ewts]
    alphas = [0.25 if emax == emin else _scale(w, emin, emax, 0.2, 0.75) for w in ewts]
    ax.add_collection(
        LineCollection(
            [(pos[u], pos[v]) for u, v, _ in edges],
            linewidths=widths,
            colors=[(0.3, 0.3, 0.3, al) for al in alphas],
            zorder=1,
            capstyle="round",
        )
    )
    sizes = [node_size(w) for w in nweights]
    colours = [_community_colour(graph.nodes[n].get("community")) for n in order]
    ax.scatter(
        [pos[n][0] for n in order][::-1],
        [pos[n][1] for n in order][::-1],
        s=sizes[::-1],
        c=colours[::-1],
        edgecolors="white",
        linewidths=0.5,
        zorder=2,
    )

    items = []
    for n, s_ in zip(order[:max_labels], sizes):
        w = graph.nodes[n].get("weight", 1)
        fs = 8.0 if wmax == wmin else _scale(w, wmin, wmax, 7.5, 11)
        items.append((node_text(graph, n, rank[n])[0], pos[n], fs, math.sqrt(s_) / 2))
    place_labels(ax, canvas.get_renderer(), items, family)
    _save(fig, path, dpi)
    return Path(path)


def draw_ego(
    graph: nx.Graph,
    focus: str,
    path: str | os.PathLike,
    *,
    top: int = 10,
    comparison: dict | None = None,
    size: tuple[float, float] = (10, 8),
    dpi: int = 150,
) -> Path:
    """Draw ``focus`` and its ``top`` heaviest neighbours; edge labels are document counts.

    With a ``comparison`` (from :func:`~mrc_ner.mining.network.compare_with_reference`)
    neighbours are coloured by whether the reference has them in its top-k, links
    them at all, or not (new).
    """
    from mrc_ner.mining.network.ego import ego, resolve_node

    node = resolve_node(graph, focus)
    nbrs = ego(graph, node, top=top)
    rank = {n: i + 1 for i, n in enumerate(sorted_nodes(graph))}
    family = font_family()
    fig = Figure(figsize=size, layout="constrained")
    ax = fig.add_subplot()
    ax.set_axis_off()
    ax.set_aspect("equal")
    focus_text, lost_any = node_text(graph, node, rank[node])
    ax.set_title(
        f"{focus_text}: top {len(nbrs)} neighbours (edge label = documents with both)", fontsize=12, family=family
    )
    pos = {node: (0.0, 0.0)}
    for i, (n, _) in enumerate(nbrs):
        angle = math.pi / 2 - 2 * math.pi * i / max(len(nbrs), 1)
        pos[n] = (math.cos(angle), math.sin(angle))
    names = [n for n, _ in nbrs]
    for i, a_ in enumerate(names):  # edges among the neighbours, faint
        for b_ in names[i + 1 :]:
            if graph.has_edge(a_, b_):
                (x1, y1), (x2, y2) = pos[a_], pos[b_]
                ax.plot([x1, x2], [y1, y2], color="#bbbbbb", linewidth=0.7, linestyle=(0, (3, 3)), zorder=1)
    wts = [w for _, w in nbrs] or [1]
    for n, w in nbrs:
        (x2, y2) = pos[n]
        width = 2.5 if max(wts) == min(wts) else _scale(w, min(wts), max(wts), 1.0, 6.0)
        ax.plot([0, x2], [0, y2], color="#444444", linewidth=width, alpha=0.75, zorder=2)
        ax.text(
            x2 * 0.55,
            y2 * 0.55,
            str(w),
            fontsize=9,
            ha="center",
            va="center",
            zorder=4,
            bbox=dict(boxstyle="round,pad=0.2", fc="white", ec="#999999", lw=0.5),
        )

    status_colour = {"top": "#2ca02c", "linked": "#1f77b4", "new": "#ff7f0e"}
    rows = {r["node"]: r for r in (comparison or {}).get("ours", [])}
    for n, w in nbrs:
        if comparison is not None:
            r = rows.get(n, {})
            colour = status_colour["top" if r.get("in_reference_top") else "linked" if r.get("in_reference") else "new"]
        else:
            colour = _community_colour(graph.nodes[n].get("community"))
        ax.scatter(
            [pos[n][0]],
            [pos[n][1]],
            s=_scale(w, min(wts), max(wts), 250, 900),
            c=[colour],
            edgecolors="white",
            zorder=3,
        )
        text, lost = node_text(graph, n, rank[n])
        lost_any |= lost
        x, y = pos[n]
        ha = "left" if x > 0.3 else "right" if x < -0.3 else "center"
        va = "bottom" if y > 0.3 else "top" if y < -0.3 else "center"
        ax.text(x * 1.1, y * 1.1, text, ha=ha, va=va, fontsize=10, family=family, zorder=5)
    ax.scatter([0], [0], s=1400, c=["#d62728"], edgecolors="white", zorder=3)
    ax.text(
        0,
        -0.17,
        focus_text,
        ha="center",
        va="top",
        fontsize=13,
        family=family,
        zorder=5,
        bbox=dict(boxstyle="round,pad=0.2", fc="white", ec="none", alpha=0.8),
    )
    if comparison is not None:
        k = comparison.get("top", top)
        legend = {
            "top": f"also in the reference's top {k}",
            "linked": "linked in the reference, lower",
            "new": "new: not linked in the reference",
        }
        handles = [
            Line2D([], [], marker="o", linestyle="", markersize=9, color=status_colour[key], label=text)
            for key, text in legend.items()
        ]
        ax.legend(handles=handles, loc="lower center", bbox_to_anchor=(0.5, -0.06), ncol=3, fontsize=9, frameon=False)
    ax.set_xlim(-1.9, 1.9)
    ax.set_ylim(-1.45, 1.45)
    if lost_any:
        fig.text(
            0.01,
            0.005,
            "no CJK font found: Chinese characters shown as …, #N = row N of nodes.csv",
            fontsize=8,
            color="#555555",
        )
    _save(fig, path, dpi)
    return Path(path)
