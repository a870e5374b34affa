"""mrc-ner: biomedical named entity recognition as machine reading comprehension.

Layers, in the order data flows through them:

* :mod:`mrc_ner.corpus` – spans, sentences, documents; readers, writers, tag schemes,
  folds, cleaning and post-processing.
* :mod:`mrc_ner.encoding` – encoder registry, tokenization/alignment, windows, batching.
* :mod:`mrc_ner.models` – the tagger base class and every method (mrc, softmax, crf, …).
* :mod:`mrc_ner.decoding` – logits → spans.
* :mod:`mrc_ner.evaluation` – entity-level scores and their aggregation over folds.
* :mod:`mrc_ner.mining` – extraction over large corpora, statistics, co-occurrence networks.
* :mod:`mrc_ner.cli` – the ``mrc-ner`` command line.
"""

__version__ = "0.1.0"
