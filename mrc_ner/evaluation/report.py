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

    def cells(s: TypeScore) -> list[str]:
        return [f"{s.precision:.{digits}f}", f"{s.recall:.{digits}f}", f"{s.f1:.{digits}f}", str(s.support)]

    rows = {name: cells(s) for name, s in scores.per_type.items()}
    averages = {name: cells(getattr(scores, name)) for name in AVERAGES}
    return _type_table(title, ("precision", "recall", "f1", "support"), rows, averages)


def summary_table(summary: FoldSummary, *, title: str | None = None, digits: int = 2) -> Table:
    """Mean ± std over folds: one row per type, then micro, macro, weighted.

    Columns: type, precision, recall, f1, support (summed over folds), folds (the
    number of folds the row's figures are over).

    >>> from mrc_ner.evaluation.aggregate import aggregate
    >>> summary_table(aggregate([Scores({}, *[TypeScore(1.0, 1.0, 1.0, 1, 1, 1)] * 3)])).row_count
    3
    """

    def cells(s: MetricSummary) -> list[str]:
        means = [format_mean_std(m.mean, m.std, digits=digits, n=m.n) for m in (s.precision, s.recall, s.f1)]
        return [*means, str(s.support), str(s.f1.n)]

    rows = {name: cells(s) for name, s in summary.per_type.items()}
    averages = {name: cells(getattr(summary, name)) for name in AVERAGES}
    return _type_table(title, ("precision", "recall", "f1", "support", "folds"), rows, averages)


def _type_table(
    title: str | None, columns: tuple[str, ...], rows: dict[str, list[str]], averages: dict[str, list[str]]
) -> Table:
    """A ``type`` column and right-aligned ``columns``: one row per type, a rule, then the average rows."""
    table = Table(title=title)
    table.add_column("type")
    for name in columns:
        table.add_column(name, justify="right")
    for i, (name, cells) in enumerate(rows.items()):
        table.add_row(name, *cells, end_section=i == len(rows) - 1)
    for name, cells in averages.items():
        table.add_row(name, *cells)
    return table
