"""Writing a network: GraphML, GEXF, ``edges.csv``, ``nodes.csv`` and the PNG, each atomically."""

from __future__ import annotations

import csv
import io
import os
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import networkx as nx

from mrc_ner.io import atomic_write, atomic_write_text
from mrc_ner.mining.network.graph import edge_order, sorted_nodes


def _graph_for_export(graph: nx.Graph) -> nx.Graph:
    """A copy whose attribute values are plain str/int/float/bool (GraphML and GEXF accept them)."""

    def plain(v: Any) -> Any:
        if isinstance(v, bool):
            return v
        if isinstance(v, int):
            return int(v)
        if isinstance(v, float):
            return float(v)
        if isinstance(v, (list, tuple, set)):
            return ",".join(map(str, v))
        return str(v)

    g = nx.Graph()
    g.graph.update({k: plain(v) for k, v in graph.graph.items() if v is not None})
    for n, d in graph.nodes(data=True):
        g.add_node(str(n), **{k: plain(v) for k, v in d.items() if v is not None})
    for a, b, d in graph.edges(data=True):
        g.add_edge(str(a), str(b), **{k: plain(v) for k, v in d.items() if v is not None})
    return g


def _csv_text(header: Sequence[str], rows: Iterable[Sequence[Any]]) -> str:
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(header)
    w.writerows(rows)
    return buf.getvalue()


def output_names(prefix: str = "network") -> dict[str, str]:
    """File names :func:`write_network` uses: ``edges.csv``/``nodes.csv`` for the default prefix."""
    csv_stem = "" if prefix == "network" else f"{prefix}_"
    return {
        "graphml": f"{prefix}.graphml",
        "gexf": f"{prefix}.gexf",
        "edges": f"{csv_stem}edges.csv",
        "nodes": f"{csv_stem}nodes.csv",
        "png": f"{prefix}.png",
    }


def write_network(
    graph: nx.Graph, out_dir: str | os.PathLike, *, prefix: str = "network", draw: bool = True
) -> dict[str, Path]:
    """Write GraphML, GEXF, ``edges.csv``, ``nodes.csv`` and (``draw``) a PNG; return their paths.

    ``edges.csv``: ``source,target,weight,cooccurrences`` (node ids), heaviest first.
    ``nodes.csv``: ``id,label,type,weight,mentions,community``, heaviest first.
    With another ``prefix`` than ``network`` the CSVs are ``PREFIX_edges.csv`` and
    ``PREFIX_nodes.csv``. Every file is written atomically.
    """
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    paths = {k: out / v for k, v in output_names(prefix).items()}
    export = _graph_for_export(graph)
    atomic_write(paths["graphml"], lambda p: nx.write_graphml(export, p, encoding="utf-8"))
    atomic_write(paths["gexf"], lambda p: nx.write_gexf(export, p, encoding="utf-8"))
    edges = [(a, b, d["weight"], d.get("cooccurrences", "")) for a, b, d in edge_order(graph)]
    atomic_write_text(paths["edges"], _csv_text(["source", "target", "weight", "cooccurrences"], edges))
    node_rows = []
    for n in sorted_nodes(graph):
        d = graph.nodes[n]
        node_rows.append(
            [n, d.get("label", n), d.get("type", ""), d.get("weight", 0), d.get("mentions", 0), d.get("community", "")]
        )
    atomic_write_text(paths["nodes"], _csv_text(["id", "label", "type", "weight", "mentions", "community"], node_rows))
    if draw:
        from mrc_ner.mining.drawing import draw_network

        draw_network(graph, paths["png"])
    else:
        del paths["png"]
    return paths
