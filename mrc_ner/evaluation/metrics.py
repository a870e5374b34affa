"""Mention-level precision, recall and F1: per type, micro, macro and weighted.

The unit of evaluation is a mention ``(start, end, label)`` of one sentence, in the
package's one span convention (character offsets, ``end`` exclusive; see
:mod:`mrc_ner.corpus.model`). Within a sentence the spans of each side are a *set*:
a span listed twice counts once, as in seqeval.

Matching
--------
``strict`` (the default)
    a predicted span is correct when a gold span has the same ``start``, ``end``
    and ``label``. With predictions that came from IOB2 tags through
    :func:`~mrc_ner.corpus.schemes.tags_to_chunks` (default policy) every figure
    equals seqeval's ``classification_report`` in its default mode
    (``mode=None``, ``scheme=None``); the tests check this on the real corpora.
``partial``
    a predicted span is correct when it shares at least one character with a gold
    span of the same label, one-to-one: in each sentence and type, the candidate
    (gold, predicted) pairs are taken in order of decreasing overlap (characters
    in common), then increasing union length, then position, and a pair is
    matched when neither side is matched yet. An exact match therefore always
    wins over any other pair involving either of its spans, so partial scores are
    never below strict ones. The number of matched pairs is both the correct
    predictions and the found gold mentions.

Averages (the definitions of seqeval's ``classification_report``)
------------------------------------------------------------------
* the *types* are the union of gold and predicted labels, so a type that was only
  predicted appears with support 0 and precision, recall, F1 of 0;
* any division by zero gives 0.0 (seqeval's ``zero_division="warn"`` figures);
* per-type and micro F1 are ``2PR / (P + R)`` (0.0 when ``P + R == 0``);
* ``micro`` sums the counts of all types, then divides;
* ``macro`` is the unweighted mean of the per-type precision, recall and F1;
* ``weighted`` is their mean weighted by support (gold count); 0.0 when there is
  no gold mention at all.

Where there is no type at all (nothing in gold nor prediction) every figure is
0.0; seqeval gives NaN for the macro average there.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any, Literal

from mrc_ner.corpus.model import Sentence, Span
from mrc_ner.errors import InputError

Match = Literal["strict", "partial"]
MATCHES: tuple[str, ...] = ("strict", "partial")


@dataclass(frozen=True)
class TypeScore:
    """Precision, recall, F1 and the counts behind them, for one type or an average.

    ``support`` is the number of gold mentions, ``predicted`` the number of
    predicted mentions, ``correct`` the matched ones. For the macro and weighted
    rows the counts are the totals over all types and the rates are averages.

    >>> TypeScore.from_counts(correct=1, predicted=2, support=4).f1
    0.3333333333333333
    """

    precision: float
    recall: float
    f1: float
    support: int
    predicted: int
    correct: int

    @classmethod
    def from_counts(cls, *, correct: int, predicted: int, support: int) -> TypeScore:
        """Rates from counts; any division by zero gives 0.0.

        >>> TypeScore.from_counts(correct=0, predicted=0, support=3).precision
        0.0
        """
        p = ratio(correct, predicted)
        r = ratio(correct, support)
        return cls(p, r, harmonic_f1(p, r), support, predicted, correct)

    def to_dict(self) -> dict[str, float | int]:
        """``{"precision", "recall", "f1", "support", "predicted", "correct"}``.

        >>> TypeScore.from_counts(correct=1, predicted=1, support=1).to_dict()["f1"]
        1.0
        """
        return asdict(self)


@dataclass(frozen=True)
class Scores:
    """Scores of a prediction against gold: per type (sorted by name) and three averages."""

    per_type: dict[str, TypeScore]
    micro: TypeScore
    macro: TypeScore
    weighted: TypeScore

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-ready dict: ``{"per_type": {type: {...}}, "micro": {...}, "macro": {...}, "weighted": {...}}``.

        >>> score_spans([[Span(0, 3, "gene")]], [[Span(0, 3, "gene")]]).to_dict()["micro"]["f1"]
        1.0
        """
        return {
            "per_type": {t: s.to_dict() for t, s in self.per_type.items()},
            "micro": self.micro.to_dict(),
            "macro": self.macro.to_dict(),
            "weighted": self.weighted.to_dict(),
        }


def ratio(numerator: float, denominator: float) -> float:
    """``numerator / denominator``, or 0.0 when the denominator is 0.

    >>> ratio(1, 4), ratio(3, 0)
    (0.25, 0.0)
    """
    return numerator / denominator if denominator else 0.0


def harmonic_f1(precision: float, recall: float) -> float:
    """Harmonic mean of precision and recall; 0.0 when both are 0.

    >>> harmonic_f1(0.5, 1.0)
    0.6666666666666666
    """
    total = precision + recall
    return 2 * precision * recall / total if total else 0.0


def _keys(spans: Sequence[Span]) -> set[tuple[int, int, str]]:
    return {sp.key for sp in spans}


def _strict_correct(gold: set[tuple[int, int, str]], pred: set[tuple[int, int, str]]) -> dict[str, int]:
    out: dict[str, int] = {}
    for _, _, label in gold & pred:
        out[label] = out.get(label, 0) + 1
    return out


def match_partial(gold: Sequence[Span], pred: Sequence[Span]) -> list[tuple[Span, Span]]:
    """One-to-one overlap matching of same-label spans of one sentence (the ``partial`` rule).

    Pairs are taken by decreasing overlap, then increasing union length, then
    position; each span is used at most once.

    >>> match_partial([Span(0, 5, "gene")], [Span(0, 10, "gene"), Span(3, 6, "gene")])
    [(Span(start=0, end=5, label='gene', score=None), Span(start=0, end=10, label='gene', score=None))]
    """
    golds = sorted({sp.key: sp for sp in gold}.values())
    preds = sorted({sp.key: sp for sp in pred}.values())
    candidates = []
    for i, g in enumerate(golds):
        for j, p in enumerate(preds):
            if g.label == p.label and g.overlaps(p):
                overlap = min(g.end, p.end) - max(g.start, p.start)
                union = max(g.end, p.end) - min(g.start, p.start)
                candidates.append((-overlap, union, g.start, p.start, i, j))
    candidates.sort()
    used_gold: set[int] = set()
    used_pred: set[int] = set()
    pairs: list[tuple[Span, Span]] = []
    for *_, i, j in candidates:
        if i not in used_gold and j not in used_pred:
            used_gold.add(i)
            used_pred.add(j)
            pairs.append((golds[i], preds[j]))
    pairs.sort()
    return pairs


def _average(per_type: dict[str, TypeScore], weights: dict[str, float] | None) -> tuple[float, float, float]:
    if not per_type:
        return 0.0, 0.0, 0.0
    w = weights or {t: 1.0 for t in per_type}
    total = sum(w.values())
    if not total:
        return 0.0, 0.0, 0.0

    def mean(attr: str) -> float:
        return sum(getattr(s, attr) * w[t] for t, s in per_type.items()) / total

    return mean("precision"), mean("recall"), mean("f1")


def scores_from_counts(correct: dict[str, int], predicted: dict[str, int], support: dict[str, int]) -> Scores:
    """Per-type, micro, macro and weighted scores from per-type counts.

    The types are every key of ``predicted`` and ``support``.

    >>> scores_from_counts({"a": 1}, {"a": 2, "b": 1}, {"a": 2}).macro.precision
    0.25
    """
    types = sorted(set(predicted) | set(support))
    per_type = {
        t: TypeScore.from_counts(correct=correct.get(t, 0), predicted=predicted.get(t, 0), support=support.get(t, 0))
        for t in types
    }
    n_correct = sum(s.correct for s in per_type.values())
    n_pred = sum(s.predicted for s in per_type.values())
    n_gold = sum(s.support for s in per_type.values())
    micro = TypeScore.from_counts(correct=n_correct, predicted=n_pred, support=n_gold)
    macro = TypeScore(*_average(per_type, None), n_gold, n_pred, n_correct)
    weighted = TypeScore(
        *_average(per_type, {t: float(s.support) for t, s in per_type.items()}), n_gold, n_pred, n_correct
    )
    return Scores(per_type, micro, macro, weighted)


def score_spans(gold: Sequence[Sequence[Span]], pred: Sequence[Sequence[Span]], *, match: Match = "strict") -> Scores:
    """Score predicted spans against gold spans, one list of spans per sentence.

    ``match`` is ``"strict"`` (same start, end, label) or ``"partial"`` (overlap
    of the same label, matched one-to-one; see the module docstring).

    >>> g = [[Span(0, 5, "gene"), Span(9, 12, "disease")]]
    >>> score_spans(g, [[Span(0, 5, "gene"), Span(8, 12, "disease")]]).micro.f1
    0.5
    >>> score_spans(g, [[Span(0, 5, "gene"), Span(8, 12, "disease")]], match="partial").micro.f1
    1.0
    """
    if match not in MATCHES:
        raise ValueError(f"unknown match {match!r}; choose one of {', '.join(MATCHES)}")
    if len(gold) != len(pred):
        raise ValueError(f"gold has {len(gold)} sentences but prediction has {len(pred)}")
    correct: dict[str, int] = {}
    predicted: dict[str, int] = {}
    support: dict[str, int] = {}
    for g_spans, p_spans in zip(gold, pred):
        g_keys, p_keys = _keys(g_spans), _keys(p_spans)
        for _, _, label in g_keys:
            support[label] = support.get(label, 0) + 1
        for _, _, label in p_keys:
            predicted[label] = predicted.get(label, 0) + 1
        if match == "strict":
            found = _strict_correct(g_keys, p_keys)
        else:
            found = {}
            for g, _ in match_partial(g_spans, p_spans):
                found[g.label] = found.get(g.label, 0) + 1
        for label, n in found.items():
            correct[label] = correct.get(label, 0) + n
    return scores_from_counts(correct, predicted, support)


def annotated_only(sentences: Sequence[Sentence], pred: Sequence[Sequence[Span]]) -> list[list[Span]]:
    """Predictions restricted to each sentence's ``annotated_types`` (all kept where it is None).

    A corpus annotated for diseases only cannot say whether a predicted gene is right,
    so a joint model is scored on each corpus's own types.

    >>> s = Sentence.from_text("BRCA1 cancer"); s.annotated_types = frozenset({"disease"})
    >>> annotated_only([s], [[Span(0, 5, "gene"), Span(6, 12, "disease")]])
    [[Span(start=6, end=12, label='disease', score=None)]]
    """
    return [
        list(p) if s.annotated_types is None else [sp for sp in p if sp.label in s.annotated_types]
        for s, p in zip(sentences, pred)
    ]


def _snippet(text: str, width: int = 40) -> str:
    return repr(text if len(text) <= width else text[:width] + "…")


def check_same_sentences(gold: Sequence[Sentence], pred: Sequence[Sentence]) -> None:
    """Raise :class:`InputError` unless both sides hold the same sentence texts in the same order.

    The message names the first differing sentence (index, id, a snippet of each text).

    >>> check_same_sentences([Sentence.from_text("ab")], [Sentence.from_text("ab")]) is None
    True
    """
    for i, (g, p) in enumerate(zip(gold, pred)):
        if g.text != p.text:
            name = f" (id {g.id!r})" if g.id else ""
            raise InputError(
                f"sentence {i + 1}{name} differs between gold and prediction: "
                f"gold {_snippet(g.text)} vs prediction {_snippet(p.text)}"
            )
    if len(gold) != len(pred):
        shorter, longer = ("prediction", gold) if len(pred) < len(gold) else ("gold", pred)
        extra = longer[min(len(gold), len(pred))]
        raise InputError(
            f"gold has {len(gold)} sentences but prediction has {len(pred)}; "
            f"{shorter} ends before sentence {min(len(gold), len(pred)) + 1} {_snippet(extra.text)}"
        )


def score_sentences(gold: Sequence[Sentence], pred: Sequence[Sentence], *, match: Match = "strict") -> Scores:
    """Score the spans of predicted sentences against the same gold sentences.

    Raises :class:`InputError` when the two sides are not the same sentences
    (count, or text at some position).

    >>> s = Sentence.from_text("BRCA1 gene", [Span(0, 5, "gene")])
    >>> score_sentences([s], [s.with_spans([Span(0, 10, "gene")])], match="partial").micro.f1
    1.0
    """
    check_same_sentences(gold, pred)
    return score_spans([s.spans for s in gold], [s.spans for s in pred], match=match)


def mutual_f1(a: Sequence[Sequence[Span]], b: Sequence[Sequence[Span]], *, match: Match = "strict") -> Scores:
    """Inter-annotator agreement of two annotation sets of the same sentences, as F1.

    The agreement measure of the Chinese biomedical patents paper (after Hripcsak
    & Rothschild, 2005): take ``a`` as gold and ``b`` as prediction and compute F1.
    The per-type, micro and macro F1 figures are symmetric (swapping ``a`` and
    ``b`` swaps precision and recall, and F1 does not change); read those. The
    weighted row is weighted by ``a``'s counts and is therefore not symmetric.

    >>> a = [[Span(0, 2, "gene"), Span(4, 6, "disease")]]
    >>> b = [[Span(0, 2, "gene")]]
    >>> mutual_f1(a, b).micro.f1 == mutual_f1(b, a).micro.f1
    True
    """
    return score_spans(a, b, match=match)
