"""The co-occurrence graph: nodes, edges within a window of sentences, threshold, communities, summary."""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from typing import Any

import networkx as nx

from mrc_ner.errors import InputError
from mrc_ner.mining.network.mentions import Mention
from mrc_ner.mining.network.normalize import DEFAULT_NORMALIZE, NormalizeOptions, normalize_name


def _matching_types(types: Iterable[str]) -> set[str]:
    wanted = {t.strip().casefold() for t in types if t.strip()}
    if not wanted:
        raise ValueError("types must name at least one entity type")
    return wanted


def check_types(mentions: Sequence[Mention], types: Iterable[str]) -> None:
    """Raise :class:`InputError` when no mention has one of ``types`` (listing the types there are)."""
    wanted = _matching_types(types)
    present = sorted({m.label for m in mentions})
    if not any(m.label.casefold() in wanted for m in mentions):
        raise InputError(
            f"no mention of type {', '.join(sorted(wanted))} in the input (types there: {', '.join(present) or 'none'})"
        )


def _pairs_within_window(sentences: dict[int, set[str]], window: int) -> Counter:
    """Unordered node pairs ``(a, b)``, ``a < b``, of sentences ``i``, ``j`` with ``|i - j| < window``,
    each with how many such sentence pairs ``(i, j)`` hold them."""
    pairs: Counter = Counter()
    for i, nodes in sentences.items():
        for d in range(window):
            other = sentences.get(i + d)
            if not other:
                continue
            for a in nodes:
                for b in other:
                    if a < b or (a > b and d > 0):
                        pairs[(a, b) if a < b else (b, a)] += 1
    return pairs


def _first_most_common(counter: Counter) -> str:
    """The most frequent key; ties go to the key seen first."""
    best = max(counter.values())
    return next(k for k, n in counter.items() if n == best)


def cooccurrence_graph(
    mentions: Iterable[Mention],
    *,
    types: Sequence[str] = ("gene",),
    window: int = 2,
    normalize: NormalizeOptions = DEFAULT_NORMALIZE,
) -> nx.Graph:
    """All nodes and co-occurrence edges, before any threshold (isolated nodes included).

    Types match case-insensitively. Graph attributes record the options and the
    number of documents that have a mention of the chosen types (``documents``).
    """
    if window < 1:
        raise ValueError(f"window must be at least 1 (1 = same sentence), not {window}")
    wanted = _matching_types(types)
    by_doc: dict[str, dict[int, set[str]]] = defaultdict(lambda: defaultdict(set))
    surface: dict[str, Counter] = defaultdict(Counter)
    kinds: dict[str, Counter] = defaultdict(Counter)
    docs_of: dict[str, set[str]] = defaultdict(set)
    for m in mentions:
        if m.label.casefold() not in wanted:
            continue
        key = normalize_name(m.text, normalize)
        if not key:
            continue
        by_doc[m.doc][m.sentence].add(key)
        surface[key][" ".join(m.text.split())] += 1
        kinds[key][m.label] += 1
        docs_of[key].add(m.doc)

    edge_docs: Counter = Counter()
    edge_times: Counter = Counter()
    for sentences in by_doc.values():
        pairs = _pairs_within_window(sentences, window)
        edge_docs.update(pairs.keys())
        edge_times.update(pairs)

    g = nx.Graph()
    g.graph.update(
        types=",".join(sorted(wanted)),
        window=window,
        documents=len(by_doc),
        **normalize.to_attrs(),
    )
    for key in sorted(surface):
        g.add_node(
            key,
            label=_first_most_common(surface[key]),
            type=_first_most_common(kinds[key]),
            weight=len(docs_of[key]),
            mentions=sum(surface[key].values()),
        )
    for (a, b), n in sorted(edge_docs.items()):
        g.add_edge(a, b, weight=n, cooccurrences=edge_times[a, b])
    return g


def threshold(graph: nx.Graph, min_edge_weight: int = 1) -> nx.Graph:
    """A copy with the edges of weight ≥ ``min_edge_weight``, without the nodes left edgeless."""
    g = nx.Graph()
    g.graph.update(
        graph.graph,
        min_edge_weight=min_edge_weight,
        nodes_before_threshold=graph.number_of_nodes(),
        edges_before_threshold=graph.number_of_edges(),
    )
    kept = [(a, b, d) for a, b, d in graph.edges(data=True) if d["weight"] >= min_edge_weight]
    for n in sorted({n for a, b, _ in kept for n in (a, b)}):
        g.add_node(n, **graph.nodes[n])
    g.add_edges_from((a, b, dict(d)) for a, b, d in kept)
    return g


def add_communities(graph: nx.Graph) -> list[set[str]]:
    """Greedy-modularity communities (edge weights used), largest first, stored as node ``community``."""
    if graph.number_of_edges() == 0:
        communities: list[set[str]] = [{n} for n in graph.nodes]
    else:
        from networkx.algorithms.community import greedy_modularity_communities

        communities = [set(c) for c in greedy_modularity_communities(graph, weight="weight")]
    communities.sort(key=lambda c: (-len(c), min(c)))
    for i, members in enumerate(communities):
        for n in members:
            graph.nodes[n]["community"] = i
    graph.graph["communities"] = len(communities)
    return communities


def build_network(
    mentions: Iterable[Mention],
    *,
    types: Sequence[str] = ("gene",),
    window: int = 2,
    normalize: NormalizeOptions = DEFAULT_NORMALIZE,
    min_edge_weight: int = 1,
) -> nx.Graph:
    """The co-occurrence network: :func:`cooccurrence_graph` → :func:`threshold` → :func:`add_communities`.

    >>> g = build_network([Mention("d", 0, "gene", "A"), Mention("d", 2, "gene", "B")])
    >>> g.number_of_nodes(), g.graph["nodes_before_threshold"]
    (0, 2)
    """
    g = threshold(cooccurrence_graph(mentions, types=types, window=window, normalize=normalize), min_edge_weight)
    add_communities(g)
    return g


def label(graph: nx.Graph, node: str) -> str:
    """The display label of a node (its most frequent surface form)."""
    return str(graph.nodes[node].get("label", node))


def edge_order(graph: nx.Graph) -> list[tuple[str, str, dict]]:
    """Edges ``(a, b, data)`` with ``a < b``: heaviest first, then most co-occurrences, then by id."""
    edges = [(a, b, d) if a < b else (b, a, d) for a, b, d in graph.edges(data=True)]
    return sorted(edges, key=lambda e: (-e[2]["weight"], -e[2].get("cooccurrences", 0), e[0], e[1]))


def top_edges(graph: nx.Graph, n: int = 10) -> list[tuple[str, str, int]]:
    """The ``n`` heaviest edges ``(source, target, weight)``; ties go to more co-occurrences, then ids."""
    return [(a, b, d["weight"]) for a, b, d in edge_order(graph)[:n]]


def sorted_nodes(graph: nx.Graph) -> list[str]:
    """Nodes by weight, then mentions (both descending), then id."""
    return sorted(graph.nodes, key=lambda n: (-graph.nodes[n].get("weight", 0), -graph.nodes[n].get("mentions", 0), n))


def summary(graph: nx.Graph, *, top: int = 10) -> dict[str, Any]:
    """The figures the CLI prints: sizes before/after the threshold, communities, heaviest edges."""
    a = graph.graph
    return {
        "types": a.get("types", ""),
        "window": a.get("window"),
        "min_edge_weight": a.get("min_edge_weight", 1),
        "documents": a.get("documents"),
        "nodes_before_threshold": a.get("nodes_before_threshold", graph.number_of_nodes()),
        "edges_before_threshold": a.get("edges_before_threshold", graph.number_of_edges()),
        "nodes": graph.number_of_nodes(),
        "edges": graph.number_of_edges(),
        "communities": a.get("communities", 0),
        "top_edges": [
            {
                "source": s,
                "target": t,
                "source_label": label(graph, s),
                "target_label": label(graph, t),
                "weight": d["weight"],
                "cooccurrences": d.get("cooccurrences", 0),
            }
            for s, t, d in edge_order(graph)[:top]
        ],
    }
