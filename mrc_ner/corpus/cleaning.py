"""Raw patent text → clean sentences, with a map back to the raw text (patents paper §3.1).

Text extracted from a Chinese patent is Chinese running text with Latin and digit
runs mixed in (``BRCA1``, ``PD-L1``, ``SEQ ID NO: 1``), broken by hard line wraps,
blank lines, indentation with full-width spaces (U+3000), tabs, NBSPs, CRLF ends and
sometimes zero-width characters. The cleaner:

* splits the text into lines at every line break (LF, CR, CRLF, VT, FF, U+2028, …) and
  drops blank lines — a line is a sentence;
* replaces a whitespace run *between two Latin-ish characters* (ASCII letters, digits
  and symbols; Latin or Greek letters such as ``é``, ``α``) by one ``-``, as the cbp
  corpus did (``SEQ ID NO`` → ``SEQ-ID-NO``);
* removes every other whitespace or zero-width character (between Chinese characters,
  between Chinese and Latin, leading, trailing);
* optionally splits a line after ``。！？；`` (closing quotes and brackets stay with the
  sentence before): always with ``split_on_punct=True``, or only for lines longer
  than ``max_len``. A piece without such punctuation may still exceed ``max_len``;
  windowing long sentences is the encoder's job, never truncation.

Each :class:`CleanSentence` keeps ``offsets``: for every character of its text the index
of the raw character it came from (an inserted ``-`` points at the first whitespace
character it replaced). So a span ``[start, end)`` of a cleaned sentence is
``raw[orig_start:orig_end]`` with ``(orig_start, orig_end) = sentence.to_original(start, end)``
— the raw mention may then contain whitespace (a tab, several spaces) where the cleaned
one has ``-``.

>>> c = clean_text("本发明涉及 BRCA1  基因\\n\\n　检测 TP53 gene 突变。")
>>> [s.text for s in c.sentences]
['本发明涉及BRCA1基因', '检测TP53-gene突变。']
>>> s = c.sentences[1]; s.to_original(2, 11), c.raw[slice(*s.to_original(2, 11))]
((21, 30), 'TP53 gene')
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass

LINE_BREAKS = frozenset("\n\r\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029")
INVISIBLE = frozenset("\u200b\u200c\u200d\u2060\ufeff")
SENTENCE_END = frozenset("。！？；")
CLOSERS = frozenset("”’」』）》】〕\"')]")


def is_blank(ch: str) -> bool:
    """Whitespace (``str.isspace``: also U+3000, NBSP, tab, CR) or a zero-width character.

    >>> is_blank("\\u3000"), is_blank("\\u200b"), is_blank("-")
    (True, True, False)
    """
    return ch.isspace() or ch in INVISIBLE


def is_latin(ch: str) -> bool:
    """A character of a Latin/code-mixed run: printable ASCII, or a Latin or Greek letter.

    >>> is_latin("A"), is_latin("("), is_latin("α"), is_latin("基"), is_latin("Ａ")
    (True, True, True, False, False)
    """
    if "!" <= ch <= "~":
        return True
    if ch.isalpha():
        name = unicodedata.name(ch, "")
        return name.startswith(("LATIN ", "GREEK "))
    return False


@dataclass(frozen=True)
class CleanSentence:
    """A cleaned sentence and, per character, its index in the raw text (strictly increasing)."""

    text: str
    offsets: list[int]

    def to_original(self, start: int, end: int) -> tuple[int, int]:
        """Map ``[start, end)`` of ``text`` to the raw range ``[orig_start, orig_end)``.

        ``orig_end`` is one past the raw character of the span's last character.
        """
        if not 0 <= start < end <= len(self.text):
            raise ValueError(f"span [{start}, {end}) outside a sentence of {len(self.text)} characters")
        return self.offsets[start], self.offsets[end - 1] + 1

    @property
    def raw_start(self) -> int:
        """Index in the raw text of the sentence's first character."""
        return self.offsets[0]

    @property
    def raw_end(self) -> int:
        """One past the raw index of the sentence's last character."""
        return self.offsets[-1] + 1


@dataclass(frozen=True)
class CleanedText:
    """The raw text and its clean sentences, in order."""

    raw: str
    sentences: list[CleanSentence]

    @property
    def texts(self) -> list[str]:
        """The cleaned sentence texts."""
        return [s.text for s in self.sentences]


def _lines(raw: str) -> list[tuple[int, int]]:
    """``[start, end)`` of every line of ``raw`` (line-break characters excluded)."""
    out = []
    start = 0
    for i, ch in enumerate(raw):
        if ch in LINE_BREAKS:
            out.append((start, i))
            start = i + 1
    out.append((start, len(raw)))
    return out


def clean_line(raw: str, start: int = 0, end: int | None = None) -> tuple[str, list[int]]:
    """Clean ``raw[start:end]`` (one line): whitespace removed or, inside Latin runs, one ``-``.

    >>> clean_line(" SEQ ID\\tNO 1 的 序列 ")
    ('SEQ-ID-NO-1的序列', [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 13, 15, 16])
    """
    end = len(raw) if end is None else end
    chars: list[str] = []
    offsets: list[int] = []
    i = start
    while i < end:
        if not is_blank(raw[i]):
            chars.append(raw[i])
            offsets.append(i)
            i += 1
            continue
        j = i
        while j < end and is_blank(raw[j]):
            j += 1
        if chars and j < end and is_latin(chars[-1]) and is_latin(raw[j]):
            first_space = next((k for k in range(i, j) if raw[k].isspace()), None)
            if first_space is not None:  # zero-width characters alone join, they do not separate
                chars.append("-")
                offsets.append(first_space)
        i = j
    return "".join(chars), offsets


def split_at_punct(text: str) -> list[tuple[int, int]]:
    """``[start, end)`` pieces of ``text`` ending after ``。！？；`` (and closing quotes after them).

    >>> t = "甲。乙！”丙"; [t[a:b] for a, b in split_at_punct(t)]
    ['甲。', '乙！”', '丙']
    """
    pieces = []
    start = 0
    i = 0
    while i < len(text):
        if text[i] in SENTENCE_END:
            i += 1
            while i < len(text) and (text[i] in SENTENCE_END or text[i] in CLOSERS):
                i += 1
            pieces.append((start, i))
            start = i
        else:
            i += 1
    if start < len(text):
        pieces.append((start, len(text)))
    return pieces


def clean_text(raw: str, *, split_on_punct: bool = False, max_len: int | None = None) -> CleanedText:
    """Split ``raw`` into clean sentences with offsets into ``raw`` (see the module docstring).

    >>> clean_text("甲。乙。\\r\\n\\r\\n丙", split_on_punct=True).texts
    ['甲。', '乙。', '丙']
    """
    if max_len is not None and max_len < 1:
        raise ValueError(f"max_len must be positive, got {max_len}")
    sentences: list[CleanSentence] = []
    for a, b in _lines(raw):
        text, offsets = clean_line(raw, a, b)
        if not text:
            continue
        if split_on_punct or (max_len is not None and len(text) > max_len):
            pieces = split_at_punct(text)
        else:
            pieces = [(0, len(text))]
        sentences.extend(CleanSentence(text[p:q], offsets[p:q]) for p, q in pieces)
    return CleanedText(raw=raw, sentences=sentences)
