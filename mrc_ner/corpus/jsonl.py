"""JSONL corpora: one object per sentence or per document.

Sentence objects: ``{"id", "text", "entities": [{"start", "end", "label", "text", "score"?}]}``.
Document objects add ``"sentences": [<sentence objects>]`` (their ``start``/``end`` are
relative to the sentence) and may omit ``entities``. Offsets are characters, ``end`` exclusive.
JSONL sentences are character-level (every character a token).
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Iterable

from mrc_ner.corpus.model import Document, Sentence, Span
from mrc_ner.corpus.conll import read_text_lines
from mrc_ner.errors import InputError


def span_to_dict(sentence: Sentence, span: Span, *, offset: int = 0) -> dict:
    """The JSON form of an entity; ``offset`` shifts start/end (e.g. into document text)."""
    d = {"start": span.start + offset, "end": span.end + offset, "label": span.label, "text": sentence.mention(span)}
    if span.score is not None:
        d["score"] = round(float(span.score), 6)
    return d


def sentence_to_dict(sentence: Sentence) -> dict:
    """The JSON form of a sentence."""
    return {"id": sentence.id, "text": sentence.text, "entities": [span_to_dict(sentence, s) for s in sentence.spans]}


def document_to_dict(doc: Document) -> dict:
    """The JSON form of a document, with its sentences."""
    return {"id": doc.id, "text": doc.text, "sentences": [sentence_to_dict(s) | {"offset": s.offset} for s in doc.sentences]}


def _sentence_from_obj(obj: dict, path: Path, lineno: int, default_id: str) -> Sentence:
    text = obj.get("text")
    if not isinstance(text, str):
        raise InputError('each object needs a string "text"', path=path, line=lineno)
    spans = []
    for ent in obj.get("entities", []):
        try:
            start, end, label = int(ent["start"]), int(ent["end"]), str(ent["label"])
        except (KeyError, TypeError, ValueError):
            raise InputError(f"entity needs integer start, end and a label: {ent!r}", path=path, line=lineno) from None
        if not (0 <= start < end <= len(text)):
            raise InputError(f"entity offsets [{start}, {end}) outside a text of {len(text)} characters", path=path, line=lineno)
        if "text" in ent and ent["text"] != text[start:end]:
            raise InputError(f"entity text {ent['text']!r} differs from text[{start}:{end}] = {text[start:end]!r}", path=path, line=lineno)
        spans.append(Span(start, end, label, ent.get("score")))
    return Sentence.from_text(text, sorted(spans), id=str(obj.get("id", default_id)))


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
        if "sentences" in obj:
            did = str(obj.get("id", f"{path.stem}#{len(docs)}"))
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
