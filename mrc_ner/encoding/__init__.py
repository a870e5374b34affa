"""Encoding layer: the encoder registry, tokenization and alignment, windows, batching.

Submodules are imported directly (``from mrc_ner.encoding.encoders import load_encoder``);
nothing is imported here so that ``import mrc_ner.encoding`` does not pull in torch.
"""
