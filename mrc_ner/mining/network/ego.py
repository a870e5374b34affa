"""A node of the network by name (normalised like the nodes) and its heaviest neighbours."""

from __future__ import annotations

import difflib
import re

import networkx as nx

from mrc_ner.errors import InputError
from mrc_ner.mining.network.graph import label, sorted_nodes
from mrc_ner.mining.network.normalize import NormalizeOptions, normalize_name


def _close_matches(graph: nx.Graph, key: str, focus: str) -> list[str]:
    labels = {label(graph, n).casefold(): n for n in graph.nodes}
    hits = difflib.get_close_matches(key, list(graph.nodes), n=5, cutoff=0.6)
    hits += [labels[x] for x in difflib.get_close_matches(focus.casefold(), list(labels), n=5, cutoff=0.6)]
    hits += [n for n in sorted_nodes(graph) if key and (key in n or n in key) and len(n) > 1]
    return [label(graph, n) for n in dict.fromkeys(hits)][:5]


def resolve_node(graph: nx.Graph, focus: str) -> str:
    """The node id of ``focus`` (normalised as the graph's nodes were), or :class:`InputError`."""
    key = normalize_name(focus, NormalizeOptions.from_graph(graph))
    if key in graph:
        return key
    for n in graph.nodes:
        if label(graph, n).casefold() == focus.strip().casefold():
            return n
    close = _close_matches(graph, key, focus)
    hint = f"; close matches: {', '.join(close)}" if close else ""
    raise InputError(f"{focus!r} is not a node of the network ({graph.number_of_nodes()} nodes){hint}")


def ego(graph: nx.Graph, focus: str, *, top: int = 10) -> list[tuple[str, int]]:
    """The ``top`` heaviest neighbours ``(node id, edge weight)`` of ``focus``.

    Ties go to more co-occurrences, then by label. ``focus`` is normalised as the
    nodes were ("BRCA1基因" finds ``brca1``).
    """
    node = resolve_node(graph, focus)
    edges = graph.adj[node]
    nbrs = sorted(edges, key=lambda n: (-edges[n]["weight"], -edges[n].get("cooccurrences", 0), label(graph, n), n))
    return [(n, int(edges[n]["weight"])) for n in nbrs[:top]]


def ego_file_stem(graph: nx.Graph, focus: str) -> str:
    """``ego_<node>`` with characters unsafe in a file name replaced by ``_``."""
    node = resolve_node(graph, focus)
    return "ego_" + (re.sub(r"[^\w.+]+", "_", node).strip("_.") or "node")
