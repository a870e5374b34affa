"""A reference network (STRING-style edge list) and the comparison of a node's neighbours with it (Figure 3)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import networkx as nx

from mrc_ner.errors import InputError
from mrc_ner.mining.network.ego import ego, resolve_node
from mrc_ner.mining.network.graph import label
from mrc_ner.mining.network.normalize import DEFAULT_NORMALIZE, NormalizeOptions, normalize_name


def _split_reference_line(line: str) -> list[str]:
    return [c.strip() for c in line.split("\t")] if "\t" in line else line.split()


def _is_number(s: str) -> bool:
    try:
        float(s)
    except ValueError:
        return False
    return True


def read_reference(path: str | os.PathLike, *, normalize: NormalizeOptions = DEFAULT_NORMALIZE) -> nx.Graph:
    """Read a STRING-style edge list into a graph whose edges carry ``score``.

    Tab-separated (runs of spaces when a line has no tab): the first two columns are
    names, the score is the ``combined_score`` or ``score`` column of a header when
    there is one, else the last column. The first line is a header when its score
    column is not a number (STRING's ``#node1 node2 … combined_score``). Names are
    normalised like the network's nodes; a pair listed twice keeps its highest score;
    lines starting with ``#`` after the first, and blank lines, are skipped.
    """
    from mrc_ner.io import read_text_lines

    path = Path(path)
    lines = read_text_lines(path)
    score_col = -1
    first = True
    g = nx.Graph()
    for lineno, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        cols = _split_reference_line(line)
        if first:
            first = False
            if len(cols) >= 3 and not _is_number(cols[-1]):  # a header
                names = [c.lstrip("#").strip().casefold() for c in cols]
                score_col = next((names.index(k) for k in ("combined_score", "score") if k in names), len(cols) - 1)
                continue
        if line.startswith("#"):
            continue
        if len(cols) < 3:
            raise InputError(
                f"expected two names and a score, found {len(cols)} column(s): {line!r}", path=path, line=lineno
            )
        try:
            score = float(cols[score_col])
        except (ValueError, IndexError):
            raise InputError(f"score is not a number: {line!r}", path=path, line=lineno) from None
        a, b = normalize_name(cols[0], normalize), normalize_name(cols[1], normalize)
        if not a or not b:
            raise InputError(f"empty name: {line!r}", path=path, line=lineno)
        for key, raw in ((a, cols[0]), (b, cols[1])):
            if key not in g:
                g.add_node(key, label=raw)
        if a != b and (not g.has_edge(a, b) or g.edges[a, b]["score"] < score):
            g.add_edge(a, b, score=score)
    if g.number_of_edges() == 0:
        raise InputError("no edges found (expected lines: name1<TAB>name2<TAB>score)", path=path)
    return g


def compare_with_reference(graph: nx.Graph, reference: nx.Graph, focus: str, *, top: int = 10) -> dict[str, Any]:
    """Compare the ``top`` neighbours of ``focus`` in our network and in ``reference`` (Figure 3).

    Returns ``ours`` (our top-k with ``in_reference_top`` and ``in_reference``),
    ``reference`` (its top-k by score with ``in_ours``: linked to the focus in our
    network at all), ``overlap`` (how many of our top-k are in the reference's top-k)
    and ``new`` (our top-k neighbours that the reference does not link to the focus).
    """
    node = resolve_node(graph, focus)
    ours = ego(graph, node, top=top)
    in_ref = node in reference
    ref_nbrs = sorted(
        ((n, float(reference.edges[node, n]["score"])) for n in reference.neighbors(node)) if in_ref else [],
        key=lambda x: (-x[1], x[0]),
    )
    ref_all = {n for n, _ in ref_nbrs}
    ref_top = [n for n, _ in ref_nbrs[:top]]
    ours_rows = [
        {
            "node": n,
            "label": label(graph, n),
            "weight": w,
            "in_reference_top": n in ref_top,
            "in_reference": n in ref_all,
        }
        for n, w in ours
    ]
    ref_rows = [
        {
            "node": n,
            "label": str(reference.nodes[n].get("label", n)),
            "score": s,
            "in_ours": graph.has_edge(node, n) if n in graph else False,
        }
        for n, s in ref_nbrs[:top]
    ]
    return {
        "focus": label(graph, node),
        "node": node,
        "top": top,
        "focus_in_reference": in_ref,
        "ours": ours_rows,
        "reference": ref_rows,
        "overlap": sum(r["in_reference_top"] for r in ours_rows),
        "overlap_nodes": [r["label"] for r in ours_rows if r["in_reference_top"]],
        "new": [r["label"] for r in ours_rows if not r["in_reference"]],
    }
