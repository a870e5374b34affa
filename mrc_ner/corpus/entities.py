"""The JSON form of an entity, and its validation: one schema for every JSONL reader and writer.

Two shapes share the same field rules:

* a **gold entity** inside a JSONL sentence: ``{"start", "end", "label", "text"?, "score"?}``
  with offsets into that sentence's ``text``;
* an **entity record**, one per line of ``entities.jsonl`` written by extraction:
  ``{"doc", "sentence", "start", "end", "label", "text", "score"}`` with offsets into the
  original document (``doc``) and ``sentence`` the sentence's index in it.

The rules: ``start`` and ``end`` are integers (not floats, strings or booleans) with
``0 ≤ start < end`` (``end`` exclusive, character offsets) and inside the text when the
text is known; ``label`` is a non-empty string; ``text``, when given, is the mention;
``score`` is a number. Every violation is an :class:`~mrc_ner.errors.InputError` naming
``path:line`` and the offending value (cut to a readable length).
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mrc_ner.corpus.model import Span
from mrc_ner.errors import InputError, shorten

#: the fields of an ``entities.jsonl`` record, in the order extraction writes them
RECORD_FIELDS = ("doc", "sentence", "start", "end", "label", "text", "score")


@dataclass(frozen=True)
class EntityRecord:
    """One line of ``entities.jsonl``: a mention at ``[start, end)`` of document ``doc``."""

    doc: str
    sentence: int
    start: int | None
    end: int | None
    label: str
    text: str
    score: float | None = None

    def to_dict(self) -> dict[str, Any]:
        """The JSON object written to ``entities.jsonl``."""
        return {
            "doc": self.doc,
            "sentence": self.sentence,
            "start": self.start,
            "end": self.end,
            "label": self.label,
            "text": self.text,
            "score": self.score,
        }

    def to_line(self) -> bytes:
        """The record as one UTF-8 JSON line (with its newline)."""
        return (json.dumps(self.to_dict(), ensure_ascii=False) + "\n").encode("utf-8")


def _is_int(x: Any) -> bool:
    return isinstance(x, int) and not isinstance(x, bool)


def _is_number(x: Any) -> bool:
    return isinstance(x, (int, float)) and not isinstance(x, bool)


def check_label(label: Any, *, path: str | os.PathLike | None = None, line: int | None = None) -> str:
    """``label`` if it is a non-empty string, else an InputError (``""``, null, numbers, lists…)."""
    if not isinstance(label, str) or not label.strip():
        raise InputError(f'"label" must be a non-empty string, not {shorten(repr(label))}', path=path, line=line)
    return label


def check_offsets(
    start: Any, end: Any, *, length: int | None = None, path: str | os.PathLike | None = None, line: int | None = None
) -> tuple[int, int]:
    """``(start, end)`` if they are integer character offsets with 0 ≤ start < end (≤ ``length``)."""
    if not (_is_int(start) and _is_int(end)) or not 0 <= start < end:
        raise InputError(
            f'"start" and "end" must be character offsets with 0 ≤ start < end, not {shorten(repr(start))}, {shorten(repr(end))}',
            path=path,
            line=line,
        )
    if length is not None and end > length:
        raise InputError(f"entity offsets [{start}, {end}) outside a text of {length} characters", path=path, line=line)
    return start, end


def check_score(score: Any, *, path: str | os.PathLike | None = None, line: int | None = None) -> float | None:
    """An entity's optional ``score``: None or a number; anything else is an InputError."""
    if score is not None and not _is_number(score):
        raise InputError(f'"score" must be a number, not {shorten(repr(score))}', path=path, line=line)
    return score


def parse_span(obj: Any, text: str, *, path: str | os.PathLike | None = None, line: int | None = None) -> Span:
    """A gold entity object of a JSONL sentence → :class:`Span` in ``text``, validated."""
    if not isinstance(obj, dict):
        raise InputError(
            f"each entity must be a JSON object with start, end and label, not {shorten(repr(obj))}",
            path=path,
            line=line,
        )
    missing = [k for k in ("start", "end", "label") if k not in obj]
    if missing:
        raise InputError(
            f"entity needs integer start, end and a label (lacks {', '.join(repr(k) for k in missing)}): {shorten(repr(obj))}",
            path=path,
            line=line,
        )
    start, end = check_offsets(obj["start"], obj["end"], length=len(text), path=path, line=line)
    label = check_label(obj["label"], path=path, line=line)
    if "text" in obj and obj["text"] != text[start:end]:
        raise InputError(
            f"entity text {shorten(repr(obj['text']))} differs from text[{start}:{end}] = {shorten(repr(text[start:end]))}",
            path=path,
            line=line,
        )
    score = check_score(obj.get("score"), path=path, line=line)
    return Span(start, end, label, score)


def span_to_dict(mention: str, span: Span, *, offset: int = 0) -> dict[str, Any]:
    """The JSON form of a gold/predicted entity whose text is ``mention``; ``offset`` shifts start/end."""
    d: dict[str, Any] = {"start": span.start + offset, "end": span.end + offset, "label": span.label, "text": mention}
    if span.score is not None:
        d["score"] = round(float(span.score), 6)
    return d


def parse_record(obj: Any, *, path: str | os.PathLike | None = None, line: int | None = None) -> EntityRecord:
    """One ``entities.jsonl`` object → :class:`EntityRecord`, validated (``start``/``end`` optional, as a pair)."""
    if not isinstance(obj, dict):
        raise InputError("each line must be a JSON object (one entity)", path=path, line=line)
    missing = [k for k in ("doc", "sentence", "label", "text") if k not in obj]
    if missing:
        raise InputError(
            f"entity lacks {', '.join(repr(k) for k in missing)} (fields: {', '.join(RECORD_FIELDS)})",
            path=path,
            line=line,
        )
    sentence = obj["sentence"]
    if not _is_int(sentence) or sentence < 0:
        raise InputError(
            f'"sentence" must be a sentence index (an integer ≥ 0), not {shorten(repr(sentence))}', path=path, line=line
        )
    label = check_label(obj["label"], path=path, line=line)
    if not isinstance(obj["text"], str) or not obj["text"].strip():
        raise InputError(f'"text" must be a non-empty string, not {shorten(repr(obj["text"]))}', path=path, line=line)
    doc = obj["doc"]
    if not isinstance(doc, (str, int)) or isinstance(doc, bool):
        raise InputError(f'"doc" must be a document id (a string), not {shorten(repr(doc))}', path=path, line=line)
    start = end = None
    if "start" in obj or "end" in obj:
        start, end = check_offsets(obj.get("start"), obj.get("end"), path=path, line=line)
        if end - start != len(obj["text"]):
            raise InputError(
                f'"text" has {len(obj["text"])} characters but [start, end) = [{start}, {end}) spans {end - start}',
                path=path,
                line=line,
            )
    score = check_score(obj.get("score"), path=path, line=line)
    return EntityRecord(str(doc), sentence, start, end, label, obj["text"], score)


def parse_record_line(
    data: bytes | str, *, path: str | os.PathLike | None = None, line: int | None = None
) -> EntityRecord:
    """One line of ``entities.jsonl`` → :class:`EntityRecord`; invalid JSON is an InputError too."""
    try:
        obj = json.loads(data)
    except (UnicodeDecodeError, json.JSONDecodeError) as e:
        where = f" (column {e.colno})" if isinstance(e, json.JSONDecodeError) else ""
        raise InputError(
            f"invalid JSON: {e.msg if isinstance(e, json.JSONDecodeError) else e.reason}{where}", path=path, line=line
        ) from None
    return parse_record(obj, path=path, line=line)


def read_records(path: str | os.PathLike) -> list[EntityRecord]:
    """Read an ``entities.jsonl`` (blank lines allowed); every problem names ``path:line``."""
    from mrc_ner.io import read_text_lines

    path = Path(path)
    out = [
        parse_record_line(line, path=path, line=lineno)
        for lineno, line in enumerate(read_text_lines(path), start=1)
        if line.strip()
    ]
    if not out:
        raise InputError("empty file: no entities found", path=path)
    return out


def looks_like_record(obj: Any) -> bool:
    """True for an object shaped like an ``entities.jsonl`` record (``doc`` and ``sentence``, no ``text``-level entities)."""
    return (
        isinstance(obj, dict)
        and "doc" in obj
        and "sentence" in obj
        and "entities" not in obj
        and "sentences" not in obj
    )


def is_records_file(path: str | os.PathLike) -> bool:
    """True for a ``.jsonl`` whose first object looks like an entity record (extraction's output).

    Sentence and document JSONL corpora (``text`` + ``entities``) answer False.
    """
    path = Path(path)
    if path.suffix.lower() != ".jsonl":
        return False
    try:
        with path.open(encoding="utf-8-sig", errors="replace") as f:
            for line in f:
                if line.strip():
                    try:
                        return looks_like_record(json.loads(line))
                    except json.JSONDecodeError:
                        return (
                            '"doc"' in line and '"sentence"' in line
                        )  # malformed: whichever reader it looks meant for says where
    except OSError:
        return False
    return False
