"""What happened to each gold mention: found, found with another type, cut wrong, or missed.

The categories follow the error classes of Chinchor & Sundheim (MUC-5) that nervaluate
reports, seen from the gold side, one category per gold mention (the first that applies):

``correct``
    a prediction with the same start, end and type (a strict match);
``wrong_type``
    a prediction with the same start and end but another type — tallied per predicted type
    in ``as_type`` (a gene called a protein);
``boundary``
    no exact span, but an overlapping prediction of the same type;
``boundary_and_type``
    only overlapping predictions of other types;
``missed``
    no prediction touches it.

``spurious`` counts predictions (per predicted type) that touch no gold mention.

>>> from mrc_ner.corpus.model import Span
>>> gold = [[Span(0, 5, "gene"), Span(6, 10, "gene"), Span(11, 14, "gene"), Span(20, 23, "disease")]]
>>> pred = [[Span(0, 5, "gene"), Span(6, 10, "protein"), Span(12, 14, "protein"), Span(30, 33, "gene")]]
>>> b = error_breakdown(gold, pred)
>>> b["gene"]
{'mentions': 3, 'correct': 1, 'wrong_type': 1, 'boundary': 0, 'boundary_and_type': 1, 'missed': 0, 'as_type': {'protein': 1}}
>>> b["disease"]["missed"], spurious(gold, pred)
(1, {'gene': 1})
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from mrc_ner.corpus.model import Span

CATEGORIES = ("correct", "wrong_type", "boundary", "boundary_and_type", "missed")


def _category(g: Span, pred: Sequence[Span]) -> tuple[str, str | None]:
    touching = [p for p in pred if p.start < g.end and g.start < p.end]
    same_place = [p for p in touching if (p.start, p.end) == (g.start, g.end)]
    if any(p.label == g.label for p in same_place):
        return "correct", None
    if same_place:
        return "wrong_type", same_place[0].label
    if any(p.label == g.label for p in touching):
        return "boundary", None
    return ("boundary_and_type", None) if touching else ("missed", None)


def error_breakdown(gold: Sequence[Sequence[Span]], pred: Sequence[Sequence[Span]]) -> dict[str, dict[str, Any]]:
    """Per gold type, its mentions by :data:`CATEGORIES` and the types its same-span slips took. Types sorted."""
    if len(gold) != len(pred):
        raise ValueError(f"gold has {len(gold)} sentences but prediction has {len(pred)}")
    out: dict[str, dict[str, Any]] = {}
    for g_spans, p_spans in zip(gold, pred):
        for g in set(g_spans):
            row = out.setdefault(g.label, {"mentions": 0, **dict.fromkeys(CATEGORIES, 0), "as_type": {}})
            category, as_type = _category(g, p_spans)
            row["mentions"] += 1
            row[category] += 1
            if as_type is not None:
                row["as_type"][as_type] = row["as_type"].get(as_type, 0) + 1
    return {t: out[t] for t in sorted(out)}


def spurious(gold: Sequence[Sequence[Span]], pred: Sequence[Sequence[Span]]) -> dict[str, int]:
    """Per predicted type, the predictions that overlap no gold mention at all."""
    out: dict[str, int] = {}
    for g_spans, p_spans in zip(gold, pred):
        for p in set(p_spans):
            if not any(p.start < g.end and g.start < p.end for g in g_spans):
                out[p.label] = out.get(p.label, 0) + 1
    return dict(sorted(out.items()))


def pool_breakdowns(records: Iterable[dict[str, dict[str, Any]]]) -> dict[str, dict[str, Any]]:
    """Several test sets' breakdowns summed (cross-validation folds pooled).

    >>> one = {"gene": {"mentions": 2, "correct": 1, "wrong_type": 1, "boundary": 0,
    ...                 "boundary_and_type": 0, "missed": 0, "as_type": {"protein": 1}}}
    >>> pool_breakdowns([one, one])["gene"]["as_type"]
    {'protein': 2}
    """
    out: dict[str, dict[str, Any]] = {}
    for record in records:
        for label, row in record.items():
            mine = out.setdefault(label, {"mentions": 0, **dict.fromkeys(CATEGORIES, 0), "as_type": {}})
            for key in ("mentions", *CATEGORIES):
                mine[key] += row.get(key, 0)
            for other, n in row.get("as_type", {}).items():
                mine["as_type"][other] = mine["as_type"].get(other, 0) + n
    return {t: out[t] for t in sorted(out)}
