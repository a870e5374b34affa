"""Whole documents with document-level offsets ↔ :class:`Document`\\ s of sentences.

The document formats (brat, PubTator, BioC) give a text and mentions as offsets
into it. :func:`build_document` splits each passage into sentences
(:mod:`mrc_ner.corpus.sentences`), joins sentences that a mention crosses, and
puts each mention into its sentence; ``sentence.offset`` keeps where the sentence
starts in ``document.text``, so :func:`document_mentions` gives the original
offsets back to the writers.
"""

from __future__ import annotations

import bisect
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from mrc_ner.corpus.model import Document, Passage, Sentence, Span, word_tokens
from mrc_ner.corpus.sentences import is_cjk_text, merge_crossed, sentence_bounds
from mrc_ner.errors import InputError

Level = Literal["auto", "char", "word"]
#: what to do with a mention made of several fragments (brat ``0 5;8 12``, BioC with several locations)
DISCONTINUOUS = ("error", "skip", "join")


@dataclass(frozen=True)
class Mention:
    """A mention as a document format states it: document offsets and where it was read."""

    start: int
    end: int
    label: str
    line: int | None = None
    score: float | None = None


@dataclass
class ReadReport:
    """What a document reader left out, for the command to print: ``(path, line, why)``."""

    skipped: list[tuple[str, int | None, str]] = field(default_factory=list)

    def note(self, path: Path | str, line: int | None, why: str) -> None:
        """Record one mention that was left out."""
        self.skipped.append((str(path), line, why))


def resolve_fragments(
    fragments: Sequence[tuple[int, int]], policy: str, *, path: Path | str, line: int | None, what: str
) -> tuple[int, int] | None:
    """The one range of a mention's fragments under ``policy`` (``error``, ``skip`` or ``join``).

    ``join`` covers the fragments from the first start to the last end; ``skip``
    returns None (the caller counts it); ``error`` raises, naming the place.
    """
    if len(fragments) == 1:
        return fragments[0]
    if policy == "join":
        return min(a for a, _ in fragments), max(b for _, b in fragments)
    if policy == "skip":
        return None
    raise InputError(
        f"discontinuous mention {what} ({len(fragments)} fragments); "
        "use --discontinuous skip to leave such mentions out or join to cover them with one span",
        path=path,
        line=line,
    )


def check_mention_text(
    text: str, start: int, end: int, stated: str | None, *, path: Path | str, line: int | None, what: str
) -> None:
    """Raise unless ``[start, end)`` lies in ``text`` and (when given) spells ``stated``."""
    if not 0 <= start < end <= len(text):
        raise InputError(
            f"{what}: offsets [{start}, {end}) outside a text of {len(text)} characters", path=path, line=line
        )
    if stated is not None and text[start:end] != stated:
        raise InputError(
            f"{what}: text {stated!r} differs from the document's text[{start}:{end}] = {text[start:end]!r}",
            path=path,
            line=line,
        )


def build_document(
    doc_id: str,
    text: str,
    mentions: Iterable[Mention],
    *,
    path: Path | str,
    passages: Sequence[Passage] = (),
    level: Level = "auto",
) -> Document:
    """A :class:`Document` of sentences from a document text and its mentions.

    ``passages`` are split separately (a sentence never spans two); without them the
    whole text is one passage. ``level`` ``auto`` is character-level for CJK text.
    A mention that lies in no sentence (e.g. across two passages) is an InputError.
    """
    char_level = level == "char" or (level == "auto" and is_cjk_text(text))
    parts = list(passages) or [Passage(0, len(text))]
    mentions = sorted(set(mentions), key=lambda m: (m.start, m.end, m.label))
    bounds: list[tuple[int, int]] = []
    for p in parts:
        bounds.extend(
            (p.start + a, p.start + b) for a, b in sentence_bounds(text[p.start : p.end], char_level=char_level)
        )
    # a passage boundary is never joined over: merge within each passage only
    merged: list[tuple[int, int]] = []
    for p in parts:
        inside = [b for b in bounds if p.start <= b[0] < p.end]
        merged.extend(merge_crossed(inside, [(m.start, m.end) for m in mentions if p.start <= m.start < p.end]))
    by_sentence: list[list[Mention]] = [[] for _ in merged]
    starts = [a for a, _ in merged]
    for m in mentions:
        k = bisect.bisect_right(starts, m.start) - 1
        if k < 0 or m.end > merged[k][1]:
            raise InputError(
                f"mention {text[m.start : m.end]!r} [{m.start}, {m.end}) {m.label} lies in no sentence "
                "(it crosses a passage boundary or covers only whitespace)",
                path=path,
                line=m.line,
            )
        by_sentence[k].append(m)
    sentences = []
    for j, ((a, b), ms) in enumerate(zip(merged, by_sentence)):
        stext = text[a:b]
        spans = [Span(m.start - a, m.end - a, m.label, m.score) for m in ms]
        if char_level:
            tokens = [(i, i + 1) for i in range(len(stext))]
        else:
            tokens = word_tokens(stext, cuts=[c for sp in spans for c in (sp.start, sp.end)])
        sentences.append(Sentence(stext, tokens, spans, id=f"{doc_id}:{j}", offset=a, char_level=char_level))
    return Document(doc_id, sentences, text=text, passages=list(passages))


def document_mentions(doc: Document) -> list[tuple[Span, str]]:
    """Every span of ``doc`` in document offsets, with its text, in document order."""
    out = []
    for s in doc.sentences:
        for sp in s.spans:
            out.append((Span(s.offset + sp.start, s.offset + sp.end, sp.label, sp.score), s.mention(sp)))
    out.sort(key=lambda x: x[0].key)
    return out


def document_text(doc: Document) -> str:
    """``doc.text``, checked to hold each sentence at its offset (a writer relies on it)."""
    text = doc.text
    for s in doc.sentences:
        if text[s.offset : s.offset + len(s.text)] != s.text:
            raise InputError(f"document {doc.id!r}: sentence {s.id!r} is not at offset {s.offset} of the document text")
    return text


def passages_of(doc: Document) -> list[Passage]:
    """The document's passages, or one passage over the whole text."""
    return list(doc.passages) or [Passage(0, len(doc.text))]


def document_as_sentence(doc: Document) -> Sentence:
    """The whole document as one sentence: its text, every token and span in document offsets.

    For comparing two annotations of the same documents whose sentence splits differ
    (a document reader joins sentences that a mention crosses, so gold and predicted
    brat files of one text may split differently). Spans never cross sentences, so
    scores per document equal scores per sentence.
    """
    tokens = [(s.offset + a, s.offset + b) for s in doc.sentences for a, b in s.tokens]
    spans = [sp for sp, _ in document_mentions(doc)]
    char_level = all(s.char_level for s in doc.sentences) if doc.sentences else True
    return Sentence(document_text(doc), tokens, spans, id=doc.id, char_level=char_level)
