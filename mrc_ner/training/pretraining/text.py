"""Unlabeled input text: plain text files and corpus files → :class:`TextLine`; the held-out split."""

from __future__ import annotations

import os
import random
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from mrc_ner.corpus.cleaning import INVISIBLE, LINE_BREAKS, clean_text
from mrc_ner.corpus.model import word_tokens
from mrc_ner.corpus.readers import read_corpus
from mrc_ner.errors import InputError
from mrc_ner.io import read_text_lines

# Han ideographs (unified, extension A, compatibility, the supplementary planes) and kana.
_CJK_RE = re.compile("[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\U00020000-\U0003134f]")
_BREAK_RE = re.compile("[" + re.escape("".join(sorted(LINE_BREAKS))) + "]")


@dataclass(frozen=True)
class TextLine:
    """One line of unlabeled text.

    ``char_level`` lines are tokenized per character (in ``auto`` and ``char`` mode);
    ``words`` are the words of a word-level line (None for character-level ones).
    """

    text: str
    char_level: bool
    words: tuple[str, ...] | None = None


def has_cjk(text: str) -> bool:
    """True when ``text`` has a Han or kana character.

    >>> has_cjk("检测BRCA1突变"), has_cjk("BRCA1 mutation")
    (True, False)
    """
    return _CJK_RE.search(text) is not None


def text_lines(raw: str, *, max_chars: int | None = None) -> list[TextLine]:
    """Plain text → lines (see the module docstring: CJK lines cleaned, others split into words).

    >>> [(t.text, t.char_level) for t in text_lines("检测 BRCA1  基因\\n\\nTP53  binds DNA.")]
    [('检测BRCA1基因', True), ('TP53 binds DNA.', False)]
    """
    out: list[TextLine] = []
    for line in _BREAK_RE.split(raw):
        if has_cjk(line):
            out.extend(TextLine(s.text, True) for s in clean_text(line, max_len=max_chars).sentences)
            continue
        line = "".join(ch for ch in line if ch not in INVISIBLE)
        words = [line[a:b] for a, b in word_tokens(line)]  # the tokens of word-level sentences
        if words:
            out.append(TextLine(" ".join(line.split()), False, tuple(words)))
    return out


def _text_files(path: Path) -> list[Path]:
    """A file as given, or the plain-text files of a directory (by the package's one suffix policy)."""
    from mrc_ner.corpus.readers import list_inputs

    if path.is_file():
        return [path]
    return [f.path for f in list_inputs([path], purpose="raw", only=frozenset({"text"}))]


def read_text_file(path: str | os.PathLike, *, max_chars: int | None = None) -> list[TextLine]:
    """The lines of one plain text file (UTF-8, BOM allowed); a blank file is an InputError."""
    path = Path(path)
    lines = text_lines("\n".join(read_text_lines(path)), max_chars=max_chars)
    if not lines:
        raise InputError("no text: the file is empty or blank", path=path)
    return lines


def corpus_lines(paths: Sequence[str | os.PathLike]) -> list[TextLine]:
    """The sentences of column/JSONL files or directories as lines (labels ignored)."""
    out = []
    for s in read_corpus(list(paths)).sentences:
        if s.text.strip():
            out.append(TextLine(s.text, s.char_level, None if s.char_level else tuple(s.words)))
    return out


def read_texts(
    texts: Sequence[str | os.PathLike] = (), corpora: Sequence[str | os.PathLike] = (), *, max_chars: int | None = None
) -> tuple[list[TextLine], list[Path]]:
    """All lines of plain text files/directories (``texts``) and corpus files/directories.

    Returns the lines and the files read (corpus directories are listed as given).
    """
    if not texts and not corpora:
        raise InputError("no input: give plain text (--text) and/or corpus files (--corpus)")
    lines: list[TextLine] = []
    files: list[Path] = []
    for raw in texts:
        for f in _text_files(Path(raw)):
            lines.extend(read_text_file(f, max_chars=max_chars))
            files.append(f)
    for raw in corpora:
        got = corpus_lines([raw])
        if not got:
            raise InputError("no text in the corpus", path=Path(raw))
        lines.extend(got)
        files.append(Path(raw))
    return lines, files


def split_heldout(
    lines: Sequence[TextLine], fraction: float, *, seed: int, max_lines: int | None = None
) -> tuple[list[TextLine], list[TextLine]]:
    """A seeded split into (train, held-out) lines; held-out is ``fraction`` of them (at least one).

    Nothing is held out when ``fraction`` is 0 or there are fewer than two lines.
    """
    if fraction <= 0 or len(lines) < 2:
        return list(lines), []
    n = max(1, round(fraction * len(lines)))
    if max_lines is not None:
        n = min(n, max_lines)
    order = list(range(len(lines)))
    random.Random(seed).shuffle(order)
    held = set(order[:n])
    return [x for i, x in enumerate(lines) if i not in held], [x for i, x in enumerate(lines) if i in held]
