"""Which format a file is in, which files a directory holds, and reading/writing them all.

The one suffix policy of the package (:func:`detect_format`); every command that
reads files asks it, and ``--format`` (``--input-format`` in ``predict``) overrides it.

=============  =====================================================================
format         files
=============  =====================================================================
``conll``      ``.bio .bioes .iob .iob2 .tsv .conll .col``; a ``.txt`` whose lines
               look like ``token<sep>tag`` columns
``jsonl``      ``.jsonl``
``brat``       ``.ann`` with its ``.txt``; a ``.txt`` with an ``.ann`` beside it
``pubtator``   ``.pubtator``; a ``.txt`` whose first line is ``<id>|t|...``
``bioc-xml``   ``.xml`` (``.bioc``)
``bioc-json``  ``.json``
``text``       any other ``.txt`` / ``.text`` (plain text: no annotations)
=============  =====================================================================

So ``.txt`` is decided by its neighbours and content, in that order: brat pair,
PubTator, columns, plain text. Annotated input (``read_corpus``: train, evaluate,
stats) reads a ``.txt`` that is none of the first three as columns, so a malformed
column file still gets its ``path:line`` error.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from mrc_ner.corpus.documents import Level, ReadReport
from mrc_ner.corpus.model import Corpus, Document
from mrc_ner.errors import InputError

#: input formats (``auto`` detects); output formats are in :data:`WRITE_FORMATS`
READ_FORMATS = ("auto", "conll", "jsonl", "brat", "pubtator", "bioc-xml", "bioc-json", "text")
WRITE_FORMATS = ("jsonl", "iob", "brat", "pubtator", "bioc-xml", "bioc-json")
COLUMN_SUFFIXES = frozenset({".bio", ".bioes", ".iob", ".iob2", ".tsv", ".conll", ".col"})
TEXT_SUFFIXES = frozenset({".txt", ".text"})
_BY_SUFFIX = {
    ".jsonl": "jsonl",
    ".ann": "brat",
    ".pubtator": "pubtator",
    ".xml": "bioc-xml",
    ".bioc": "bioc-xml",
    ".json": "bioc-json",
    ".text": "text",
}
#: suffixes a directory listing takes (``.json``/``.xml`` only when asked for, see :func:`list_inputs`)
LISTED_SUFFIXES = COLUMN_SUFFIXES | TEXT_SUFFIXES | {".jsonl", ".ann", ".pubtator", ".xml", ".bioc", ".json"}
Purpose = Literal["annotated", "raw"]


def _head_lines(path: Path, n: int = 50) -> list[str]:
    try:
        with path.open(encoding="utf-8-sig", errors="replace", newline="") as f:
            return [line.rstrip("\r\n") for _, line in zip(range(n), f)]
    except OSError as e:
        raise InputError(f"cannot read: {e.strerror or e}", path=path) from None


def looks_like_columns(lines: Sequence[str]) -> bool:
    """True when nearly all non-blank lines end in a tag (``O``, ``B-…``, ``I-…``, …)."""
    data = [ln for ln in lines if ln.strip() and not ln.startswith("-DOCSTART-")]
    tagged = sum(
        1
        for ln in data
        if len(ln.split()) >= 2 and (ln.split()[-1] == "O" or ln.split()[-1][:2] in ("B-", "I-", "E-", "S-", "M-"))
    )
    return bool(data) and tagged >= 0.9 * len(data)


def detect_format(path: str | os.PathLike, *, purpose: Purpose = "annotated") -> str:
    """The format of one file by the table in the module docstring.

    ``purpose="annotated"`` (a corpus with gold or predicted entities) reads an
    undecided ``.txt`` as columns; ``"raw"`` (text to tag) reads it as plain text.
    """
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix in COLUMN_SUFFIXES:
        return "conll"
    if suffix in _BY_SUFFIX:
        return _BY_SUFFIX[suffix]
    if suffix == ".txt":
        if path.with_suffix(".ann").is_file():
            return "brat"
        from mrc_ner.corpus.pubtator import looks_like_pubtator

        head = _head_lines(path)
        if looks_like_pubtator(head):
            return "pubtator"
        if purpose == "annotated" or looks_like_columns(head):
            return "conll"
        return "text"
    return "conll" if purpose == "annotated" else "text"


@dataclass(frozen=True)
class InputFile:
    """A file and the format it is read as."""

    path: Path
    format: str


def list_inputs(
    paths: Iterable[str | os.PathLike],
    *,
    format: str = "auto",
    purpose: Purpose = "annotated",
    recursive: bool = False,
    exclude: Path | None = None,
    only: frozenset[str] | None = None,
) -> list[InputFile]:
    """Files as given and the corpus files of directories (sorted), each with its format.

    In a directory, a brat pair counts once (as its ``.ann``); hidden files and
    anything under ``exclude`` are skipped; ``only`` keeps the files of these
    formats (e.g. ``{"text"}`` for pretraining text). A directory with none is an error.
    """
    if format not in READ_FORMATS:
        raise InputError(f"unknown format {format!r}; choose one of {', '.join(READ_FORMATS)}")
    excluded = exclude.resolve() if exclude is not None else None
    out: list[InputFile] = []
    for raw in paths:
        p = Path(raw)
        if not p.exists():
            raise InputError("no such file or directory", path=p)
        if p.is_file():
            out.append(InputFile(p, format if format != "auto" else detect_format(p, purpose=purpose)))
            continue
        found = []
        candidates = p.rglob("*") if recursive else p.iterdir()
        for f in sorted(candidates):
            rel = f.relative_to(p)
            if (
                not f.is_file()
                or any(part.startswith(".") for part in rel.parts)
                or f.suffix.lower() not in LISTED_SUFFIXES
            ):
                continue
            if excluded is not None and (excluded == f.resolve() or excluded in f.resolve().parents):
                continue
            fmt = format if format != "auto" else detect_format(f, purpose=purpose)
            if fmt == "brat" and f.suffix.lower() == ".txt":
                continue  # the pair is listed once, as its .ann
            if format == "auto" and f.suffix.lower() in (".json", ".xml") and not _is_bioc(f):
                continue  # other JSON/XML files (configs, …) in a corpus directory
            if (only is not None and fmt not in only) or (
                purpose == "annotated" and fmt == "text" and format == "auto"
            ):
                continue
            found.append(InputFile(f, fmt))
        if not found:
            kinds = (
                ", ".join(sorted(only))
                if only
                else "*.bio, *.tsv, *.conll, *.txt, *.jsonl, brat .txt/.ann, PubTator, BioC .xml/.json"
            )
            what = "corpus files" if purpose == "annotated" else "files to read"
            raise InputError(f"directory holds no {what} ({kinds})", path=p)
        out.extend(found)
    if not out:
        raise InputError("no input files given")
    return out


def list_corpus_files(path: Path) -> list[Path]:
    """Corpus files directly inside a directory, sorted (see :func:`list_inputs`)."""
    return [f.path for f in list_inputs([path])]


def _is_bioc(path: Path) -> bool:
    head = "".join(_head_lines(path, 20))
    return "<collection" in head or '"documents"' in head or '"passages"' in head


def read_file(
    f: InputFile,
    *,
    scheme: str = "auto",
    level: Level = "auto",
    discontinuous: str = "error",
    report: ReadReport | None = None,
) -> list[Document]:
    """The documents of one file in its format (``text`` is not annotated: an error here)."""
    from mrc_ner.corpus import bioc_io, brat, conll, jsonl, pubtator

    if f.format == "conll":
        return conll.read_conll(f.path, scheme=scheme, level=level)
    if f.format == "jsonl":
        return jsonl.read_jsonl(f.path, level=level)
    if f.format == "brat":
        return [brat.read_brat(f.path, level=level, discontinuous=discontinuous, report=report)]
    if f.format == "pubtator":
        return pubtator.read_pubtator(f.path, level=level)
    if f.format == "bioc-xml":
        return bioc_io.read_bioc_xml(f.path, level=level, discontinuous=discontinuous, report=report)
    if f.format == "bioc-json":
        return bioc_io.read_bioc_json(f.path, level=level, discontinuous=discontinuous, report=report)
    raise InputError(
        "plain text holds no annotations; give a corpus file (or --format to say which it is)", path=f.path
    )


def read_corpus(
    paths: str | os.PathLike | Sequence[str | os.PathLike],
    *,
    format: str = "auto",
    scheme: str = "auto",
    level: Level = "auto",
    discontinuous: str = "error",
    report: ReadReport | None = None,
) -> Corpus:
    """Read annotated files and/or directories of them (any format above) into one corpus."""
    if isinstance(paths, (str, os.PathLike)):
        paths = [paths]
    docs: list[Document] = []
    for f in list_inputs(paths, format=format, purpose="annotated"):
        docs.extend(read_file(f, scheme=scheme, level=level, discontinuous=discontinuous, report=report))
    return Corpus(docs, name=",".join(str(p) for p in paths))


def output_format(out: Path, format: str) -> str:
    """``auto`` → by ``out``'s suffix (``.jsonl``, ``.xml``, ``.json``, ``.pubtator``; else ``iob``)."""
    if format != "auto":
        if format not in WRITE_FORMATS:
            raise InputError(f"unknown output format {format!r}; choose one of {', '.join(WRITE_FORMATS)}")
        return format
    return {".jsonl": "jsonl", ".xml": "bioc-xml", ".json": "bioc-json", ".pubtator": "pubtator"}.get(
        out.suffix.lower(), "iob"
    )


def write_documents(documents: Sequence[Document], out: str | os.PathLike, format: str) -> None:
    """Write documents in an output format (``brat``: ``out`` is a directory)."""
    from mrc_ner.corpus import bioc_io, brat, conll, jsonl, pubtator

    writers: dict[str, Callable[[Sequence[Document], str | os.PathLike], object]] = {
        "jsonl": jsonl.write_jsonl,
        "iob": conll.write_conll,
        "brat": brat.write_brat,
        "pubtator": pubtator.write_pubtator,
        "bioc-xml": bioc_io.write_bioc_xml,
        "bioc-json": bioc_io.write_bioc_json,
    }
    if format not in writers:
        raise InputError(f"unknown output format {format!r}; choose one of {', '.join(WRITE_FORMATS)}")
    writers[format](documents, out)
