"""The gene–gene co-occurrence network: the knowledge-discovery step of the patents paper.

From mentions to a network
--------------------------
A :class:`Mention` is ``(doc, sentence, label, text)``: which document, the index of
the sentence in that document (0, 1, …), the entity type and the mention text. They
come from an ``entities.jsonl`` written by extraction (:func:`read_entities_jsonl`) or
from gold annotations (:func:`mentions_from_corpus`).

* **Nodes** are the normalised mentions of the chosen types (:func:`normalize_name`
  says exactly how ``"BRCA-1"``, ``"brca1"`` and ``"BRCA1基因"`` become ``"brca1"``).
  Attributes: ``label`` (the most frequent surface form, for display), ``type`` (the
  most frequent entity type), ``weight`` (the number of documents the node occurs
  in), ``mentions`` (the number of mentions) and, after :func:`add_communities`,
  ``community`` (0 is the largest community).
* **Edges** link two distinct nodes that occur *within a window of sentences of the
  same document*: with sentence indices ``i`` and ``j``, ``|i - j| < window``. So
  ``window=1`` is "in the same sentence" and the default ``window=2`` (the paper's)
  is "in the same sentence or in adjacent sentences"; two sentences apart
  (``|i - j| = 2``) is not linked. An edge's ``weight`` is the number of documents
  in which the pair co-occurs, each document counted once however often the pair
  occurs in it. ``cooccurrences`` counts the sentence pairs ``(i, j)`` within the
  window that hold the two (all documents; a finer measure that breaks ties).
* **Threshold**: :func:`threshold` keeps the edges of weight ≥ ``min_edge_weight``
  (the paper used 2 and 3) and drops the nodes left without an edge. It is applied
  at every threshold, 1 included, so a network never holds isolated nodes: a
  mention that co-occurs with nothing is not part of the network.
* **Communities**: greedy modularity (edge weights used) on the thresholded graph.

The outputs (:func:`write_network`) are GraphML, GEXF, ``edges.csv``, ``nodes.csv``
and a PNG, each written atomically.

Ego networks and the reference
------------------------------
:func:`ego` lists the heaviest neighbours of a node; :func:`read_reference` reads a
STRING-style edge list and :func:`compare_with_reference` compares a node's top
neighbours in both (the paper's Figure 3): how many of ours are also in the
reference's top-k, and which of ours the reference does not link at all ("new").

>>> ms = [Mention("d1", 0, "gene", "BRCA1"), Mention("d1", 1, "gene", "TP53基因")]
>>> g = build_network(ms)
>>> sorted(g.edges(data="weight"))
[('brca1', 'tp53', 1)]
"""

from __future__ import annotations

import csv
import difflib
import io
import os
import re
import unicodedata
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import networkx as nx

from mrc_ner.corpus.entities import is_records_file, read_records
from mrc_ner.corpus.model import Corpus
from mrc_ner.errors import InputError
from mrc_ner.io import atomic_write, atomic_write_text

# ----------------------------------------------------------------------------- mentions


@dataclass(frozen=True)
class Mention:
    """One entity mention: document id, sentence index in the document, type, text."""

    doc: str
    sentence: int
    label: str
    text: str


def mentions_from_corpus(corpus: Corpus) -> list[Mention]:
    """The gold spans of a corpus as mentions (sentence index = position in its document)."""
    return [
        Mention(doc.id, i, span.label, sentence.mention(span))
        for doc in corpus.documents
        for i, sentence in enumerate(doc.sentences)
        for span in sentence.spans
    ]


def read_entities_jsonl(path: str | os.PathLike) -> list[Mention]:
    """Read an ``entities.jsonl`` (one entity object per line; blank lines allowed) as mentions.

    Each object: ``{"doc", "sentence", "start", "end", "label", "text", "score"}``;
    ``doc``, ``sentence``, ``label`` and ``text`` are required. The schema and its checks are
    :mod:`mrc_ner.corpus.entities`'; every problem is an :class:`InputError` naming ``path:line``.
    """
    return [Mention(r.doc, r.sentence, r.label, r.text) for r in read_records(path)]


def is_entities_jsonl(path: Path) -> bool:
    """True for a ``.jsonl`` whose first object looks like an entity record (see :func:`~mrc_ner.corpus.entities.is_records_file`)."""
    return is_records_file(path)


def read_mentions(paths: str | os.PathLike | Sequence[str | os.PathLike]) -> list[Mention]:
    """Mentions from ``entities.jsonl`` files and/or gold corpora (files or directories).

    Each file is read by the reader its content calls for: an entity JSONL by
    :func:`read_entities_jsonl`, anything else by :func:`~mrc_ner.corpus.readers.read_corpus`.
    """
    from mrc_ner.corpus.readers import list_corpus_files, read_corpus

    if isinstance(paths, (str, os.PathLike)):
        paths = [paths]
    out: list[Mention] = []
    for raw in paths:
        p = Path(raw)
        if not p.exists():
            raise InputError("no such file or directory", path=p)
        for f in list_corpus_files(p) if p.is_dir() else [p]:
            out.extend(read_entities_jsonl(f) if is_entities_jsonl(f) else mentions_from_corpus(read_corpus(f)))
    return out


# ----------------------------------------------------------------------------- normalisation


@dataclass(frozen=True)
class NormalizeOptions:
    """How mention texts become node ids; see :func:`normalize_name`."""

    nfkc: bool = True
    casefold: bool = True
    fold_separators: bool = True
    strip_suffixes: tuple[str, ...] = ("基因", "gene")
    strip_prefixes: tuple[str, ...] = ("基因",)

    def to_attrs(self) -> dict[str, Any]:
        """Scalar graph attributes (GraphML-compatible) recording these options."""
        return {
            "normalize_nfkc": self.nfkc,
            "normalize_casefold": self.casefold,
            "normalize_fold_separators": self.fold_separators,
            "normalize_strip_suffixes": "|".join(self.strip_suffixes),
            "normalize_strip_prefixes": "|".join(self.strip_prefixes),
        }

    @classmethod
    def from_graph(cls, graph: nx.Graph) -> NormalizeOptions:
        """The options a graph was built with (defaults for a graph that does not say)."""
        a = graph.graph
        if "normalize_nfkc" not in a:
            return cls()

        def split(key: str) -> tuple[str, ...]:
            return tuple(x for x in str(a.get(key, "")).split("|") if x)

        return cls(
            nfkc=bool(a["normalize_nfkc"]),
            casefold=bool(a.get("normalize_casefold", True)),
            fold_separators=bool(a.get("normalize_fold_separators", True)),
            strip_suffixes=split("normalize_strip_suffixes"),
            strip_prefixes=split("normalize_strip_prefixes"),
        )


DEFAULT_NORMALIZE = NormalizeOptions()
NO_AFFIXES = NormalizeOptions(strip_suffixes=(), strip_prefixes=())

# Separators folded away: whitespace, '-', '_' and the Unicode hyphens and dashes.
_SEPARATOR_CHARS = "-_\u00ad\u2010\u2011\u2012\u2013\u2014\u2015\u2212\u30fc"
_SEPARATORS = re.compile(rf"[\s{re.escape(_SEPARATOR_CHARS)}]+")
_BRACKETS = {"(": ")", "[": "]", "{": "}", "（": "）", "【": "】", "［": "］", "｛": "｝", "〔": "〕"}
_CLOSERS = {v: k for k, v in _BRACKETS.items()}


def _is_han(ch: str) -> bool:
    return "\u3400" <= ch <= "\u9fff" or "\uf900" <= ch <= "\ufaff" or "\U00020000" <= ch <= "\U0002fa1f"


def _is_edge_junk(ch: str) -> bool:
    return ch.isspace() or unicodedata.category(ch).startswith("P")


def _wrapped(s: str) -> bool:
    """True when the bracket at ``s[0]`` is closed by ``s[-1]`` ("(BRCA1)", not "(CH2)2NH(x)")."""
    if len(s) < 2 or s[0] not in _BRACKETS or s[-1] != _BRACKETS[s[0]]:
        return False
    depth = 0
    for i, ch in enumerate(s):
        depth += (ch == s[0]) - (ch == s[-1])
        if depth == 0:
            return i == len(s) - 1
    return False


def _strip_edges(s: str) -> str:
    """Strip whitespace and punctuation from both ends, but not a bracket closed (opened) inside."""
    while True:
        before = s
        while s and _is_edge_junk(s[0]) and not (s[0] in _BRACKETS and _BRACKETS[s[0]] in s[1:]):
            s = s[1:]
        while s and _is_edge_junk(s[-1]) and not (s[-1] in _CLOSERS and _CLOSERS[s[-1]] in s[:-1]):
            s = s[:-1]
        if _wrapped(s):
            s = s[1:-1]
        if s == before:
            return s


def _at_boundary(affix: str, neighbour: str) -> bool:
    """May ``affix`` be cut off where ``neighbour`` is the character of the stem beside it?

    A Han affix (基因) goes when its neighbour is not Han ("BRCA1基因", not "癌基因");
    any other affix (gene) only after a separator ("BRCA1 gene", "BRCA1-gene", not "transgene").
    """
    if _is_han(affix[0] if affix else ""):
        return not _is_han(neighbour)
    return neighbour.isspace() or neighbour in _SEPARATOR_CHARS


def _strip_affixes(s: str, options: NormalizeOptions, fold: Any) -> str:
    for suffix in sorted({fold(x).strip() for x in options.strip_suffixes} - {""}, key=len, reverse=True):
        if s.endswith(suffix) and len(s) > len(suffix) and _at_boundary(suffix, s[-len(suffix) - 1]):
            stem = _strip_edges(s[: -len(suffix)])
            if any(c.isalnum() for c in stem):
                s = stem
                break
    for prefix in sorted({fold(x).strip() for x in options.strip_prefixes} - {""}, key=len, reverse=True):
        if s.startswith(prefix) and len(s) > len(prefix) and _at_boundary(prefix, s[len(prefix)]):
            stem = _strip_edges(s[len(prefix) :])
            if any(c.isalnum() for c in stem):
                s = stem
                break
    return s


def normalize_name(text: str, options: NormalizeOptions = DEFAULT_NORMALIZE) -> str:
    """The node id of a mention text. The rule, step by step:

    1. NFKC (``nfkc``): full-width letters, digits and brackets become half-width
       (``"ＢＲＣＡ１"`` → ``"BRCA1"``), ligatures and ``™`` are spelled out.
    2. Case folding (``casefold``): ``"BRCA1"`` → ``"brca1"``.
    3. Whitespace and punctuation around the mention are stripped (a bracket is
       kept when its partner is inside: ``"(CH2)2"``, ``"尿嘧啶(U)"``; brackets
       around the whole mention go: ``"(BRCA1)"``).
    4. One suffix of ``strip_suffixes`` (default 基因, gene) and one prefix of
       ``strip_prefixes`` (default 基因) are cut off, at a word boundary only: a Han
       affix when the character beside it is not Han (``"BRCA1基因"`` → ``"brca1"``,
       ``"基因HER2"`` → ``"her2"``, but ``"癌基因"`` stays), a Latin affix only after a
       separator (``"BRCA1 gene"``, ``"BRCA1-gene"``, not ``"transgene"``), and only
       when letters or digits remain. 蛋白/protein are not stripped by default
       (``"白蛋白"``, albumin, would lose its meaning); add them to the list to
       strip them.
    5. Separators are folded away (``fold_separators``): runs of whitespace, ``-``,
       ``_`` and Unicode hyphens/dashes are deleted, so ``"BRCA-1"``, ``"BRCA 1"``
       and ``"brca1"`` are one node (the Chinese corpus wrote spaces as ``-``).
       Without folding, whitespace runs become one space.

    An empty result means the mention has no name (it is skipped).

    >>> [normalize_name(t) for t in ["BRCA-1", "ＢＲＣＡ１ gene", "BRCA1基因", "癌基因"]]
    ['brca1', 'brca1', 'brca1', '癌基因']
    """

    def fold(s: str) -> str:
        if options.nfkc:
            s = unicodedata.normalize("NFKC", s)
        return s.casefold() if options.casefold else s

    s = _strip_edges(fold(text))
    s = _strip_affixes(s, options, fold)
    return _SEPARATORS.sub("", s) if options.fold_separators else re.sub(r"\s+", " ", s)


# ----------------------------------------------------------------------------- the network


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


def _edge_order(graph: nx.Graph) -> list[tuple[str, str, dict]]:
    """Edges ``(a, b, data)`` with ``a < b``: heaviest first, then most co-occurrences, then by id."""
    edges = [(a, b, d) if a < b else (b, a, d) for a, b, d in graph.edges(data=True)]
    return sorted(edges, key=lambda e: (-e[2]["weight"], -e[2].get("cooccurrences", 0), e[0], e[1]))


def top_edges(graph: nx.Graph, n: int = 10) -> list[tuple[str, str, int]]:
    """The ``n`` heaviest edges ``(source, target, weight)``; ties go to more co-occurrences, then ids."""
    return [(a, b, d["weight"]) for a, b, d in _edge_order(graph)[:n]]


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
            for s, t, d in _edge_order(graph)[:top]
        ],
    }


# ----------------------------------------------------------------------------- ego network, reference


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


def ego_graph(graph: nx.Graph, focus: str, *, top: int = 10) -> nx.Graph:
    """The subgraph of ``focus`` and its ``top`` heaviest neighbours (edges among them included)."""
    node = resolve_node(graph, focus)
    sub = graph.subgraph([node, *(n for n, _ in ego(graph, node, top=top))]).copy()
    sub.graph["focus"] = node
    return sub


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


# ----------------------------------------------------------------------------- output


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
    edges = [(a, b, d["weight"], d.get("cooccurrences", "")) for a, b, d in _edge_order(graph)]
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


def ego_file_stem(graph: nx.Graph, focus: str) -> str:
    """``ego_<node>`` with characters unsafe in a file name replaced by ``_``."""
    node = resolve_node(graph, focus)
    return "ego_" + (re.sub(r"[^\w.+]+", "_", node).strip("_.") or "node")
