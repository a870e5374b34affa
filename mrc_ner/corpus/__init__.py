"""Corpus layer: data model, readers/writers, tag schemes, folds, cleaning, post-processing."""

from mrc_ner.corpus.conll import read_conll, write_conll
from mrc_ner.corpus.jsonl import read_jsonl, write_jsonl
from mrc_ner.corpus.model import Corpus, Document, Sentence, Span
from mrc_ner.corpus.readers import detect_format, read_corpus, write_documents

__all__ = [
    "Corpus",
    "Document",
    "Sentence",
    "Span",
    "detect_format",
    "read_conll",
    "read_corpus",
    "read_jsonl",
    "write_conll",
    "write_documents",
    "write_jsonl",
]
