"""One type per name within a document, and every occurrence of a found name tagged.

A patent names the same gene dozens of times; a model that tags ``SMAD2`` as a gene in
one sentence may call it protein in the next or miss it in a third. Two document-level
rules, applied to predictions (never to gold):

* ``retype`` — every predicted mention of a name gets the type the document's
  predictions give that name most often (a tie leaves each mention's own type);
* ``propagate`` — every further occurrence of a predicted name in the document is
  tagged with that type, where it covers whole tokens, does not cut a run of Latin
  letters and digits (``MAD2`` inside ``SMAD2``) and touches no predicted mention; it
  carries the highest score the document's predictions gave the name.

Names are exact strings (case kept: ``KsdA`` and ``ksdA`` are two names). Sentences
belong to the document their id names before its last ``:`` (``patent:12``), the ids
every reader in this package writes.

>>> from mrc_ner.corpus.model import Sentence, Span
>>> a = Sentence.from_text("SMAD2和BAMBI", id="d:0")
>>> b = Sentence.from_text("抑制SMAD2表达", id="d:1")
>>> spans, report = make_consistent([a, b], [[Span(0, 5, "gene"), Span(6, 11, "protein")], []])
>>> [[(x.start, x.end, x.label) for x in s] for s in spans], dict(report.added)
([[(0, 5, 'gene'), (6, 11, 'protein')], [(2, 7, 'gene')]], {'gene': 1})
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from mrc_ner.corpus.model import Sentence, Span, document_of
from mrc_ner.errors import InputError

#: the ``--consistency`` modes: which rules each applies, ``(retype, propagate)``
MODES: dict[str, tuple[bool, bool]] = {
    "none": (False, False),
    "retype": (True, False),
    "propagate": (False, True),
    "both": (True, True),
}


@dataclass
class ConsistencyReport:
    """What the rules changed: mentions retyped (by new type) and added (by type)."""

    retyped: Counter = field(default_factory=Counter)
    added: Counter = field(default_factory=Counter)

    def as_dict(self) -> dict[str, dict[str, int]]:
        """``{"retyped": {type: n}, "added": {type: n}}``, types sorted; JSON-ready."""
        return {"retyped": dict(sorted(self.retyped.items())), "added": dict(sorted(self.added.items()))}

    def __add__(self, other: ConsistencyReport) -> ConsistencyReport:
        """Both reports' changes summed (several documents' into one run's).

        >>> a = ConsistencyReport(Counter(gene=1), Counter(gene=2)) + ConsistencyReport(added=Counter(protein=1))
        >>> a.as_dict()
        {'retyped': {'gene': 1}, 'added': {'gene': 2, 'protein': 1}}
        """
        if not isinstance(other, ConsistencyReport):
            return NotImplemented
        return ConsistencyReport(self.retyped + other.retyped, self.added + other.added)


def _latin(ch: str) -> bool:
    return ch.isascii() and ch.isalnum()


def _cuts_latin_run(text: str, start: int, end: int) -> bool:
    """True when ``text[start:end]`` starts or ends inside a run of ASCII letters and digits."""
    left = start > 0 and _latin(text[start - 1]) and _latin(text[start])
    right = end < len(text) and _latin(text[end]) and _latin(text[end - 1])
    return left or right


def name_types(sentences: Sequence[Sentence], predictions: Sequence[Sequence[Span]]) -> dict[str, str]:
    """Each predicted name's majority type over these sentences; names with a tied vote are left out.

    >>> from mrc_ner.corpus.model import Sentence, Span
    >>> s = Sentence.from_text("KsdA KsdA cxgB")
    >>> name_types([s], [[Span(0, 4, "gene"), Span(5, 9, "protein"), Span(10, 14, "gene")]])
    {'cxgB': 'gene'}
    """
    votes: dict[str, Counter] = defaultdict(Counter)
    for sentence, spans in zip(sentences, predictions, strict=True):
        for span in spans:
            votes[sentence.mention(span)][span.label] += 1
    chosen = {}
    for name, counts in votes.items():
        ranked = counts.most_common(2)
        if len(ranked) == 1 or ranked[0][1] > ranked[1][1]:
            chosen[name] = ranked[0][0]
    return chosen


def _occurrences(sentence: Sentence, name: str, starts: dict[int, int], ends: dict[int, int]) -> list[tuple[int, int]]:
    """Where ``name`` stands in the sentence on token edges (``starts``, ``ends``: its token index) without cutting a Latin run."""
    found, at = [], sentence.text.find(name)
    while at >= 0:
        end = at + len(name)
        if at in starts and end in ends and not _cuts_latin_run(sentence.text, at, end):
            found.append((at, end))
        at = sentence.text.find(name, at + 1)
    return found


def _best_scores(sentences: Sequence[Sentence], predictions: Sequence[Sequence[Span]]) -> dict[str, float]:
    """Each predicted name's highest score (names predicted without scores are left out)."""
    best: dict[str, float] = {}
    for sentence, spans in zip(sentences, predictions, strict=True):
        for span in spans:
            if span.score is not None:
                name = sentence.mention(span)
                best[name] = max(best.get(name, span.score), span.score)
    return best


def _propagate(
    sentence: Sentence, spans: list[Span], names: dict[str, str], scores: dict[str, float], min_length: int
) -> list[Span]:
    """The new spans: every free occurrence of the names, longest names first, with the name's best score."""
    taken = [(s.start, s.end) for s in spans]
    added: list[Span] = []
    starts, ends = sentence.token_index()  # once per sentence, not once per name
    for name in sorted(names, key=lambda n: (-len(n), n)):
        if len(name) < min_length or name not in sentence.text:
            continue
        for a, b in _occurrences(sentence, name, starts, ends):
            if all(b <= x or a >= y for x, y in taken):
                taken.append((a, b))
                added.append(Span(a, b, names[name], scores.get(name)))
    return added


def make_consistent(
    sentences: Sequence[Sentence],
    predictions: Sequence[Sequence[Span]],
    *,
    retype: bool = True,
    propagate: bool = True,
    min_length: int = 2,
    document: Callable[[Sentence], str] = document_of,
) -> tuple[list[list[Span]], ConsistencyReport]:
    """Apply the two rules per document; the new spans per sentence (sorted) and a report.

    ``min_length`` keeps single characters from being propagated (a one-character name
    would be tagged wherever that character stands). Sentences of one document need not
    be adjacent.
    """
    if len(sentences) != len(predictions):
        raise ValueError(f"{len(sentences)} sentences but {len(predictions)} prediction lists")
    report = ConsistencyReport()
    out: list[list[Span]] = [list(spans) for spans in predictions]
    by_document: dict[str, list[int]] = defaultdict(list)
    for i, sentence in enumerate(sentences):
        by_document[document(sentence)].append(i)
    for members in by_document.values():
        names = name_types([sentences[i] for i in members], [out[i] for i in members])
        scores = _best_scores([sentences[i] for i in members], [out[i] for i in members]) if propagate else {}
        for i in members:
            sentence = sentences[i]
            if retype:
                spans = []
                for span in out[i]:
                    label = names.get(sentence.mention(span), span.label)
                    if label != span.label:
                        report.retyped[label] += 1
                        span = Span(span.start, span.end, label, span.score)
                    spans.append(span)
                out[i] = spans
            if propagate:
                added = _propagate(sentence, out[i], names, scores, min_length)
                report.added.update(s.label for s in added)
                out[i] = out[i] + added
            out[i] = sorted(out[i])
    return out, report


def consistent_by_mode(
    mode: str,
    sentences: Sequence[Sentence],
    predictions: Sequence[Sequence[Span]],
    *,
    min_length: int = 2,
    document: Callable[[Sentence], str] = document_of,
) -> tuple[list[list[Span]], ConsistencyReport]:
    """:func:`make_consistent` with the rules of one of :data:`MODES` (``none`` changes nothing).

    >>> consistent_by_mode("all", [], [])
    Traceback (most recent call last):
    ...
    mrc_ner.errors.InputError: unknown consistency mode 'all'; choose one of none, retype, propagate, both
    """
    if mode not in MODES:
        raise InputError(f"unknown consistency mode {mode!r}; choose one of {', '.join(MODES)}")
    retype, propagate = MODES[mode]
    return make_consistent(
        sentences, predictions, retype=retype, propagate=propagate, min_length=min_length, document=document
    )
