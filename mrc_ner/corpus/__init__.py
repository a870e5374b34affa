"""Corpus layer: data model, readers/writers, tag schemes, folds, cleaning, post-processing."""

from mrc_ner.corpus.model import Corpus, Document, Sentence, Span
from mrc_ner.corpus.conll import read_conll, write_conll
from mrc_ner.corpus.readers import detect_format, read_corpus, write_documents
from mrc_ner.corpus.jsonl import read_jsonl, write_jsonl

__all__ = ["Corpus", "Document", "Sentence", "Span", "read_conll", "read_corpus", "write_conll", "read_jsonl", "write_jsonl", "detect_format", "write_documents"]
