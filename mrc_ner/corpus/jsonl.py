"""JSONL corpora: one object per sentence or per document.

Sentence objects: ``{"id", "text", "entities": [{"start", "end", "label", "text", "score"?}]}``
(entity objects as :mod:`mrc_ner.corpus.entities` defines and checks them).
Document objects add ``"sentences": [<sentence objects>]`` (their ``start``/``end`` are
relative to the sentence) and may omit ``entities``. Offsets are characters, ``end`` exclusive.

Level: a sentence is character-level (every character a token, as in the Chinese
patents) or word-level (words and punctuation marks, as in the English corpora). An
object may say so with ``"level": "char"|"word"`` (a document object for all its
sentences); a first line holding only ``{"level": ...}`` sets it for the whole file.
Otherwise the file's level is detected from its texts (:func:`detect_level`): word
level when most texts are whitespace-separated Latin script. Word tokens are split at
entity boundaries, so every entity keeps its exact offsets.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from mrc_ner.corpus import entities
from mrc_ner.corpus.cleaning import is_latin
from mrc_ner.corpus.model import Document, Sentence, Span, word_tokens
from mrc_ner.errors import InputError, shorten
from mrc_ner.io import read_text_lines


def span_to_dict(sentence: Sentence, span: Span, *, offset: int = 0) -> dict:
    """The JSON form of an entity; ``offset`` shifts start/end (e.g. into document text)."""
    return entities.span_to_dict(sentence.mention(span), span, offset=offset)


def sentence_to_dict(sentence: Sentence) -> dict:
    """The JSON form of a sentence; ``"level"`` where detection would not find it (:func:`looks_word_level`)."""
    d = {"id": sentence.id, "text": sentence.text, "entities": [span_to_dict(sentence, s) for s in sentence.spans]}
    if not sentence.char_level:
        d["level"] = "word"
    elif looks_word_level(sentence.text):  # what detection would take for word level
        d["level"] = "char"
    return d


LEVELS = ("char", "word")


def looks_word_level(text: str) -> bool:
    """Whitespace-separated Latin-script text (English), as opposed to Chinese running text.

    >>> looks_word_level("BRCA1 mutations cause cancer ."), looks_word_level("检测BRCA1突变"), looks_word_level("BRCA1")
    (True, False, False)
    """
    letters = [c for c in text if c.isalpha()]
    if not letters or not any(c.isspace() for c in text.strip()):
        return False
    return sum(map(is_latin, letters)) >= 0.9 * len(letters)


def detect_level(texts: Iterable[str]) -> str:
    """``word`` when most of the texts with letters look word-level (:func:`looks_word_level`), else ``char``."""
    votes = [looks_word_level(t) for t in texts if any(c.isalpha() for c in t)]
    return "word" if votes and sum(votes) * 2 > len(votes) else "char"


def _level_of(obj: dict, default: str, path: Path, lineno: int) -> str:
    level = obj.get("level", default)
    if level not in LEVELS:
        raise InputError(f'"level" must be "char" or "word", not {level!r}', path=path, line=lineno)
    return level


def document_to_dict(doc: Document) -> dict:
    """The JSON form of a document, with its sentences."""
    return {
        "id": doc.id,
        "text": doc.text,
        "sentences": [sentence_to_dict(s) | {"offset": s.offset} for s in doc.sentences],
    }


def _sentence_from_obj(obj: Any, path: Path, lineno: int, default_id: str, level: str = "char") -> Sentence:
    if not isinstance(obj, dict):
        raise InputError(
            f'each sentence must be a JSON object with "text", not {shorten(repr(obj))}', path=path, line=lineno
        )
    level = _level_of(obj, level, path, lineno)
    text = obj.get("text")
    if not isinstance(text, str):
        raise InputError(f'each object needs a string "text", not {shorten(repr(text))}', path=path, line=lineno)
    ents = obj.get("entities", [])
    if not isinstance(ents, list):
        raise InputError(
            f'"entities" must be a list of entity objects, not {shorten(repr(ents))}', path=path, line=lineno
        )
    spans = [entities.parse_span(ent, text, path=path, line=lineno) for ent in ents]
    sid = str(obj.get("id", default_id))
    if level == "word":
        tokens = word_tokens(text, cuts=[b for sp in spans for b in (sp.start, sp.end)])
        return Sentence(text, tokens, sorted(spans), id=sid, char_level=False)
    return Sentence.from_text(text, sorted(spans), id=sid)


def _refuse_records(obj: dict, path: Path, lineno: int) -> None:
    if entities.looks_like_record(obj) and "text" in obj and "start" in obj:
        raise InputError(
            "this is an entities.jsonl written by extraction (one entity per line, no sentence text), not a corpus; "
            "build its network with `mrc-ner network`, or its statistics are in the extraction's stats.json",
            path=path,
            line=lineno,
        )


def read_jsonl(path: str | os.PathLike, *, level: str = "auto") -> list[Document]:
    """Read a JSONL file. Sentence-level objects form one document named after the file.

    ``level`` (``auto``, ``char`` or ``word``) applies to objects without their own
    ``"level"``; ``auto`` takes the file's ``{"level": ...}`` first line, else detects it.
    """
    path = Path(path)
    docs: list[Document] = []
    loose: list[Sentence] = []
    objects: list[tuple[int, dict]] = []
    for lineno, line in enumerate(read_text_lines(path), start=1):
        if not line.strip():
            continue
        try:
            obj = json.loads(line)
        except json.JSONDecodeError as e:
            raise InputError(f"invalid JSON: {e.msg}", path=path, line=lineno) from None
        if not isinstance(obj, dict):
            raise InputError("each line must be a JSON object", path=path, line=lineno)
        objects.append((lineno, obj))
    if objects and set(objects[0][1]) == {"level"}:  # the file's header
        lineno, header = objects.pop(0)
        if level == "auto":
            level = _level_of(header, "char", path, lineno)
    if level == "auto":
        level = detect_level(_texts(objects))
    elif level not in LEVELS:
        raise InputError(f"level must be auto, char or word, not {level!r}", path=path)
    for lineno, obj in objects:
        _refuse_records(obj, path, lineno)
        if "sentences" in obj:
            did = str(obj.get("id", f"{path.stem}#{len(docs)}"))
            if not isinstance(obj["sentences"], list):
                raise InputError(
                    f'"sentences" must be a list of sentence objects, not {shorten(repr(obj["sentences"]))}',
                    path=path,
                    line=lineno,
                )
            doc_level = _level_of(obj, level, path, lineno)
            sents = [
                _sentence_from_obj(s, path, lineno, f"{did}:{j}", doc_level) for j, s in enumerate(obj["sentences"])
            ]
            docs.append(Document(did, sents))
        else:
            loose.append(_sentence_from_obj(obj, path, lineno, f"{path.stem}:{len(loose)}", level))
    if loose:
        docs.append(Document(path.stem, loose))
    if not docs:
        raise InputError("empty file: no JSON objects found", path=path)
    return docs


def _texts(objects: list[tuple[int, dict]]) -> Iterable[str]:
    """The texts whose level is not declared (they decide the file's level)."""
    for _, obj in objects:
        if "level" in obj:
            continue
        if isinstance(obj.get("sentences"), list):
            yield from (
                s["text"]
                for s in obj["sentences"]
                if isinstance(s, dict) and "level" not in s and isinstance(s.get("text"), str)
            )
        elif isinstance(obj.get("text"), str):
            yield obj["text"]


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
