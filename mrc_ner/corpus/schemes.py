"""Tagging schemes as tables, and the converters tags ↔ chunks ↔ spans.

A *chunk* is a token range ``(first, last_exclusive, label)``; a :class:`Span` is a
character range. Schemes are data: adding one is adding a row to :data:`SCHEMES`.

Malformed sequences follow one documented policy, shared by the readers, the
evaluator and the paper's post-processing (:mod:`mrc_ner.corpus.postprocess`):

* ``orphan`` – a continuation tag (``I-``/``M-``/``E-``) with no open chunk of its
  type before it. ``"repair"`` (default; what conlleval and seqeval do) opens a new
  chunk there; ``"drop"`` discards the tokens until the next chunk start.
* ``switch`` – a continuation tag of another type than the open chunk
  (``B-gene I-protein``). ``"split"`` (default; conlleval/seqeval) closes the open
  chunk and starts a new one; ``"drop"`` closes the open chunk and discards the
  switched part (the patents paper: *keep only the first same-type part*).

With the defaults, parsing an IOB2 sequence gives exactly the chunks of seqeval's
default mode.

>>> tags_to_chunks(["B-gene", "I-gene", "O", "I-disease"])
[(0, 2, 'gene'), (3, 4, 'disease')]
>>> chunks_to_tags([(0, 2, "gene")], 3, scheme="BIOES")
['B-gene', 'E-gene', 'O']
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from mrc_ner.corpus.model import Sentence, Span
from mrc_ner.errors import InputError

Chunk = tuple[int, int, str]
Orphan = Literal["repair", "drop"]
Switch = Literal["split", "drop"]


@dataclass(frozen=True)
class Scheme:
    """Which prefixes begin, continue, end a chunk, or form a single-token chunk."""

    name: str
    begin: str  # prefix of the first token of a multi-token chunk
    inside: str  # prefix of the middle tokens
    end: str | None  # prefix of the last token (None: the scheme has no end marker)
    single: str | None  # prefix of a one-token chunk (None: written like a begin)
    inside_opens: bool = False  # IOB1: an inside tag is how a chunk normally starts

    @property
    def prefixes(self) -> set[str]:
        """Every prefix the scheme uses besides ``O``."""
        return {p for p in (self.begin, self.inside, self.end, self.single) if p}


SCHEMES: dict[str, Scheme] = {
    "IOB1": Scheme("IOB1", begin="B", inside="I", end=None, single=None, inside_opens=True),
    "IOB2": Scheme("IOB2", begin="B", inside="I", end=None, single=None),
    "BIOES": Scheme("BIOES", begin="B", inside="I", end="E", single="S"),
    "BMES": Scheme("BMES", begin="B", inside="M", end="E", single="S"),
}


def get_scheme(name: str) -> Scheme:
    """Look up a scheme by name (case-insensitive; ``IOB`` means IOB2, ``IOBES`` BIOES)."""
    key = {"IOB": "IOB2", "BIO": "IOB2", "IOBES": "BIOES"}.get(name.upper(), name.upper())
    if key not in SCHEMES:
        raise InputError(f"unknown tagging scheme {name!r}; choose one of {', '.join(SCHEMES)}")
    return SCHEMES[key]


def split_tag(tag: str) -> tuple[str, str]:
    """``"B-gene"`` → ``("B", "gene")``; ``"O"`` → ``("O", "")``. Raises ValueError if malformed."""
    if tag == "O":
        return "O", ""
    prefix, sep, label = tag.partition("-")
    if not sep or not label or not prefix:
        raise ValueError(f"malformed tag {tag!r}")
    return prefix, label


def detect_scheme(tags: Sequence[str]) -> str:
    """Guess the scheme of a tag sequence: BMES if ``M-`` occurs, BIOES if ``E-``/``S-`` do, else IOB2."""
    prefixes = {t.split("-", 1)[0] for t in tags if t != "O"}
    if "M" in prefixes:
        return "BMES"
    if prefixes & {"E", "S"}:
        return "BIOES"
    return "IOB2"


def tags_to_chunks(
    tags: Sequence[str], scheme: str = "IOB2", *, orphan: Orphan = "repair", switch: Switch = "split"
) -> list[Chunk]:
    """Parse a tag sequence into chunks ``(first, last_exclusive, label)``.

    >>> tags_to_chunks(["I-gene", "I-gene", "B-gene"], "IOB1")
    [(0, 2, 'gene'), (2, 3, 'gene')]
    >>> tags_to_chunks(["B-gene", "I-protein", "I-protein"], switch="drop")
    [(0, 1, 'gene')]
    """
    sch = get_scheme(scheme)
    chunks: list[Chunk] = []
    open_start: int | None = None
    open_label = ""
    skip_label: str | None = None  # a dropped orphan/switch run of this type is being skipped

    def close(at: int) -> None:
        nonlocal open_start
        if open_start is not None:
            chunks.append((open_start, at, open_label))
        open_start = None

    for i, tag in enumerate(tags):
        prefix, label = split_tag(tag)
        if prefix == "O":
            close(i)
            skip_label = None
            continue
        if prefix not in sch.prefixes:
            raise ValueError(f"tag {tag!r} is not part of the {sch.name} scheme")
        starts = prefix in (sch.begin, sch.single)
        if not starts and not (open_start is not None and open_label == label):
            if sch.inside_opens and prefix == sch.inside:
                starts = True  # IOB1: I- after O or after another type opens a chunk
            elif skip_label == label:
                continue
            else:
                policy = switch if open_start is not None else orphan
                close(i)
                if policy == "drop":
                    skip_label = label
                    continue
                starts = True
        if starts:
            close(i)
            skip_label = None
            open_start, open_label = i, label
        if sch.end is not None and prefix in (sch.end, sch.single):
            close(i + 1)  # E-/S- end their chunk; a continuation after them is an orphan
    close(len(tags))
    return chunks


def chunks_to_tags(chunks: Sequence[Chunk], length: int, scheme: str = "IOB2") -> list[str]:
    """Write non-overlapping chunks as a tag sequence of ``length`` tokens.

    >>> chunks_to_tags([(0, 1, "gene"), (1, 3, "gene")], 4, scheme="IOB1")
    ['I-gene', 'B-gene', 'I-gene', 'O']
    """
    sch = get_scheme(scheme)
    tags = ["O"] * length
    for a, b, label in sorted(chunks):
        if not (0 <= a < b <= length):
            raise ValueError(f"chunk {(a, b, label)} outside a sequence of {length} tokens")
        if any(t != "O" for t in tags[a:b]):
            raise ValueError(f"chunk {(a, b, label)} overlaps another chunk")
        if b - a == 1 and sch.single:
            tags[a] = f"{sch.single}-{label}"
            continue
        for i in range(a, b):
            tags[i] = f"{sch.inside}-{label}"
        if sch.inside_opens:
            if a > 0 and tags[a - 1] != "O" and split_tag(tags[a - 1])[1] == label:
                tags[a] = f"{sch.begin}-{label}"
        else:
            tags[a] = f"{sch.begin}-{label}"
        if sch.end:
            tags[b - 1] = f"{sch.end}-{label}"
    return tags


def chunks_to_spans(sentence: Sentence, chunks: Sequence[Chunk]) -> list[Span]:
    """Token chunks of ``sentence`` → character spans."""
    return [Span(sentence.tokens[a][0], sentence.tokens[b - 1][1], label) for a, b, label in chunks]


def spans_to_chunks(sentence: Sentence, spans: Sequence[Span]) -> list[Chunk]:
    """Character spans → token chunks. A span edge inside a token snaps outwards to the token edge."""
    out: list[Chunk] = []
    for sp in spans:
        covered = [i for i, (a, b) in enumerate(sentence.tokens) if a < sp.end and sp.start < b]
        if covered:
            out.append((covered[0], covered[-1] + 1, sp.label))
    return out


def sentence_tags(sentence: Sentence, scheme: str = "IOB2") -> list[str]:
    """The tag sequence of a sentence's spans, one tag per token.

    Overlapping spans (possible in predictions of nested-capable methods) keep the
    earlier-starting, then longer span.
    """
    chunks = spans_to_chunks(sentence, sentence.spans)
    chunks.sort(key=lambda c: (c[0], -(c[1] - c[0])))
    flat: list[Chunk] = []
    for c in chunks:
        if not flat or c[0] >= flat[-1][1]:
            flat.append(c)
    return chunks_to_tags(flat, len(sentence.tokens), scheme)
