"""What a comparison found: one :class:`MethodRow` per method (its cells over its folds), the
:class:`Report` over all of them, and the folds or test units two rows share."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

from mrc_ner.evaluation.aggregate import FoldSummary, mean_std
from mrc_ner.evaluation.memory import Counts, memory_recall
from mrc_ner.evaluation.metrics import Scores, TypeScore
from mrc_ner.evaluation.significance import PairedTest, sum_counts
from mrc_ner.experiments.compare.folds import fold_of_run


def scores_from_dict(d: dict[str, Any]) -> Scores:
    """The inverse of :meth:`Scores.to_dict`.

    >>> from mrc_ner.evaluation import score_spans
    >>> s = score_spans([[]], [[]]); scores_from_dict(s.to_dict()) == s
    True
    """
    ts = lambda x: TypeScore(**{k: x[k] for k in ("precision", "recall", "f1", "support", "predicted", "correct")})  # noqa: E731
    return Scores({t: ts(v) for t, v in d["per_type"].items()}, ts(d["micro"]), ts(d["macro"]), ts(d["weighted"]))


@dataclass
class MethodRow:
    """One method over its folds."""

    name: str
    folds: list[str]
    summary: FoldSummary
    micro_f1: list[float]
    wall_seconds: list[float]
    pooled: Scores
    t: float | None = None
    p_value: float | None = None
    best: bool = False
    #: recall on test mentions seen / not seen in training, counts pooled over the cells that recorded it
    memory: Counts | None = None
    memory_folds: list[str] | None = None
    #: per fold, the most cores other processes kept busy in one epoch or the test (None: not recorded)
    other_cores: list[float | None] | None = None
    #: per fold, the cell's ``test_units`` record (None: a cell from before it was recorded)
    test_units: list[dict[str, Any] | None] | None = None

    def to_dict(self) -> dict[str, Any]:
        wall = mean_std(self.wall_seconds)
        return {
            "method": self.name,
            "folds": self.folds,
            "summary": self.summary.to_dict(),
            "pooled": self.pooled.to_dict(),
            "micro_f1_per_fold": self.micro_f1,
            "wall_seconds_per_fold": self.wall_seconds,
            "wall_seconds": {"mean": wall.mean, "std": wall.std, "n": wall.n},
            "other_cores_per_fold": self.other_cores,
            "ttest_vs_best": None if self.p_value is None else {"t": _finite(self.t), "p": self.p_value},
            "memory": None
            if self.memory is None
            else {"folds": self.memory_folds, "counts": self.memory, "recall": memory_recall(self.memory)},
            "best": self.best,
        }


def _finite(x: float | None) -> float | str | None:
    """JSON has no infinity: ``inf`` → ``"inf"``."""
    if x is None or math.isfinite(x):
        return x
    return "inf" if x > 0 else "-inf"


def busiest_others(cell: dict[str, Any]) -> float | None:
    """The most cores other processes kept busy during one of a cell's epochs or its test (None: not recorded).

    >>> busiest_others({"other_cores": {"epochs": [0.02, 0.9, None], "test": 0.1}}), busiest_others({})
    (0.9, None)
    """
    recorded = cell.get("other_cores") or {}
    values = [x for x in [*recorded.get("epochs", []), recorded.get("test")] if x is not None]
    return max(values) if values else None


@dataclass
class Report:
    """The comparison: rows in ``--methods`` order, the types, the best row, the cells."""

    rows: list[MethodRow]
    types: list[str]
    best: str | None
    cells: list[dict[str, Any]]
    #: ``(first, second)`` in row order → the paired test over test units (pairs whose cells all recorded units)
    unit_tests: dict[tuple[str, str], tuple[str, PairedTest]] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """Everything but the tables (:func:`~mrc_ner.experiments.compare.report.results_json` adds them)."""
        return {
            "best": self.best,
            "types": self.types,
            "methods": [r.to_dict() for r in self.rows],
            "unit_tests": [
                {"first": a, "second": b, "unit": kind, **t.to_dict()} for (a, b), (kind, t) in self.unit_tests.items()
            ],
            "cells": self.cells,
        }


def paired_units(a: MethodRow, b: MethodRow) -> tuple[str, dict[str, Any], dict[str, Any]] | None:
    """``(unit kind, a's counts, b's counts)`` summed over the runs both have, keyed ``fold/unit``;
    None unless every such cell recorded its test units.

    Runs of one fold (several seeds) add up per unit, so a paired swap moves a unit in every
    seed at once; different folds' units stay apart.
    """
    theirs = dict(zip(b.folds, b.test_units or [None] * len(b.folds)))
    common = [(f, u, theirs[f]) for f, u in zip(a.folds, a.test_units or [None] * len(a.folds)) if f in theirs]
    recorded = [(f, x, y) for f, x, y in common if x is not None and y is not None]
    if not common or len(recorded) < len(common):
        return None
    kinds = {x["kind"] for _, x, _ in recorded} | {y["kind"] for _, _, y in recorded}
    keyed = lambda run, record: {f"{fold_of_run(run)}/{k}": v for k, v in record["counts"].items()}  # noqa: E731
    first = sum_counts([keyed(f, x) for f, x, _ in recorded])
    second = sum_counts([keyed(f, y) for f, _, y in recorded])
    return "/".join(sorted(kinds)), first, second


def paired_f1(a: MethodRow, b: MethodRow) -> list[tuple[float, float]]:
    """``(a's micro F1, b's micro F1)`` on every fold both methods have, in ``a``'s fold order."""
    theirs = dict(zip(b.folds, b.micro_f1))
    return [(x, theirs[f]) for f, x in zip(a.folds, a.micro_f1) if f in theirs]
