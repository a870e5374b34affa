"""Experiments over several trained models: :mod:`.compare` (``mrc-ner compare``, the methods × folds grid)."""
