"""The network pipeline of ``mrc-ner network``, for Python users: files → network → outputs.

>>> from pathlib import Path
>>> import tempfile
>>> d = Path(tempfile.mkdtemp())
>>> _ = (d / "a.tsv").write_text("BRCA1\\tB-gene\\n和\\tO\\nTP53\\tB-gene\\n", encoding="utf-8")
>>> result = network_from_files([d / "a.tsv"], types=("gene",))
>>> sorted(result.graph.edges), result.summary["nodes"]
([('brca1', 'tp53')], 2)
>>> sorted(write_outputs(result, d / "net", draw=False))
['edges', 'gexf', 'graphml', 'nodes', 'summary']
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import networkx as nx

from mrc_ner.errors import InputError
from mrc_ner.io import atomic_write_json
from mrc_ner.mining.network.ego import ego, ego_file_stem, resolve_node
from mrc_ner.mining.network.graph import add_communities, check_types, cooccurrence_graph, label, summary, threshold
from mrc_ner.mining.network.mentions import read_mentions
from mrc_ner.mining.network.normalize import DEFAULT_NORMALIZE, NormalizeOptions
from mrc_ner.mining.network.output import write_network
from mrc_ner.mining.network.reference import compare_with_reference, read_reference

REFERENCE_NEEDS_FOCUS = "--reference compares the neighbours of one node: give it with --focus, e.g. --focus BRCA1"


@dataclass
class NetworkResult:
    """What :func:`network_from_files` found.

    ``full`` is the graph before the threshold, ``graph`` after it (with communities);
    ``summary`` is :func:`~mrc_ner.mining.network.graph.summary` plus, with a focus,
    ``comparison`` (with a reference) and ``focus`` (its heaviest neighbours) — what
    ``summary.json`` holds, ``outputs`` aside. ``focus`` is the focus's node id.
    """

    graph: nx.Graph
    full: nx.Graph
    summary: dict[str, Any]
    focus: str | None = None
    comparison: dict[str, Any] | None = None
    top: int = 10


def _resolve_focus(graph: nx.Graph, full: nx.Graph, focus: str, min_edge_weight: int) -> str:
    """The focus's node id; a focus that only the threshold removed gets an error that says so."""
    try:
        return resolve_node(graph, focus)
    except InputError:
        if min_edge_weight > 1:
            try:
                node = resolve_node(full, focus)
            except InputError:
                pass
            else:
                best = max((d["weight"] for *_, d in full.edges(node, data=True)), default=0)
                raise InputError(
                    f"{focus!r} has no edge of weight ≥ {min_edge_weight} (its heaviest: {best}); lower --min-edge-weight"
                ) from None
        raise


def network_from_files(
    inputs: str | os.PathLike | Sequence[str | os.PathLike],
    *,
    types: Sequence[str] = ("gene",),
    window: int = 2,
    min_edge_weight: int = 1,
    normalize: NormalizeOptions = DEFAULT_NORMALIZE,
    focus: str | None = None,
    top: int = 10,
    reference: str | os.PathLike | None = None,
) -> NetworkResult:
    """The co-occurrence network of the mentions in ``inputs`` (``entities.jsonl`` files or gold corpora).

    Nothing is written. ``types``, ``window``, ``min_edge_weight`` and ``normalize`` are
    :func:`~mrc_ner.mining.network.graph.build_network`'s; ``top`` is how many heaviest
    edges (and neighbours of ``focus``) the summary lists. With ``focus`` (a node name,
    normalised like the nodes) its neighbours are listed, and with ``reference`` (a
    STRING-style edge list) compared with the reference's. Bad input, no mention of
    ``types``, or a focus that is not a node raise :class:`~mrc_ner.errors.InputError`.
    """
    if reference is not None and focus is None:
        raise InputError(REFERENCE_NEEDS_FOCUS)
    mentions = read_mentions(inputs)
    check_types(mentions, types)
    full = cooccurrence_graph(mentions, types=types, window=window, normalize=normalize)
    graph = threshold(full, min_edge_weight)
    add_communities(graph)
    result = NetworkResult(graph, full, summary(graph, top=top), top=top)
    if focus is None:
        return result
    node = _resolve_focus(graph, full, focus, min_edge_weight)
    result.focus = node
    if reference is not None:
        ref = read_reference(reference, normalize=normalize)
        result.comparison = compare_with_reference(graph, ref, node, top=top)
        result.summary["comparison"] = result.comparison
    result.summary["focus"] = {
        "node": node,
        "label": label(graph, node),
        "neighbours": [{"node": n, "label": label(graph, n), "weight": w} for n, w in ego(graph, node, top=top)],
    }
    return result


def write_outputs(result: NetworkResult, out: str | os.PathLike, *, draw: bool = True) -> dict[str, Path]:
    """Write ``result`` into ``out``; return the paths by kind.

    :func:`~mrc_ner.mining.network.output.write_network`'s files, with a focus
    ``comparison.json`` (with a reference) and ``ego_<node>.png`` (``draw``), and last
    ``summary.json``: ``result.summary`` with ``outputs`` (also added to ``result.summary``).
    """
    out = Path(out)
    paths = write_network(result.graph, out, draw=draw)
    if result.focus is not None:
        if result.comparison is not None:
            paths["comparison"] = out / "comparison.json"
            atomic_write_json(paths["comparison"], result.comparison)
        if draw:
            from mrc_ner.mining.drawing import draw_ego

            stem = ego_file_stem(result.graph, result.focus)
            paths["ego"] = draw_ego(
                result.graph, result.focus, out / f"{stem}.png", top=result.top, comparison=result.comparison
            )
    paths["summary"] = out / "summary.json"
    result.summary["outputs"] = {k: str(p) for k, p in paths.items()}
    atomic_write_json(paths["summary"], result.summary)
    return paths
