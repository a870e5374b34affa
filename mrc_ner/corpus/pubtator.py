"""PubTator: title and abstract lines, then one line per mention; a blank line between documents::

    12345|t|BRCA1 mutations in breast cancer
    12345|a|Germline BRCA1 variants raise the risk of ...
    12345<TAB>0<TAB>5<TAB>BRCA1<TAB>Gene<TAB>672
    12345<TAB>19<TAB>32<TAB>breast cancer<TAB>Disease<TAB>D001943

Offsets count into ``title + " " + abstract`` (the abstract starts at
``len(title) + 1``); here that separator is a line break, so the document text is
``title + "\\n" + abstract`` with the same offsets, and title and abstract are two
passages (never one sentence). The mention text must equal the document's text
there. Relation lines (``pmid<TAB>type<TAB>id1<TAB>id2``) are passed over. The
writer puts ``-`` in the identifier column (predictions are not normalised).
The ``bioc`` package's PubTator reader strips lines (moving offsets) and prints
unparsable lines instead of failing, so this small reader is the package's own.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable
from pathlib import Path

from mrc_ner.corpus.brat import read_document_text
from mrc_ner.corpus.documents import (
    Level,
    Mention,
    build_document,
    check_mention_text,
    document_mentions,
    document_text,
    passages_of,
)
from mrc_ner.corpus.model import Document, Passage
from mrc_ner.errors import InputError
from mrc_ner.io import atomic_write_text

_TEXT_RE = re.compile(r"^([^|\t]+)\|([ta])\|(.*)$")
#: title and abstract are one line each: other line breaks become spaces (same length, offsets unchanged)
_FLAT_RE = re.compile(r"[\r\n\u2028\u2029\x85\x0b\x0c]")


def looks_like_pubtator(lines: Iterable[str]) -> bool:
    """True when the first non-blank line is a ``<id>|t|`` or ``<id>|a|`` line."""
    for line in lines:
        if line.strip():
            return bool(_TEXT_RE.match(line))
    return False


def _finish(
    doc_id: str, title: str | None, abstract: str | None, mentions: list[Mention], path: Path, line: int, level: Level
) -> Document:
    if title is None:
        raise InputError(f"document {doc_id!r} has no title line ({doc_id}|t|...)", path=path, line=line)
    text = title if abstract is None else f"{title}\n{abstract}"
    for m in mentions:
        check_mention_text(text, m.start, m.end, None, path=path, line=m.line, what=f"mention {m.label}")
    passages = [Passage(0, len(title), {"type": "title"})]
    if abstract is not None:
        passages.append(Passage(len(title) + 1, len(text), {"type": "abstract"}))
    return build_document(doc_id, text, mentions, path=path, passages=passages, level=level)


def read_pubtator(path: str | os.PathLike, *, level: Level = "auto") -> list[Document]:
    """Read a PubTator file into documents (ids are the PMIDs)."""
    path = Path(path)
    lines = read_document_text(path).replace("\r\n", "\n").replace("\r", "\n").split("\n")
    docs: list[Document] = []
    doc_id: str | None = None
    title = abstract = None
    mentions: list[Mention] = []
    start_line = 1
    for lineno, line in enumerate(lines + [""], start=1):
        if not line.strip():
            if doc_id is not None:
                docs.append(_finish(doc_id, title, abstract, mentions, path, start_line, level))
            doc_id, title, abstract, mentions = None, None, None, []
            continue
        m = _TEXT_RE.match(line)
        if m:
            pmid, kind, body = m.groups()
            if doc_id is None:
                doc_id, start_line = pmid, lineno
            elif pmid != doc_id:
                raise InputError(
                    f"document {pmid!r} starts without a blank line after document {doc_id!r}", path=path, line=lineno
                )
            if kind == "t":
                if title is not None or abstract is not None:
                    raise InputError(f"a second title for document {pmid!r}", path=path, line=lineno)
                title = body
            else:
                if abstract is not None:
                    raise InputError(f"a second abstract for document {pmid!r}", path=path, line=lineno)
                abstract = body
            continue
        cols = line.split("\t")
        if doc_id is None or cols[0] != doc_id:
            raise InputError(
                f"annotation line outside its document (expected id {doc_id!r}): {line!r}", path=path, line=lineno
            )
        if len(cols) >= 5 and cols[1].isdigit() and cols[2].isdigit():
            start, end = int(cols[1]), int(cols[2])
            text_so_far = (title or "") + ("" if abstract is None else "\n" + abstract)
            check_mention_text(text_so_far, start, end, cols[3], path=path, line=lineno, what=f"mention {cols[4]}")
            mentions.append(Mention(start, end, cols[4], lineno))
        elif len(cols) in (4, 5):
            continue  # a relation: pmid, type, id1, id2 (and maybe more)
        else:
            raise InputError(
                f"expected a mention line 'id<TAB>start<TAB>end<TAB>text<TAB>type[<TAB>concept]': {line!r}",
                path=path,
                line=lineno,
            )
    if not docs:
        raise InputError("empty file: no PubTator documents found", path=path)
    return docs


def format_pubtator(documents: Iterable[Document]) -> str:
    """PubTator text for documents: title and abstract lines, mention lines, a blank line after each."""
    out = []
    for doc in documents:
        text = document_text(doc)
        parts = passages_of(doc)
        title_end = parts[0].end if len(parts) > 1 else (text.find("\n") if "\n" in text else len(text))
        title = text[:title_end]
        body = text[title_end + 1 :] if title_end < len(text) else None
        out.append(f"{doc.id}|t|{_FLAT_RE.sub(' ', title)}")
        if body is not None:
            out.append(f"{doc.id}|a|{_FLAT_RE.sub(' ', body)}")
        for sp, mention in document_mentions(doc):
            if sp.start < title_end < sp.end:
                raise InputError(
                    f"document {doc.id!r}: mention {mention!r} crosses the title's end; PubTator cannot hold it"
                )
            out.append(f"{doc.id}\t{sp.start}\t{sp.end}\t{_FLAT_RE.sub(' ', mention)}\t{sp.label}\t-")
        out.append("")
    return "".join(x + "\n" for x in out)


def write_pubtator(documents: Iterable[Document], path: str | os.PathLike) -> None:
    """Write documents as a PubTator file, atomically."""
    atomic_write_text(path, format_pubtator(documents))
