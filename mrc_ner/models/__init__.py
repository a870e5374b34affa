"""Taggers: one base class (:class:`Tagger`), one module per method.

Importing this package registers every method under its name (``mrc``, ``softmax``, …).
"""

from mrc_ner.models import bilstm_crf, crf, hf_softmax, mrc, mrc_packed, softmax  # noqa: F401  (register the methods)
from mrc_ner.models.base import Tagger, load_tagger, method_names, register, tagger_class
from mrc_ner.models.features import Feature

__all__ = ["Feature", "Tagger", "load_tagger", "method_names", "register", "tagger_class"]
