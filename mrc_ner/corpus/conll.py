"""Column (CoNLL-style) files: ``token<TAB>tag`` or ``char<SPACE>tag``.

* One or more blank lines separate sentences; ``-DOCSTART-`` separates documents.
* The separator is detected per file (tab if the first data line has one, else
  runs of spaces); every data line must then have the same number of columns. The
  token is the first column, the tag the last.
* UTF-8 with or without BOM, LF or CRLF.
* A file whose tokens are all single characters is character-level (characters
  joined directly, as in the Chinese patents); otherwise tokens are joined by one space.

Every problem is an :class:`~mrc_ner.errors.InputError` naming ``path:line``.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable
from pathlib import Path
from typing import Literal

from mrc_ner.corpus.model import Document, Sentence
from mrc_ner.corpus.schemes import chunks_to_spans, detect_scheme, get_scheme, sentence_tags, split_tag, tags_to_chunks
from mrc_ner.errors import InputError
from mrc_ner.io import read_text_lines

Level = Literal["auto", "char", "word"]
DOCSTART = "-DOCSTART-"


def _split_columns(line: str, tab: bool) -> list[str]:
    # Runs of ASCII spaces/tabs only: a token may be U+3000, NBSP… (a character of the text).
    return line.split("\t") if tab else re.split(r"[ \t]+", line.strip(" \t"))


def _parse_blocks(path: Path, lines: list[str]) -> list[list[list[tuple[int, str, str]]]]:
    """Documents → sentences → (line number, token, tag)."""
    data_lines = [ln for ln in lines if ln.strip() and ln.split()[0] != DOCSTART]
    if not data_lines:
        raise InputError("empty file: no tokens found", path=path)
    tab = "\t" in data_lines[0]
    ncols: int | None = None
    docs: list[list[list[tuple[int, str, str]]]] = [[]]
    sent: list[tuple[int, str, str]] = []
    for lineno, line in enumerate(lines, start=1):
        if not line.strip():
            if sent:
                docs[-1].append(sent)
                sent = []
            continue
        if line.split()[0] == DOCSTART:
            if sent:
                docs[-1].append(sent)
                sent = []
            if docs[-1]:
                docs.append([])
            continue
        cols = _split_columns(line, tab)
        if ncols is None:
            ncols = len(cols)
            if ncols < 2:
                raise InputError(
                    f"expected at least 2 columns (token and tag), found 1: {line!r}", path=path, line=lineno
                )
        if len(cols) != ncols:
            raise InputError(f"expected {ncols} columns, found {len(cols)}: {line!r}", path=path, line=lineno)
        token, tag = cols[0], cols[-1].strip()
        if not token:
            raise InputError(f"empty token: {line!r}", path=path, line=lineno)
        sent.append((lineno, token, tag))
    if sent:
        docs[-1].append(sent)
    return [d for d in docs if d]


def _check_tags(path: Path, rows: list[tuple[int, str, str]], allowed: set[str]) -> None:
    for lineno, _, tag in rows:
        try:
            prefix, _ = split_tag(tag)
        except ValueError:
            raise InputError(f"malformed tag {tag!r} (expected O or PREFIX-TYPE)", path=path, line=lineno) from None
        if prefix != "O" and prefix not in allowed:
            raise InputError(
                f"unknown tag prefix in {tag!r} (allowed: {', '.join(sorted(allowed))}, O)", path=path, line=lineno
            )


def read_conll(
    path: str | os.PathLike, *, scheme: str = "auto", level: Level = "auto", doc_id: str | None = None
) -> list[Document]:
    """Read one column file into documents (one, unless it has ``-DOCSTART-`` lines).

    ``scheme`` is ``auto`` (detected per file: BMES, BIOES or IOB2) or a scheme name.
    """
    path = Path(path)
    blocks = _parse_blocks(path, read_text_lines(path))
    all_rows = [row for doc in blocks for sent in doc for row in sent]
    name = scheme if scheme != "auto" else detect_scheme([t for _, _, t in all_rows])
    _check_tags(path, all_rows, get_scheme(name).prefixes)  # locates a tag of another scheme at its own line
    char_level = level == "char" or (level == "auto" and all(len(tok) == 1 for _, tok, _ in all_rows))
    stem = doc_id or path.name.split(".")[0]
    docs = []
    for k, block in enumerate(blocks):
        did = stem if len(blocks) == 1 else f"{stem}#{k}"
        sentences = []
        for j, rows in enumerate(block):
            words = [tok for _, tok, _ in rows]
            tags = [tag for _, _, tag in rows]
            try:
                chunks = tags_to_chunks(tags, name)
            except ValueError as e:
                raise InputError(str(e), path=path, line=rows[0][0]) from None
            sent = Sentence.from_tokens(words, char_level=char_level, id=f"{did}:{j}")
            sent.spans = chunks_to_spans(sent, chunks)
            sent.raw_tags = tags
            sentences.append(sent)
        docs.append(Document(did, sentences))
    return docs


def format_conll(sentences: Iterable[Sentence], *, scheme: str = "IOB2") -> str:
    """Column text for sentences: ``token<sep>tag`` lines, a blank line after each sentence."""
    out: list[str] = []
    for s in sentences:
        sep = " " if s.char_level else "\t"
        for word, tag in zip(s.words, sentence_tags(s, scheme)):
            out.append(f"{word}{sep}{tag}")
        out.append("")
    return "\n".join(out) + ("\n" if out else "")


def write_conll(
    documents: Iterable[Document], path: str | os.PathLike, *, scheme: str = "IOB2", docstart: bool = False
) -> None:
    """Write documents as one column file, atomically; ``docstart`` adds ``-DOCSTART-`` lines."""
    from mrc_ner.io import atomic_write_text

    parts = []
    for d in documents:
        if docstart:
            parts.append(f"{DOCSTART} O\n\n")
        parts.append(format_conll(d.sentences, scheme=scheme))
    atomic_write_text(path, "".join(parts))
