"""JSONL corpora: one object per sentence or per document.

Sentence objects: ``{"id", "text", "entities": [{"start", "end", "label", "text", "score"?}]}``
(entity objects as :mod:`mrc_ner.corpus.entities` defines and checks them).
Document objects add ``"sentences": [<sentence objects>]`` (their ``start``/``end`` are
relative to the sentence) and may omit ``entities``. Offsets are characters, ``end`` exclusive.
JSONL sentences are character-level (every character a token).
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any, Iterable

from mrc_ner.corpus import entities
from mrc_ner.corpus.conll import read_text_lines
from mrc_ner.corpus.model import Document, Sentence, Span
from mrc_ner.errors import InputError, shorten


def span_to_dict(sentence: Sentence, span: Span, *, offset: int = 0) -> dict:
    """The JSON form of an entity; ``offset`` shifts start/end (e.g. into document text)."""
    return entities.span_to_dict(sentence.mention(span), span, offset=offset)


def sentence_to_dict(sentence: Sentence) -> dict:
    """The JSON form of a sentence."""
    return {"id": sentence.id, "text": sentence.text, "entities": [span_to_dict(sentence, s) for s in sentence.spans]}


def document_to_dict(doc: Document) -> dict:
    """The JSON form of a document, with its sentences."""
    return {"id": doc.id, "text": doc.text, "sentences": [sentence_to_dict(s) | {"offset": s.offset} for s in doc.sentences]}


def _sentence_from_obj(obj: Any, path: Path, lineno: int, default_id: str) -> Sentence:
    if not isinstance(obj, dict):
        raise InputError(f'each sentence must be a JSON object with "text", not {shorten(repr(obj))}', path=path, line=lineno)
    text = obj.get("text")
    if not isinstance(text, str):
        raise InputError(f'each object needs a string "text", not {shorten(repr(text))}', path=path, line=lineno)
    ents = obj.get("entities", [])
    if not isinstance(ents, list):
        raise InputError(f'"entities" must be a list of entity objects, not {shorten(repr(ents))}', path=path, line=lineno)
    spans = [entities.parse_span(ent, text, path=path, line=lineno) for ent in ents]
    return Sentence.from_text(text, sorted(spans), id=str(obj.get("id", default_id)))


def _refuse_records(obj: dict, path: Path, lineno: int) -> None:
    if entities.looks_like_record(obj) and "text" in obj and "start" in obj:
        raise InputError(
            "this is an entities.jsonl written by extraction (one entity per line, no sentence text), not a corpus; "
            "build its network with `mrc-ner network`, or its statistics are in the extraction's stats.json",
            path=path, line=lineno,
        )


def read_jsonl(path: str | os.PathLike) -> list[Document]:
    """Read a JSONL file. Sentence-level objects form one document named after the file."""
    path = Path(path)
    docs: list[Document] = []
    loose: list[Sentence] = []
    lines = read_text_lines(path)
    for lineno, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            obj = json.loads(line)
        except json.JSONDecodeError as e:
            raise InputError(f"invalid JSON: {e.msg}", path=path, line=lineno) from None
        if not isinstance(obj, dict):
            raise InputError("each line must be a JSON object", path=path, line=lineno)
        _refuse_records(obj, path, lineno)
        if "sentences" in obj:
            did = str(obj.get("id", f"{path.stem}#{len(docs)}"))
            if not isinstance(obj["sentences"], list):
                raise InputError(f'"sentences" must be a list of sentence objects, not {shorten(repr(obj["sentences"]))}', path=path, line=lineno)
            sents = [_sentence_from_obj(s, path, lineno, f"{did}:{j}") for j, s in enumerate(obj["sentences"])]
            docs.append(Document(did, sents))
        else:
            loose.append(_sentence_from_obj(obj, path, lineno, f"{path.stem}:{len(loose)}"))
    if loose:
        docs.append(Document(path.stem, loose))
    if not docs:
        raise InputError("empty file: no JSON objects found", path=path)
    return docs


def format_jsonl(documents: Iterable[Document], *, per: str = "sentence") -> str:
    """JSONL text with one object per sentence (``per="sentence"``) or per document."""
    rows = []
    for d in documents:
        if per == "document":
            rows.append(document_to_dict(d))
        else:
            rows.extend(sentence_to_dict(s) for s in d.sentences)
    return "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows)


def write_jsonl(documents: Iterable[Document], path: str | os.PathLike, *, per: str = "sentence") -> None:
    """Write documents as JSONL atomically."""
    from mrc_ner.io import atomic_write_text

    atomic_write_text(path, format_jsonl(documents, per=per))
