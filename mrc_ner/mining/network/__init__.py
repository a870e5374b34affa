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

Running the whole pipeline
--------------------------
:func:`network_from_files` reads mentions from files, builds the network and, with a
focus node, its neighbours and the comparison with a reference; :func:`write_outputs`
writes everything (what ``mrc-ner network`` does between parsing and printing).

Modules
-------
:mod:`.mentions`, :mod:`.normalize`, :mod:`.graph`, :mod:`.ego`, :mod:`.reference`,
:mod:`.output` and :mod:`.pipeline`; the drawings are :mod:`mrc_ner.mining.drawing`.

>>> ms = [Mention("d1", 0, "gene", "BRCA1"), Mention("d1", 1, "gene", "TP53基因")]
>>> g = build_network(ms)
>>> sorted(g.edges(data="weight"))
[('brca1', 'tp53', 1)]
"""

from mrc_ner.mining.network.ego import ego, ego_file_stem, resolve_node
from mrc_ner.mining.network.graph import (
    add_communities,
    build_network,
    check_types,
    cooccurrence_graph,
    label,
    sorted_nodes,
    summary,
    threshold,
    top_edges,
)
from mrc_ner.mining.network.mentions import (
    Mention,
    is_entities_jsonl,
    mentions_from_corpus,
    read_entities_jsonl,
    read_mentions,
)
from mrc_ner.mining.network.normalize import DEFAULT_NORMALIZE, NO_AFFIXES, NormalizeOptions, normalize_name
from mrc_ner.mining.network.output import output_names, write_network
from mrc_ner.mining.network.pipeline import NetworkResult, network_from_files, write_outputs
from mrc_ner.mining.network.reference import compare_with_reference, read_reference

__all__ = [
    "DEFAULT_NORMALIZE",
    "NO_AFFIXES",
    "Mention",
    "NetworkResult",
    "NormalizeOptions",
    "add_communities",
    "build_network",
    "check_types",
    "compare_with_reference",
    "cooccurrence_graph",
    "ego",
    "ego_file_stem",
    "is_entities_jsonl",
    "label",
    "mentions_from_corpus",
    "network_from_files",
    "normalize_name",
    "output_names",
    "read_entities_jsonl",
    "read_mentions",
    "read_reference",
    "resolve_node",
    "sorted_nodes",
    "summary",
    "threshold",
    "top_edges",
    "write_network",
    "write_outputs",
]
