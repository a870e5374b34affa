"""Rich tables for :class:`~mrc_ner.evaluation.metrics.Scores` and fold summaries."""

from __future__ import annotations

from rich.table import Table

from mrc_ner.evaluation.aggregate import FoldSummary, MetricSummary, format_mean_std
from mrc_ner.evaluation.metrics import Scores, TypeScore

AVERAGES: tuple[str, ...] = ("micro", "macro", "weighted")


def scores_table(scores: Scores, *, title: str | None = None, digits: int = 4) -> Table:
    """A table with one row per type, then the micro, macro and weighted rows.

    Columns: type, precision, recall, f1, support (gold mentions).

    >>> scores_table(Scores({}, *[TypeScore(1.0, 1.0, 1.0, 1, 1, 1)] * 3)).row_count
    3
    """
    table = Table(title=title)
    table.add_column("type")
    for name in ("precision", "recall", "f1", "support"):
        table.add_column(name, justify="right")

    def add(name: str, s: TypeScore, *, end_section: bool = False) -> None:
        table.add_row(
            name,
            f"{s.precision:.{digits}f}",
            f"{s.recall:.{digits}f}",
            f"{s.f1:.{digits}f}",
            str(s.support),
            end_section=end_section,
        )

    types = list(scores.per_type.items())
    for i, (name, s) in enumerate(types):
        add(name, s, end_section=i == len(types) - 1)
    for name in AVERAGES:
        add(name, getattr(scores, name))
    return table


def summary_table(summary: FoldSummary, *, title: str | None = None, digits: int = 2) -> Table:
    """Mean ± std over folds: one row per type, then micro, macro, weighted.

    Columns: type, precision, recall, f1, support (summed over folds), folds (the
    number of folds the row's figures are over).

    >>> from mrc_ner.evaluation.aggregate import aggregate
    >>> summary_table(aggregate([Scores({}, *[TypeScore(1.0, 1.0, 1.0, 1, 1, 1)] * 3)])).row_count
    3
    """
    table = Table(title=title)
    table.add_column("type")
    for name in ("precision", "recall", "f1", "support", "folds"):
        table.add_column(name, justify="right")

    def add(name: str, s: MetricSummary, *, end_section: bool = False) -> None:
        cells = [format_mean_std(m.mean, m.std, digits=digits, n=m.n) for m in (s.precision, s.recall, s.f1)]
        table.add_row(name, *cells, str(s.support), str(s.f1.n), end_section=end_section)

    types = list(summary.per_type.items())
    for i, (name, s) in enumerate(types):
        add(name, s, end_section=i == len(types) - 1)
    for name in AVERAGES:
        add(name, getattr(summary, name))
    return table
