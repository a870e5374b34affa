"""Corpus mining: what the recognised entities say about the documents.

* :mod:`mrc_ner.mining.extract` — streaming, resumable, shardable extraction of a
  corpus of any size to ``entities.jsonl`` (:func:`~mrc_ner.mining.extract.run_extraction`),
  with statistics and the network of the result.
* :mod:`mrc_ner.mining.network` — the gene–gene co-occurrence network (nodes are
  normalised mentions, edges link mentions that occur within a window of sentences
  of the same document, weights count documents), thresholds, communities, ego
  networks and the comparison of a node's neighbours with a reference network
  such as STRING; written as GraphML, GEXF, CSV and a PNG
  (:func:`~mrc_ner.mining.network.network_from_files`, :func:`~mrc_ner.mining.network.write_outputs`).
* :mod:`mrc_ner.mining.drawing` — the PNG drawings (matplotlib, Agg backend).
"""
