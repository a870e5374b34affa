"""Sentence → encoder token ids, and the map back from tokens to *units*.

A *unit* is what gets one prediction and what spans are made of:

* ``char`` mode (character corpora such as the Chinese patents): every character is
  a unit and one model token. Each character goes through the tokenizer's
  normalizer and is looked up in the vocabulary as a piece (with or without the
  sentencepiece ``▁`` / WordPiece ``##`` marker), else UNK. This avoids XLM-R's
  ``is_split_into_words``, which inserts a separate ``▁`` token per character.
* ``word`` mode (word corpora such as the English BioNER sets): units are the
  sentence's words; each word's first sub-token carries its prediction.
* ``mixed`` mode (character corpora with Latin names inside, such as the patents):
  every CJK character, punctuation mark or other symbol is a unit and one token, as in
  ``char`` mode, but each run of ASCII letters and digits (``BRCA1``) is given the
  tokenizer's own pieces of that run (``▁B RCA 1``), each piece a unit — what
  bert-base-chinese's tokenizer does. Edges inside a piece are lost as in ``subword``
  mode, but only inside Latin runs (11 of cbp_gold's 9,642 mentions, against 230).
* ``subword`` mode (character corpora, shorter sequences): units are the
  tokenizer's own pieces with their character offsets. A mention whose edge falls
  inside a piece cannot be recovered exactly; :func:`subword_boundary_loss`
  measures that share (the F1 ceiling of the mode).

Every unit carries a character range ``[start, end)`` into the sentence text, so
unit predictions map back to character spans exactly.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Literal, cast

from mrc_ner.corpus.model import Sentence, Span
from mrc_ner.errors import InputError

AlignMode = Literal["char", "word", "subword", "mixed"]
ALIGN_MODES: tuple[str, ...] = ("char", "word", "subword", "mixed")
_LATIN_RUN = re.compile(r"[A-Za-z0-9]+")


@dataclass
class Aligned:
    """A sentence as model tokens (no special tokens) and units.

    ``token_unit[i]`` is the unit whose prediction token ``i`` carries, or -1 for a
    non-first sub-token. ``units[u]`` is the unit's character range.
    """

    input_ids: list[int]
    token_unit: list[int]
    units: list[tuple[int, int]]
    unk_count: int = 0

    def __len__(self) -> int:
        return len(self.input_ids)


def character_level(sentences: Sequence[Sentence]) -> bool:
    """Whether training sentences are character-level (judged on the first 200)."""
    return all(s.char_level for s in sentences[:200])


def resolve_align(align: str, sentences: Sequence[Sentence], *, queries: bool = False) -> str:
    """A new model's alignment mode. ``auto``: ``word`` for word-level training sentences; for
    character-level ones ``char`` for the labelers and ``mixed`` for the query (MRC) methods.

    The choice per method is what measured best on the Chinese patents (BENCHMARKS.md):
    a labeler scores higher with one token per character, an MRC model finds the Latin
    gene and protein names only when they keep the tokenizer's pieces.

    >>> from mrc_ner.corpus.model import Sentence
    >>> zh = [Sentence.from_text("抑制BRCA1")]
    >>> resolve_align("auto", zh), resolve_align("auto", zh, queries=True), resolve_align("subword", zh)
    ('char', 'mixed', 'subword')
    """
    if align != "auto":
        return align
    if not character_level(sentences):
        return "word"
    return "mixed" if queries else "char"


def sentence_mode(align_mode: str, sentence: Sentence) -> AlignMode:
    """The mode a model with ``align_mode`` aligns ``sentence`` in: word-level sentences by words,
    character-level ones by characters unless the model was trained with a finer mode."""
    if not sentence.char_level:
        return "word"
    return "char" if align_mode in ("auto", "word") else cast(AlignMode, align_mode)


class CharVocab:
    """Character → token id lookup through a fast tokenizer's normalizer and vocabulary."""

    def __init__(self, tokenizer) -> None:
        self.tokenizer = tokenizer
        self.vocab: dict[str, int] = tokenizer.get_vocab()
        self.unk_id: int = tokenizer.unk_token_id if tokenizer.unk_token_id is not None else 0
        backend = getattr(tokenizer, "backend_tokenizer", None)
        self.normalizer = backend.normalizer if backend is not None else None
        self._cache: dict[str, int] = {}
        self._pieces: dict[str, list[tuple[int, int, int]]] = {}
        self.lowercase = bool(getattr(tokenizer, "do_lower_case", False))

    def _normalize(self, ch: str) -> str:
        if self.normalizer is not None:
            try:
                ch = self.normalizer.normalize_str(ch)
            except Exception:  # a normalizer that cannot take one char: keep it
                pass
        return ch.strip()

    def lookup(self, ch: str) -> int:
        """The token id of one character (UNK when the vocabulary has no piece for it)."""
        hit = self._cache.get(ch)
        if hit is not None:
            return hit
        tid = self.unk_id
        for form in dict.fromkeys((self._normalize(ch), ch, ch.lower())):
            if not form:
                continue
            for cand in (form, "▁" + form, "##" + form):
                if cand in self.vocab:
                    tid = self.vocab[cand]
                    break
            if tid != self.unk_id:
                break
        if tid == self.unk_id and ch.isspace():
            tid = self.vocab.get("▁", self.unk_id)
        self._cache[ch] = tid
        return tid

    def pieces(self, run: str) -> list[tuple[int, int, int]]:
        """The tokenizer's pieces of a standalone run as ``(token id, start, end)`` (cached).

        A bare ``▁`` piece, which covers no character, comes back with ``start == end``.
        """
        hit = self._pieces.get(run)
        if hit is None:
            enc = self.tokenizer(run, add_special_tokens=False, return_offsets_mapping=True, verbose=False)
            hit = []
            for tid, (a, b) in zip(enc["input_ids"], enc["offset_mapping"]):
                while a < b and run[a].isspace():
                    a += 1
                hit.append((tid, a, max(a, b)))
            self._pieces[run] = hit
        return hit


@lru_cache(maxsize=8)
def _char_vocab(tokenizer_id: int, tokenizer) -> CharVocab:  # keyed by id: tokenizers aren't hashable
    return CharVocab(tokenizer)


def char_vocab(tokenizer) -> CharVocab:
    """A cached :class:`CharVocab` for ``tokenizer``."""
    return _char_vocab(id(tokenizer), tokenizer)


def align(sentence: Sentence, tokenizer, mode: AlignMode) -> Aligned:
    """Tokenize ``sentence`` in the given alignment mode (see the module docstring)."""
    if mode == "char":
        cv = char_vocab(tokenizer)
        ids = [cv.lookup(c) for c in sentence.text]
        return Aligned(
            ids, list(range(len(ids))), [(i, i + 1) for i in range(len(ids))], sum(i == cv.unk_id for i in ids)
        )
    if mode == "word":
        return _align_words(sentence, tokenizer)
    if mode == "subword":
        return _align_subwords(sentence, tokenizer)
    if mode == "mixed":
        return _align_mixed(sentence, tokenizer)
    raise InputError(f"unknown alignment mode {mode!r}; choose one of {', '.join(ALIGN_MODES)}")


def _align_words(sentence: Sentence, tokenizer) -> Aligned:
    words = sentence.words
    if not words:
        return Aligned([], [], [])
    # verbose=False: a sentence longer than the encoder's limit is windowed later, so the
    # tokenizer's "longer than the specified maximum" warning would only alarm users.
    enc = tokenizer(words, is_split_into_words=True, add_special_tokens=False, verbose=False)
    ids: list[int] = enc["input_ids"]
    word_ids = enc.word_ids()
    token_unit, seen = [], set()
    for w in word_ids:
        if w is None or w in seen:
            token_unit.append(-1)
        else:
            seen.add(w)
            token_unit.append(w)
    # A word the tokenizer turned into nothing (e.g. a control character) still needs a
    # prediction slot: give it an UNK token so no unit is ever dropped.
    for w in range(len(words)):
        if w not in seen:
            ids.append(tokenizer.unk_token_id)
            token_unit.append(w)
    unk = sum(i == tokenizer.unk_token_id for i in ids)
    return Aligned(ids, token_unit, list(sentence.tokens), unk)


def _align_mixed(sentence: Sentence, tokenizer) -> Aligned:
    cv = char_vocab(tokenizer)
    text = sentence.text
    ids: list[int] = []
    token_unit: list[int] = []
    units: list[tuple[int, int]] = []

    def chars(a: int, b: int) -> None:
        for i in range(a, b):
            ids.append(cv.lookup(text[i]))
            token_unit.append(len(units))
            units.append((i, i + 1))

    pos = 0
    for m in _LATIN_RUN.finditer(text):
        chars(pos, m.start())
        covered = m.start()
        for tid, a, b in cv.pieces(m.group()):
            a, b = max(m.start() + a, covered), m.start() + b
            ids.append(tid)
            if a >= b:  # a bare "▁" (or a piece already covered): a token that carries no unit
                token_unit.append(-1)
                continue
            token_unit.append(len(units))
            units.append((a, b))
            covered = b
        if covered < m.end():  # the tokenizer dropped characters (normalisation): keep them as units
            chars(covered, m.end())
        pos = m.end()
    chars(pos, len(text))
    return Aligned(ids, token_unit, units, sum(i == cv.unk_id for i in ids))


def _align_subwords(sentence: Sentence, tokenizer) -> Aligned:
    enc = tokenizer(
        sentence.text, add_special_tokens=False, return_offsets_mapping=True, verbose=False
    )  # windowed later: see _align_words
    ids: list[int] = []
    units: list[tuple[int, int]] = []
    token_unit: list[int] = []
    text = sentence.text
    for tid, (a, b) in zip(enc["input_ids"], enc["offset_mapping"]):
        while a < b and text[a].isspace():  # sentencepiece offsets may include the leading space
            a += 1
        if a >= b:
            continue  # a bare "▁" piece covers no character of its own
        if units and a < units[-1][1]:
            a = units[-1][1]
            if a >= b:
                continue
        ids.append(tid)
        token_unit.append(len(units))
        units.append((a, b))
    unk = sum(i == tokenizer.unk_token_id for i in ids)
    return Aligned(ids, token_unit, units, unk)


def spans_to_unit_chunks(units: Sequence[tuple[int, int]], spans: Sequence[Span]) -> list[tuple[int, int, str]]:
    """Character spans → unit ranges ``(first, last_exclusive, label)``; edges snap outwards."""
    out = []
    for sp in spans:
        covered = [u for u, (a, b) in enumerate(units) if a < sp.end and sp.start < b]
        if covered:
            out.append((covered[0], covered[-1] + 1, sp.label))
    return out


def unit_chunks_to_spans(units: Sequence[tuple[int, int]], chunks, scores: Sequence[float] | None = None) -> list[Span]:
    """Unit ranges → character spans (with optional scores)."""
    out = []
    for k, (a, b, label) in enumerate(chunks):
        out.append(Span(units[a][0], units[b - 1][1], label, None if scores is None else float(scores[k])))
    return out


def subword_boundary_loss(sentences: Sequence[Sentence], tokenizer) -> tuple[int, int]:
    """(mentions whose edge falls inside a subword piece, all mentions): the subword-mode F1 ceiling."""
    lost = total = 0
    for s in sentences:
        al = _align_subwords(s, tokenizer)
        starts = {a for a, _ in al.units}
        ends = {b for _, b in al.units}
        for sp in s.spans:
            total += 1
            if sp.start not in starts or sp.end not in ends:
                lost += 1
    return lost, total
