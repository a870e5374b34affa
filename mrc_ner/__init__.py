"""mrc-ner: biomedical named entity recognition as machine reading comprehension.

From Python, three lines (a model directory, or a Hugging Face hub id where the hub is
reachable)::

    import mrc_ner
    tagger = mrc_ner.load("runs/model")           # device="cpu"|"cuda"|"auto", quantize, batch_size
    tagger("检测BRCA1突变")                         # [Entity(start=2, end=7, label='gene', text='BRCA1', score=…)]

``tagger(["text one", "text two"])`` gives one list per text; offsets are characters
into the string given, ``end`` exclusive; multi-line documents are cleaned and split
into sentences as ``mrc-ner extract`` does (:mod:`mrc_ner.inference`, whose doctest
runs these lines on a tiny model).

Layers, in the order data flows through them:

* :mod:`mrc_ner.corpus` – spans, sentences, documents; readers, writers, tag schemes,
  folds, cleaning and post-processing.
* :mod:`mrc_ner.encoding` – encoder registry, tokenization/alignment, windows, batching.
* :mod:`mrc_ner.models` – the tagger base class and every method (mrc, softmax, crf, …).
* :mod:`mrc_ner.decoding` – logits → spans.
* :mod:`mrc_ner.inference` – load a model for inference; raw text → entities with original offsets.
* :mod:`mrc_ner.evaluation` – entity-level scores, their aggregation over folds, and paired tests between systems.
* :mod:`mrc_ner.mining` – extraction over large corpora, statistics, co-occurrence networks.
* :mod:`mrc_ner.cli` – the ``mrc-ner`` command line.

Names are imported lazily: ``import mrc_ner`` loads neither torch nor transformers.
"""

from __future__ import annotations

from importlib import import_module
from typing import Any

__version__ = "0.1.0"

#: public name → the module that defines it
_LAZY = {
    "load": "mrc_ner.inference",
    "load_model": "mrc_ner.inference",
    "Pipeline": "mrc_ner.inference",
    "Entity": "mrc_ner.inference",
    "InputError": "mrc_ner.errors",
    "Span": "mrc_ner.corpus.model",
    "Sentence": "mrc_ner.corpus.model",
    "Document": "mrc_ner.corpus.model",
    "Tagger": "mrc_ner.models.base",
    "read_corpus": "mrc_ner.corpus.conll",
}

__all__ = ["__version__", *_LAZY]


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'mrc_ner' has no attribute {name!r}")
    value = getattr(import_module(module), name)
    globals()[name] = value  # later lookups skip this function
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_LAZY))
