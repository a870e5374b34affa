"""The corpus data model: :class:`Span`, :class:`Sentence`, :class:`Document`, :class:`Corpus`.

The one span convention of the whole package
--------------------------------------------
A span is ``(start, end, label)`` in **character offsets into the sentence text,
``end`` exclusive**: ``sentence.text[span.start:span.end]`` is the mention. Every
reader, writer, converter, decoder and metric uses this convention; nothing in the
package uses inclusive ends or token indices in its public interface.

A sentence also knows its tokens as character ranges (``tokens``). For a
character-level corpus (Chinese patents) every character is a token; for a
word-level corpus (English CoNLL files) tokens are the words, joined by one space.
Tag sequences (IOB and friends) are always per token.

A document keeps its sentences in order; ``sentence.offset`` is where the
sentence starts in ``document.text`` (sentences are joined with ``"\\n"`` unless a
reader knows the original text, as the raw-text cleaner does).
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

_WORD_RE = re.compile(r"\w+|[^\w\s]", re.UNICODE)


def word_tokens(text: str, *, cuts: Iterable[int] = ()) -> list[tuple[int, int]]:
    """Word-level tokens of ``text`` as character ranges: runs of word characters and single
    punctuation marks (whitespace is not a token). ``cuts`` are offsets where a token must
    also end (e.g. entity boundaries), so spans there stay exact.

    >>> word_tokens("BRCA1-mutated cells.")
    [(0, 5), (5, 6), (6, 13), (14, 19), (19, 20)]
    >>> word_tokens("p53mutation", cuts=[3])
    [(0, 3), (3, 11)]
    """
    cut = sorted(set(cuts))
    out: list[tuple[int, int]] = []
    for m in _WORD_RE.finditer(text):
        a, b = m.start(), m.end()
        for c in cut:
            if a < c < b:
                out.append((a, c))
                a = c
        out.append((a, b))
    return out


@dataclass(frozen=True, order=True)
class Span:
    """A labelled character range ``[start, end)`` of a sentence.

    >>> s = Span(0, 5, "gene"); "BRCA1 is mutated"[s.start:s.end]
    'BRCA1'
    """

    start: int
    end: int
    label: str
    score: float | None = field(default=None, compare=False)

    def __post_init__(self) -> None:
        if not (0 <= self.start < self.end):
            raise ValueError(f"invalid span [{self.start}, {self.end}) for {self.label!r}")

    def overlaps(self, other: Span) -> bool:
        """True when the two character ranges share at least one character."""
        return self.start < other.end and other.start < self.end

    @property
    def key(self) -> tuple[int, int, str]:
        """``(start, end, label)`` without the score, for set comparisons."""
        return (self.start, self.end, self.label)


Token = tuple[int, int]


@dataclass
class Sentence:
    """One sentence: its text, token ranges, gold (or predicted) spans.

    ``char_level`` says whether ``tokens`` are single characters joined directly
    (True) or words joined by spaces (False).
    """

    text: str
    tokens: list[Token]
    spans: list[Span] = field(default_factory=list)
    id: str = ""
    offset: int = 0
    char_level: bool = True
    #: the tags as read from a column file (kept so post-processing can see malformed runs)
    raw_tags: list[str] | None = field(default=None, repr=False, compare=False)
    #: the entity types this sentence's corpus annotates; None = every type. A sentence of
    #: NCBI-disease in a joint training set says nothing about genes: MRC asks it only the
    #: queries of its own types, and it is scored only on them.
    annotated_types: frozenset[str] | None = field(default=None, repr=False, compare=False)

    @classmethod
    def from_text(cls, text: str, spans: Iterable[Span] = (), **kw) -> Sentence:
        """A character-level sentence: every character is a token."""
        return cls(text=text, tokens=[(i, i + 1) for i in range(len(text))], spans=list(spans), char_level=True, **kw)

    @classmethod
    def from_tokens(
        cls, words: list[str], *, char_level: bool, spans_by_token: Iterable[tuple[int, int, str]] = (), **kw
    ) -> Sentence:
        """Build from tokens; spans given as token ranges ``(first, last_exclusive, label)``."""
        sep = "" if char_level else " "
        tokens: list[Token] = []
        pos = 0
        for i, w in enumerate(words):
            if i:
                pos += len(sep)
            tokens.append((pos, pos + len(w)))
            pos += len(w)
        text = sep.join(words)
        spans = [Span(tokens[a][0], tokens[b - 1][1], lab) for a, b, lab in spans_by_token]
        return cls(text=text, tokens=tokens, spans=spans, char_level=char_level, **kw)

    @property
    def words(self) -> list[str]:
        """The token strings."""
        return [self.text[a:b] for a, b in self.tokens]

    def mention(self, span: Span) -> str:
        """The text of ``span``."""
        return self.text[span.start : span.end]

    def token_index(self) -> tuple[dict[int, int], dict[int, int]]:
        """Maps from a token's start char → token index and end char → token index."""
        starts = {a: i for i, (a, _) in enumerate(self.tokens)}
        ends = {b: i for i, (_, b) in enumerate(self.tokens)}
        return starts, ends

    def with_spans(self, spans: Iterable[Span]) -> Sentence:
        """A copy of this sentence carrying other spans (e.g. predictions)."""
        return Sentence(
            self.text,
            self.tokens,
            sorted(spans),
            self.id,
            self.offset,
            self.char_level,
            annotated_types=self.annotated_types,
        )


def word_sentence(text: str, **kw: Any) -> Sentence:
    """A word-level sentence over ``text``: runs of word characters and single punctuation marks.

    Token offsets point into ``text`` as given (whitespace is kept), so spans stay exact.
    """
    return Sentence(text=text, tokens=word_tokens(text), char_level=False, **kw)


def document_of(sentence: Sentence) -> str:
    """The document a sentence id names: the part before its last ``:`` (the whole id if none).

    >>> document_of(Sentence.from_text("x", id="CN107748147A:3")), document_of(Sentence.from_text("x", id="s1"))
    ('CN107748147A', 's1')
    """
    return sentence.id.rsplit(":", 1)[0]


@dataclass(frozen=True)
class Passage:
    """A part of a document's text (title, abstract, a BioC passage): ``[start, end)`` and its infons."""

    start: int
    end: int
    infons: dict[str, str] = field(default_factory=dict, compare=False, hash=False)


@dataclass
class Document:
    """A document: sentences in order, each with its offset into ``text``.

    ``passages`` are the parts a document format gave (PubTator title and abstract,
    BioC passages), kept so that a writer can give them back; empty for formats
    without them.
    """

    id: str
    sentences: list[Sentence]
    text: str = ""
    passages: list[Passage] = field(default_factory=list)

    def __post_init__(self) -> None:
        if not self.text and self.sentences:
            self.relayout()

    def relayout(self) -> None:
        """Set ``text`` to the sentences joined by newlines and recompute offsets."""
        pos = 0
        for s in self.sentences:
            s.offset = pos
            pos += len(s.text) + 1
        self.text = "\n".join(s.text for s in self.sentences)


@dataclass
class Corpus:
    """An ordered collection of documents."""

    documents: list[Document]
    name: str = ""

    def __iter__(self) -> Iterator[Document]:
        return iter(self.documents)

    def __len__(self) -> int:
        return len(self.documents)

    @property
    def sentences(self) -> list[Sentence]:
        """Every sentence of every document, in order."""
        return [s for d in self.documents for s in d.sentences]

    @property
    def labels(self) -> list[str]:
        """Sorted entity types that occur in the corpus."""
        return sorted({sp.label for s in self.sentences for sp in s.spans})

    def subset(self, ids: Iterable[str], name: str = "") -> Corpus:
        """The documents with these ids, in the order given."""
        by_id = {d.id: d for d in self.documents}
        missing = [i for i in ids if i not in by_id]
        if missing:
            from mrc_ner.errors import InputError

            raise InputError(f"document(s) not in corpus {self.name!r}: {', '.join(missing)}")
        return Corpus([by_id[i] for i in ids], name=name or self.name)

    def mention_counts(self) -> dict[str, Counter]:
        """Per type, a Counter of mention strings."""
        out: dict[str, Counter] = {}
        for s in self.sentences:
            for sp in s.spans:
                out.setdefault(sp.label, Counter())[s.mention(sp)] += 1
        return out
