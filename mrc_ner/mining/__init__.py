"""Corpus mining: what the recognised entities say about the documents.

* :mod:`mrc_ner.mining.network` — the gene–gene co-occurrence network (nodes are
  normalised mentions, edges link mentions that occur within a window of sentences
  of the same document, weights count documents), thresholds, communities, ego
  networks and the comparison of a node's neighbours with a reference network
  such as STRING; written as GraphML, GEXF, CSV and a PNG.
* :mod:`mrc_ner.mining.drawing` — the PNG drawings (matplotlib, Agg backend).
"""
