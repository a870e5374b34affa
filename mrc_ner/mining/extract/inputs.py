"""Extraction's inputs: files to documents, read lazily, and the check of every input before a run."""

from __future__ import annotations

import codecs
import functools
import json
import os
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from mrc_ner.corpus.cleaning import LINE_BREAKS
from mrc_ner.corpus.readers import InputFile, list_inputs, read_file
from mrc_ner.errors import InputError


def collect_inputs(
    paths: Iterable[str | os.PathLike], *, exclude: Path | None = None, format: str = "auto"
) -> list[InputFile]:
    """The input files, in order: files as given, directories searched recursively (sorted).

    Formats by :func:`mrc_ner.corpus.readers.detect_format` for text to tag (a ``.txt``
    is plain text unless it is half of a brat pair, PubTator or columns), or ``format``;
    hidden files and anything under ``exclude`` (the output directory) are skipped.
    """
    return list_inputs(paths, format=format, purpose="raw", recursive=True, exclude=exclude)


@dataclass
class SourceDocument:
    """One input document: its number in input order, id, where it is, and its text lazily.

    ``pieces()`` yields ``(chunk, base)``: consecutive pieces of the original text
    (whole lines for plain text, so a huge file never sits in memory at once) with
    the offset of each piece in the document.
    """

    index: int
    id: str
    path: Path
    line: int | None
    pieces: Callable[[], Iterator[tuple[str, int]]]


def _text_pieces(path: Path) -> Iterator[tuple[str, int]]:
    base = 0
    with path.open(encoding="utf-8-sig", newline="") as f:
        for line in f:
            yield line, base
            base += len(line)


def _one_piece(text: str) -> Iterator[tuple[str, int]]:
    yield text, 0


def _jsonl_lines(path: Path) -> Iterator[tuple[int, str]]:
    """Non-blank lines of a JSONL file with their line numbers, read lazily."""
    try:
        f = path.open("rb")
    except OSError as e:
        raise InputError(f"cannot read: {e.strerror or e}", path=path) from None
    with f:
        for lineno, data in enumerate(f, start=1):
            if lineno == 1 and data.startswith(codecs.BOM_UTF8):
                data = data[len(codecs.BOM_UTF8) :]
            try:
                line = data.decode("utf-8")
            except UnicodeDecodeError as e:
                raise InputError(f"not valid UTF-8 (byte {data[e.start]:#04x})", path=path, line=lineno) from None
            if line.strip():
                yield lineno, line


def _jsonl_document(path: Path, lineno: int, line: str, default_id: str) -> tuple[str, str]:
    """``(id, text)`` of one JSONL line, or an InputError naming ``path:line``."""
    try:
        obj = json.loads(line)
    except json.JSONDecodeError as e:
        raise InputError(f"invalid JSON: {e.msg} (column {e.colno})", path=path, line=lineno) from None
    if not isinstance(obj, dict):
        raise InputError('each line must be a JSON object {"id": ..., "text": ...}', path=path, line=lineno)
    text = obj.get("text")
    if not isinstance(text, str):
        raise InputError(
            'each object needs a string "text"' + ("" if "text" not in obj else f", not {type(text).__name__}"),
            path=path,
            line=lineno,
        )
    did = obj.get("id", default_id)
    if isinstance(did, bool) or not isinstance(did, (str, int)):
        raise InputError(f'"id" must be a string or an integer, not {did!r}', path=path, line=lineno)
    return str(did), text


def iter_documents(files: Sequence[InputFile], *, own: Callable[[int], bool] | None = None) -> Iterator[SourceDocument]:
    """The documents of ``files`` in input order; with ``own``, only those whose index it accepts.

    Documents not owned are counted but not parsed (JSONL) or opened (plain text).
    """
    k = 0
    for f in files:
        if f.format == "text":
            if own is None or own(k):
                yield SourceDocument(k, f.path.stem, f.path, None, functools.partial(_text_pieces, f.path))
            k += 1
        elif f.format == "jsonl":
            for j, (lineno, line) in enumerate(_jsonl_lines(f.path)):
                if own is None or own(k):
                    did, text = _jsonl_document(f.path, lineno, line, f"{f.path.stem}#{j}")
                    yield SourceDocument(k, did, f.path, lineno, functools.partial(_one_piece, text))
                k += 1
        else:  # an annotated corpus format: its documents' text (annotations are not used)
            for doc in read_file(f, discontinuous="join"):
                if own is None or own(k):
                    yield SourceDocument(k, doc.id, f.path, None, functools.partial(_one_piece, doc.text))
                k += 1


def _check_utf8(path: Path) -> None:
    """Raise InputError naming ``path:line`` when a plain-text file is not UTF-8 (read in 1 MiB chunks)."""
    decoder = codecs.getincrementaldecoder("utf-8-sig")()
    lines = 0
    try:
        with path.open("rb") as f:
            while chunk := f.read(1 << 20):
                try:
                    decoder.decode(chunk)
                except UnicodeDecodeError as e:
                    line = lines + chunk[: max(e.start, 0)].count(b"\n") + 1
                    raise InputError("not valid UTF-8", path=path, line=line) from None
                lines += chunk.count(b"\n")
            decoder.decode(b"", final=True)
    except OSError as e:
        raise InputError(f"cannot read: {e.strerror or e}", path=path) from None
    except UnicodeDecodeError:
        raise InputError("not valid UTF-8 (truncated character at the end)", path=path, line=lines + 1) from None


@dataclass
class Scan:
    """What :func:`scan_inputs` found: the document ids in input order."""

    ids: list[str]

    @property
    def documents(self) -> int:
        return len(self.ids)


def scan_inputs(files: Sequence[InputFile]) -> Scan:
    """Check every input and list the document ids (cheap: nothing is cleaned or predicted).

    Raises :class:`InputError` for unreadable or malformed input, for an id holding a
    tab or a line break, and for an id given twice.
    """
    ids: list[str] = []
    first: dict[str, str] = {}
    for f in files:
        if f.format == "text":
            _check_utf8(f.path)
    for doc in iter_documents(files):
        where = f"{doc.path}" + (f":{doc.line}" if doc.line is not None else "")
        if "\t" in doc.id or any(ch in LINE_BREAKS for ch in doc.id):
            raise InputError(f"document id {doc.id!r} holds a tab or a line break", path=doc.path, line=doc.line)
        if doc.id in first:
            raise InputError(
                f"document id {doc.id!r} occurs twice (first in {first[doc.id]}); ids must be unique",
                path=doc.path,
                line=doc.line,
            )
        first[doc.id] = where
        ids.append(doc.id)
    if not ids:
        raise InputError("the inputs hold no documents")
    return Scan(ids)
