"""Scores over cross-validation folds: mean ± std, and a paired t-test between methods.

Conventions
-----------
* ``std`` is the *sample* standard deviation (``ddof=1``), as papers report over
  folds; over a single value it is 0.0 (not NaN), so one fold prints as ``x ± 0.00``.
* A type absent from a fold's :class:`~mrc_ner.evaluation.metrics.Scores` (neither
  in gold nor predicted there) is *absent*, not zero: its mean and std are over the
  folds that have it, and :attr:`MeanStd.n` says how many those were. A type that
  is in a fold's gold but never predicted there is present, with scores of 0.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from mrc_ner.errors import InputError
from mrc_ner.evaluation.metrics import Scores, TypeScore, scores_from_counts


@dataclass(frozen=True)
class MeanStd:
    """Mean and sample standard deviation of one figure over ``n`` folds.

    >>> str(MeanStd(0.4875, 0.1625, 5))
    '0.49 ± 0.16'
    """

    mean: float
    std: float
    n: int

    def __str__(self) -> str:
        return format_mean_std(self.mean, self.std, n=self.n)


@dataclass(frozen=True)
class MetricSummary:
    """Precision, recall and F1 over folds, and the gold mentions summed over those folds."""

    precision: MeanStd
    recall: MeanStd
    f1: MeanStd
    support: int

    def to_dict(self) -> dict[str, Any]:
        """``{"precision": {"mean", "std", "n"}, "recall": ..., "f1": ..., "support": int}``.

        >>> summarize_rows([TypeScore(1.0, 0.5, 2 / 3, 2, 1, 1)]).to_dict()["recall"]
        {'mean': 0.5, 'std': 0.0, 'n': 1}
        """
        out: dict[str, Any] = {}
        for name in ("precision", "recall", "f1"):
            m: MeanStd = getattr(self, name)
            out[name] = {"mean": m.mean, "std": m.std, "n": m.n}
        out["support"] = self.support
        return out


@dataclass(frozen=True)
class FoldSummary:
    """Mean ± std over folds, per type (sorted) and for the three averages."""

    n_folds: int
    per_type: dict[str, MetricSummary]
    micro: MetricSummary
    macro: MetricSummary
    weighted: MetricSummary

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-ready dict, keyed like :meth:`Scores.to_dict` plus ``n_folds``.

        >>> aggregate([Scores({}, *[TypeScore(0.5, 0.5, 0.5, 2, 2, 1)] * 3)]).to_dict()["n_folds"]
        1
        """
        return {
            "n_folds": self.n_folds,
            "per_type": {t: s.to_dict() for t, s in self.per_type.items()},
            "micro": self.micro.to_dict(),
            "macro": self.macro.to_dict(),
            "weighted": self.weighted.to_dict(),
        }


def format_mean_std(mean: float, std: float, *, digits: int = 2, n: int | None = None) -> str:
    """``"0.49 ± 0.16"``: mean and std rounded to ``digits`` decimals; the mean alone
    when ``n == 1`` (one fold has no spread to show, and "± 0.00" would claim one).

    >>> format_mean_std(0.4875, 0.1625)
    '0.49 ± 0.16'
    >>> format_mean_std(0.5, 0.0, n=1)
    '0.50'
    """
    if n == 1:
        return f"{mean:.{digits}f}"
    return f"{mean:.{digits}f} ± {std:.{digits}f}"


def mean_std(values: Sequence[float]) -> MeanStd:
    """Mean and sample standard deviation (``ddof=1``; 0.0 for a single value).

    >>> mean_std([0.25, 0.5, 0.75])
    MeanStd(mean=0.5, std=0.25, n=3)
    """
    if not values:
        raise ValueError("mean_std of no values")
    n = len(values)
    mean = math.fsum(values) / n
    if n == 1:
        return MeanStd(mean, 0.0, 1)
    var = math.fsum((v - mean) ** 2 for v in values) / (n - 1)
    return MeanStd(mean, math.sqrt(var), n)


def summarize_rows(rows: Sequence[TypeScore]) -> MetricSummary:
    """Mean ± std of precision, recall and F1 over some folds' rows of one type or average.

    >>> str(summarize_rows([TypeScore(1.0, 0.5, 2 / 3, 2, 1, 1), TypeScore(0.5, 0.5, 0.5, 2, 2, 1)]).precision)
    '0.75 ± 0.35'
    """
    return MetricSummary(
        precision=mean_std([r.precision for r in rows]),
        recall=mean_std([r.recall for r in rows]),
        f1=mean_std([r.f1 for r in rows]),
        support=sum(r.support for r in rows),
    )


def aggregate(folds: Sequence[Scores]) -> FoldSummary:
    """Mean ± std of every figure over cross-validation folds.

    A type missing from a fold is left out of that type's statistics (see the
    module docstring); the averages (micro, macro, weighted) are over all folds.

    >>> s1 = Scores({}, *[TypeScore(0.4, 0.4, 0.4, 5, 5, 2)] * 3)
    >>> s2 = Scores({}, *[TypeScore(0.6, 0.6, 0.6, 5, 5, 3)] * 3)
    >>> str(aggregate([s1, s2]).micro.f1)
    '0.50 ± 0.14'
    """
    if not folds:
        raise InputError("nothing to aggregate: no folds")
    types = sorted({t for f in folds for t in f.per_type})
    per_type = {t: summarize_rows([f.per_type[t] for f in folds if t in f.per_type]) for t in types}
    return FoldSummary(
        n_folds=len(folds),
        per_type=per_type,
        micro=summarize_rows([f.micro for f in folds]),
        macro=summarize_rows([f.macro for f in folds]),
        weighted=summarize_rows([f.weighted for f in folds]),
    )


def pool(folds: Sequence[Scores]) -> Scores:
    """Scores of all folds' test documents taken together: the counts summed, then divided.

    Where folds differ in size this weighs each mention once, unlike the mean over
    folds, which weighs each fold once. Cross-validation test sets are disjoint, so
    the pooled figure is the score over the whole corpus.

    >>> small = scores_from_counts({"a": 1}, {"a": 1}, {"a": 1})  # micro F1 1.0
    >>> large = scores_from_counts({"a": 0}, {"a": 3}, {"a": 3})  # micro F1 0.0
    >>> pool([small, large]).micro.f1  # 1 correct of 4 predicted and 4 gold; the mean over folds is 0.5
    0.25
    """
    if not folds:
        raise InputError("nothing to pool: no folds")
    correct: dict[str, int] = {}
    predicted: dict[str, int] = {}
    support: dict[str, int] = {}
    for fold in folds:
        for t, s in fold.per_type.items():
            correct[t] = correct.get(t, 0) + s.correct
            predicted[t] = predicted.get(t, 0) + s.predicted
            support[t] = support.get(t, 0) + s.support
    return scores_from_counts(correct, predicted, support)


def paired_ttest(a: Sequence[float], b: Sequence[float]) -> tuple[float, float]:
    """Two-sided paired t-test of two methods' scores over the same folds: ``(t, p)``.

    ``t`` is positive when ``a`` is higher on average. Computed with
    :func:`scipy.stats.ttest_rel` except in the degenerate cases scipy answers
    with NaN or a precision warning, where the differences are all equal (up to
    ``1e-12``, float noise): all 0 (identical inputs) gives ``(0.0, 1.0)``; a
    constant non-zero difference gives ``(±inf, 0.0)``. Fewer than 2 folds, or
    sequences of different lengths, raise :class:`InputError`.

    >>> t, p = paired_ttest([0.5, 0.6, 0.7], [0.4, 0.5, 0.65]); round(t, 3), round(p, 3)
    (5.0, 0.038)
    """
    if len(a) != len(b):
        raise InputError(f"a paired t-test needs the same folds on both sides, got {len(a)} and {len(b)} scores")
    if len(a) < 2:
        raise InputError(f"a paired t-test needs at least 2 folds, got {len(a)}")
    diffs = [x - y for x, y in zip(a, b)]
    mean = math.fsum(diffs) / len(diffs)
    tol = 1e-12 * max(1.0, max(abs(d) for d in diffs))
    if max(diffs) - min(diffs) <= tol:
        if abs(mean) <= tol:
            return 0.0, 1.0
        return math.copysign(math.inf, mean), 0.0
    from scipy.stats import ttest_rel

    result = ttest_rel(a, b)
    return float(result.statistic), float(result.pvalue)
