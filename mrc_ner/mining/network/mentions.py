"""Mentions ``(doc, sentence, label, text)``: from extraction's ``entities.jsonl`` or from gold corpora."""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from mrc_ner.corpus.entities import is_records_file, read_records
from mrc_ner.corpus.model import Corpus
from mrc_ner.errors import InputError


@dataclass(frozen=True)
class Mention:
    """One entity mention: document id, sentence index in the document, type, text."""

    doc: str
    sentence: int
    label: str
    text: str


def mentions_from_corpus(corpus: Corpus) -> list[Mention]:
    """The gold spans of a corpus as mentions (sentence index = position in its document)."""
    return [
        Mention(doc.id, i, span.label, sentence.mention(span))
        for doc in corpus.documents
        for i, sentence in enumerate(doc.sentences)
        for span in sentence.spans
    ]


def read_entities_jsonl(path: str | os.PathLike) -> list[Mention]:
    """Read an ``entities.jsonl`` (one entity object per line; blank lines allowed) as mentions.

    Each object: ``{"doc", "sentence", "start", "end", "label", "text", "score"}``;
    ``doc``, ``sentence``, ``label`` and ``text`` are required. The schema and its checks are
    :mod:`mrc_ner.corpus.entities`'; every problem is an :class:`InputError` naming ``path:line``.
    """
    return [Mention(r.doc, r.sentence, r.label, r.text) for r in read_records(path)]


def is_entities_jsonl(path: Path) -> bool:
    """True for a ``.jsonl`` whose first object looks like an entity record (see :func:`~mrc_ner.corpus.entities.is_records_file`)."""
    return is_records_file(path)


def read_mentions(paths: str | os.PathLike | Sequence[str | os.PathLike]) -> list[Mention]:
    """Mentions from ``entities.jsonl`` files and/or gold corpora (files or directories).

    Each file is read by the reader its content calls for: an entity JSONL by
    :func:`read_entities_jsonl`, anything else by :func:`~mrc_ner.corpus.conll.read_corpus`.
    """
    from mrc_ner.corpus.readers import list_corpus_files, read_corpus

    if isinstance(paths, (str, os.PathLike)):
        paths = [paths]
    out: list[Mention] = []
    for raw in paths:
        p = Path(raw)
        if not p.exists():
            raise InputError("no such file or directory", path=p)
        for f in list_corpus_files(p) if p.is_dir() else [p]:
            out.extend(read_entities_jsonl(f) if is_entities_jsonl(f) else mentions_from_corpus(read_corpus(f)))
    return out
