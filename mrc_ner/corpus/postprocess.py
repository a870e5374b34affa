"""The patents paper's post-processing of predicted entities, as one reusable step.

Rules, applied in this order (every removal is counted per rule and per type in a
:class:`PostprocessReport`):

1. ``single_char`` — drop entities shorter than ``min_length`` characters (2: single
   characters, which are almost never a gene, protein or disease in Chinese).
2. an entity is a begin tag followed by continuation tags of the *same* type
   (token level only, :func:`postprocess_tags`):

   * ``orphan_repaired`` / ``orphan_dropped`` — a run that starts with a continuation
     tag (``O I-gene I-gene``) is treated as an entity (``orphan="repair"``) or dropped
     (``orphan="drop"``);
   * ``type_switch`` — a run that switches type (``B-gene I-protein``) keeps only its
     first same-type part.

   A continuation tag of a third type right after a dropped switch run
   (``B-gene I-protein I-gene``) is, under this policy, an orphan: repaired or
   dropped, and counted as such. This is the ``orphan``/``switch="drop"`` policy of
   :func:`~mrc_ner.corpus.schemes.tags_to_chunks`; the counts come from comparing its
   parse with the default (seqeval-like) parse.
3. ``invalid_symbol`` — drop entities containing any of ``invalid_symbols``.

>>> s = Sentence.from_text("KRAS和p53")
>>> tags = ["B-gene", "I-gene", "I-gene", "I-gene", "O", "I-protein", "I-protein", "I-protein"]
>>> spans, report = postprocess_tags(s, tags)
>>> [s.mention(sp) for sp in spans], dict(report.orphan_repaired)
(['KRAS', 'p53'], {'protein': 1})
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, fields

from mrc_ner.corpus.model import Corpus, Document, Sentence, Span
from mrc_ner.corpus.schemes import Chunk, Orphan, chunks_to_spans, get_scheme, split_tag, tags_to_chunks

INVALID_SYMBOLS: frozenset[str] = frozenset("?~˜。")
RULES = ("single_char", "orphan_repaired", "orphan_dropped", "type_switch", "invalid_symbol")


@dataclass
class PostprocessReport:
    """What post-processing did: per rule, a Counter of entities per type; ``kept`` per type.

    Reports add up (``report_a + report_b``, or ``sum(reports, PostprocessReport())``).
    ``orphan_repaired`` counts entities *kept* after repair, the others count removals.
    """

    single_char: Counter = field(default_factory=Counter)
    orphan_repaired: Counter = field(default_factory=Counter)
    orphan_dropped: Counter = field(default_factory=Counter)
    type_switch: Counter = field(default_factory=Counter)
    invalid_symbol: Counter = field(default_factory=Counter)
    kept: Counter = field(default_factory=Counter)

    def __add__(self, other: PostprocessReport) -> PostprocessReport:
        if not isinstance(other, PostprocessReport):
            return NotImplemented
        return PostprocessReport(**{f.name: getattr(self, f.name) + getattr(other, f.name) for f in fields(self)})

    def __radd__(self, other: object) -> PostprocessReport:
        if other == 0:  # sum() starts from 0
            return self
        return NotImplemented

    @property
    def removed(self) -> int:
        """How many entities the rules removed in all (repairs are not removals)."""
        return sum(sum(getattr(self, r).values()) for r in RULES if r != "orphan_repaired")

    def as_dict(self) -> dict[str, dict[str, int]]:
        """``{rule: {type: count}}`` for every rule and ``kept``, types sorted; JSON-ready."""
        return {f.name: dict(sorted(getattr(self, f.name).items())) for f in fields(self)}


def _filter_spans(
    sentence: Sentence,
    spans: Iterable[Span],
    *,
    min_length: int,
    invalid_symbols: frozenset[str],
    report: PostprocessReport,
) -> list[Span]:
    """Rules 1 and 3; counts into ``report`` (including ``kept``)."""
    out = []
    for sp in spans:
        text = sentence.mention(sp)
        if len(text) < min_length:
            report.single_char[sp.label] += 1
        elif invalid_symbols and any(ch in invalid_symbols for ch in text):
            report.invalid_symbol[sp.label] += 1
        else:
            report.kept[sp.label] += 1
            out.append(sp)
    return sorted(out)


def postprocess_spans(
    sentence: Sentence,
    spans: Iterable[Span] | None = None,
    *,
    min_length: int = 2,
    invalid_symbols: frozenset[str] = INVALID_SYMBOLS,
) -> tuple[list[Span], PostprocessReport]:
    """Rules 1 and 3 on character spans (for span-output models); ``spans`` defaults to ``sentence.spans``.

    >>> s = Sentence.from_text("p53和KRAS?")
    >>> postprocess_spans(s, [Span(0, 1, "protein"), Span(4, 9, "gene")])[1].removed
    2
    """
    report = PostprocessReport()
    kept = _filter_spans(
        sentence,
        sentence.spans if spans is None else spans,
        min_length=min_length,
        invalid_symbols=invalid_symbols,
        report=report,
    )
    return kept, report


def _repaired_start(tag: str, scheme: str) -> bool:
    """True when a chunk starting at ``tag`` was opened by repairing a continuation tag."""
    sch = get_scheme(scheme)
    prefix = split_tag(tag)[0]
    return prefix not in (sch.begin, sch.single) and not (sch.inside_opens and prefix == sch.inside)


def _count_missing(before: Sequence[Chunk], after: Sequence[Chunk], into: Counter) -> None:
    kept = set(after)
    for c in before:
        if c not in kept:
            into[c[2]] += 1


def postprocess_tags(
    sentence: Sentence,
    tags: Sequence[str],
    *,
    scheme: str = "IOB2",
    min_length: int = 2,
    orphan: Orphan = "repair",
    invalid_symbols: frozenset[str] = INVALID_SYMBOLS,
) -> tuple[list[Span], PostprocessReport]:
    """All three rules on a token-level tag sequence of ``sentence`` (for tag-output models).

    Returns the kept entities as character spans of ``sentence`` and the report.
    Raises ValueError when ``tags`` is not one tag per token or holds a malformed tag.
    """
    if len(tags) != len(sentence.tokens):
        raise ValueError(f"{len(tags)} tags for a sentence of {len(sentence.tokens)} tokens")
    report = PostprocessReport()
    default = tags_to_chunks(tags, scheme)  # orphans repaired, switches split
    no_switch = tags_to_chunks(tags, scheme, orphan="repair", switch="drop")
    final = no_switch if orphan == "repair" else tags_to_chunks(tags, scheme, orphan=orphan, switch="drop")
    _count_missing(default, no_switch, report.type_switch)
    _count_missing(no_switch, final, report.orphan_dropped)
    for a, _, label in final:
        if _repaired_start(tags[a], scheme):
            report.orphan_repaired[label] += 1
    spans = _filter_spans(
        sentence,
        chunks_to_spans(sentence, final),
        min_length=min_length,
        invalid_symbols=invalid_symbols,
        report=report,
    )
    return spans, report


def postprocess_corpus(
    corpus: Corpus,
    *,
    tags: Sequence[Sequence[str]] | None = None,
    scheme: str = "IOB2",
    min_length: int = 2,
    orphan: Orphan = "repair",
    invalid_symbols: frozenset[str] = INVALID_SYMBOLS,
) -> tuple[Corpus, PostprocessReport]:
    """Post-process every sentence of ``corpus``; returns a new corpus and the summed report.

    Without ``tags`` the sentences' spans get rules 1 and 3 (spans read from a file were
    already parsed, so rule 2 has nothing left to do). With ``tags`` — one tag sequence
    per sentence of ``corpus.sentences``, e.g. a tagger's raw output — the spans are
    rebuilt from the tags with all three rules. Documents keep their ids and text.
    """
    sentences = corpus.sentences
    if tags is not None and len(tags) != len(sentences):
        raise ValueError(f"{len(tags)} tag sequences for {len(sentences)} sentences")
    total = PostprocessReport()
    k = 0
    docs = []
    for doc in corpus.documents:
        new_sents = []
        for s in doc.sentences:
            if tags is None:
                spans, rep = postprocess_spans(s, min_length=min_length, invalid_symbols=invalid_symbols)
            else:
                spans, rep = postprocess_tags(
                    s, tags[k], scheme=scheme, min_length=min_length, orphan=orphan, invalid_symbols=invalid_symbols
                )
            k += 1
            total = total + rep
            new_sents.append(s.with_spans(spans))
        docs.append(Document(doc.id, new_sents, text=doc.text))
    return Corpus(docs, name=corpus.name), total


def postprocess_sentences(
    sentences: Sequence[Sentence],
    *,
    min_length: int = 2,
    orphan: Orphan = "repair",
    invalid_symbols: frozenset[str] = INVALID_SYMBOLS,
) -> tuple[list[Sentence], PostprocessReport]:
    """All three rules on sentences that still carry the tags they were read with
    (``raw_tags``, IOB2 or another scheme detected per sentence), rules 1 and 3 on the others
    (e.g. a model's flat predictions, where rule 2 has nothing to repair).
    """
    from mrc_ner.corpus.schemes import detect_scheme

    out, total = [], PostprocessReport()
    for s in sentences:
        if s.raw_tags is not None:
            spans, rep = postprocess_tags(
                s,
                s.raw_tags,
                scheme=detect_scheme(s.raw_tags),
                min_length=min_length,
                orphan=orphan,
                invalid_symbols=invalid_symbols,
            )
        else:
            spans, rep = postprocess_spans(s, min_length=min_length, invalid_symbols=invalid_symbols)
        out.append(s.with_spans(spans))
        total = total + rep
    return out, total


def report_table(report: PostprocessReport):
    """A rich table: one row per rule, one column per type."""
    from rich.table import Table

    d = report.as_dict()
    types = sorted({t for counts in d.values() for t in counts})
    table = Table(title="post-processing (entities per rule)")
    table.add_column("rule")
    for t in types:
        table.add_column(t, justify="right")
    for rule, counts in d.items():
        table.add_row(rule, *(str(counts.get(t, 0)) for t in types))
    return table
