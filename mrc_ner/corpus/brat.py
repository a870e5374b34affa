"""brat standoff: ``doc.txt`` (the text) next to ``doc.ann`` (the annotations).

Text-bound annotations are read as mentions::

    T1<TAB>Gene 0 5<TAB>BRCA1
    T2<TAB>Disease 10 16;21 27<TAB>breast cancer      (discontinuous: two fragments)

Offsets are characters of the ``.txt`` file as decoded (UTF-8, BOM dropped, line
endings kept as they are), ``end`` exclusive; the stated text must equal the
document's text there. A discontinuous annotation is an InputError naming
``file.ann:line`` unless ``discontinuous`` is ``skip`` (left out and counted) or
``join`` (one span from the first fragment's start to the last one's end).
Relations, events, attributes and notes (``R``, ``E``, ``A``/``M``, ``#``, ``*``)
are not entities and are passed over. brat's parser in the ``bioc`` package asserts
instead of naming lines, so this small reader is the package's own.

The writer gives ``<id>.txt`` and ``<id>.ann`` per document, a score as an
``AnnotatorNotes`` line (``#1<TAB>AnnotatorNotes T1<TAB>score=0.9731``).
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable
from pathlib import Path

from mrc_ner.corpus.documents import (
    DISCONTINUOUS,
    Level,
    Mention,
    ReadReport,
    build_document,
    check_mention_text,
    document_mentions,
    document_text,
    resolve_fragments,
)
from mrc_ner.corpus.model import Document
from mrc_ner.errors import InputError
from mrc_ner.io import atomic_write_text

_RANGE_RE = re.compile(r"^(\d+) (\d+)$")


def read_document_text(path: Path) -> str:
    """A document's text exactly as offsets count it: UTF-8 (BOM dropped), line endings untouched."""
    try:
        data = path.read_bytes()
    except OSError as e:
        raise InputError(f"cannot read: {e.strerror or e}", path=path) from None
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        raise InputError(
            f"not valid UTF-8 (byte {data[e.start]:#04x} at offset {e.start})",
            path=path,
            line=data[: e.start].count(b"\n") + 1,
        ) from None


def ann_path_for(path: Path) -> Path:
    """The ``.ann`` file of a brat pair given either file."""
    return path.with_suffix(".ann")


def parse_ann(ann: Path, text: str, *, discontinuous: str = "error", report: ReadReport | None = None) -> list[Mention]:
    """The text-bound mentions of an ``.ann`` file over ``text``."""
    if discontinuous not in DISCONTINUOUS:
        raise InputError(f"--discontinuous must be one of {', '.join(DISCONTINUOUS)}, not {discontinuous!r}")
    out: list[Mention] = []
    for lineno, line in enumerate(read_document_text(ann).replace("\r\n", "\n").split("\n"), start=1):
        if not line.startswith("T"):
            if line.strip() and line[0] not in "REAMN#*":
                raise InputError(f"not a brat annotation line: {line!r}", path=ann, line=lineno)
            continue
        cols = line.split("\t")
        if len(cols) < 3 or " " not in cols[1]:
            raise InputError(f"expected 'T<id><TAB><type> <start> <end><TAB><text>': {line!r}", path=ann, line=lineno)
        label, _, ranges = cols[1].partition(" ")
        fragments = []
        for part in ranges.split(";"):
            m = _RANGE_RE.match(part.strip())
            if not m:
                raise InputError(f"bad offsets {part!r} in {line!r}", path=ann, line=lineno)
            fragments.append((int(m.group(1)), int(m.group(2))))
        stated = "\t".join(cols[2:])
        what = f"{cols[0]} {label}"
        for a, b in fragments:
            check_mention_text(text, a, b, None, path=ann, line=lineno, what=what)
        if " ".join(text[a:b] for a, b in fragments) != stated:
            raise InputError(
                f"{what}: text {stated!r} differs from the document's text at {ranges} = "
                f"{' '.join(text[a:b] for a, b in fragments)!r}",
                path=ann,
                line=lineno,
            )
        rng = resolve_fragments(fragments, discontinuous, path=ann, line=lineno, what=f"{what} at {ranges}")
        if rng is None:
            if report is not None:
                report.note(ann, lineno, f"discontinuous {what} at {ranges}")
            continue
        out.append(Mention(rng[0], rng[1], label, lineno))
    return out


def read_brat(
    path: str | os.PathLike, *, level: Level = "auto", discontinuous: str = "error", report: ReadReport | None = None
) -> Document:
    """Read one brat pair (``path`` is the ``.txt`` or the ``.ann``) into a document named after the file."""
    path = Path(path)
    txt, ann = path.with_suffix(".txt"), ann_path_for(path)
    for p in (txt, ann):
        if not p.is_file():
            raise InputError(f"brat needs both {txt.name} and {ann.name}; {p.name} is missing", path=p)
    text = read_document_text(txt)
    mentions = parse_ann(ann, text, discontinuous=discontinuous, report=report)
    return build_document(txt.stem, text, mentions, path=ann, level=level)


def format_ann(doc: Document) -> str:
    """The ``.ann`` text of a document's spans (and their scores as notes)."""
    lines: list[str] = []
    notes: list[str] = []
    for k, (sp, mention) in enumerate(document_mentions(doc), start=1):
        if not sp.label or any(c.isspace() for c in sp.label):
            raise InputError(f"entity type {sp.label!r} cannot be written to brat (no whitespace allowed)")
        lines.append(f"T{k}\t{sp.label} {sp.start} {sp.end}\t{mention}")
        if sp.score is not None:
            notes.append(f"#{len(notes) + 1}\tAnnotatorNotes T{k}\tscore={sp.score:.4f}")
    return "".join(x + "\n" for x in lines + notes)


def write_brat(documents: Iterable[Document], directory: str | os.PathLike) -> list[Path]:
    """Write ``<id>.txt`` and ``<id>.ann`` per document into ``directory``; return the ``.ann`` paths."""
    directory = Path(directory)
    if directory.exists() and not directory.is_dir():
        raise InputError("brat output is a directory (one .txt and .ann per document), not a file", path=directory)
    written = []
    seen: set[str] = set()
    for doc in documents:
        name = re.sub(r"[^\w.\-]+", "_", doc.id).strip(".") or "doc"
        if name in seen:
            raise InputError(
                f"two documents would both be written as {name}.txt; document ids must differ", path=directory
            )
        seen.add(name)
        atomic_write_text(directory / f"{name}.txt", document_text(doc))
        atomic_write_text(directory / f"{name}.ann", format_ann(doc))
        written.append(directory / f"{name}.ann")
    return written
