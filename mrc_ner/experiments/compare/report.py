"""Cells → a :class:`Report`: mean ± std over folds per method, a paired t-test against the best, paired
tests over test units between every two methods; written as ``results.json|csv|md``."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mrc_ner.evaluation.aggregate import aggregate, paired_ttest, pool
from mrc_ner.evaluation.memory import pool_memory
from mrc_ner.evaluation.significance import paired_test
from mrc_ner.experiments.compare.results import (
    MethodRow,
    Report,
    busiest_others,
    paired_f1,
    paired_units,
    scores_from_dict,
)
from mrc_ner.experiments.compare.tables import all_tables, csv_text, markdown
from mrc_ner.io import atomic_write_json, atomic_write_text

if TYPE_CHECKING:
    from rich.table import Table as RichTable


def build_report(cells: Sequence[dict[str, Any]], order: Sequence[str] | None = None) -> Report:
    """Aggregate finished cells by method (mean ± std over folds, and pooled) and test against the best.

    The best method has the highest mean micro F1. Every other method is compared to it
    with a paired t-test on micro F1 over the folds both have; with fewer than two such
    folds (and for the best itself) there is no p-value.
    """
    by_method: dict[str, list[dict[str, Any]]] = {}
    for c in cells:
        by_method.setdefault(c["method"], []).append(c)
    names = [n for n in (order or []) if n in by_method] + [n for n in by_method if n not in (order or [])]
    rows = []
    for name in names:
        mine = by_method[name]
        scores = [scores_from_dict(c["scores"]) for c in mine]
        remembered = [c for c in mine if c.get("memory") is not None]  # cells from before it was recorded have none
        rows.append(
            MethodRow(
                name,
                [c["fold"] for c in mine],
                aggregate(scores),
                [s.micro.f1 for s in scores],
                [float(c.get("wall_seconds", 0.0)) for c in mine],
                pool(scores),
                memory=pool_memory(c["memory"] for c in remembered) if remembered else None,
                memory_folds=[c["fold"] for c in remembered] if remembered else None,
                other_cores=[busiest_others(c) for c in mine],
                test_units=[c.get("test_units") for c in mine],
            )
        )
    best = max(rows, key=lambda r: r.summary.micro.f1.mean) if rows else None
    if best is not None:
        best.best = True
        for r in rows:
            common = paired_f1(r, best)
            if r is not best and len(common) >= 2:
                r.t, r.p_value = paired_ttest([x for x, _ in common], [y for _, y in common])
    types = sorted({t for r in rows for t in r.summary.per_type})
    unit_tests = {}
    for i, a in enumerate(rows):
        for b in rows[i + 1 :]:
            units = paired_units(a, b)
            if units is not None:
                kind, first, second = units
                unit_tests[(a.name, b.name)] = (kind, paired_test(first, second))
    return Report(rows, types, best.name if best else None, list(cells), unit_tests)


def report_tables(report: Report) -> list[RichTable]:
    """The tables as rich :class:`~rich.table.Table` objects."""
    from rich.table import Table as RichTable

    out = []
    for title, headers, rows in all_tables(report).values():
        t = RichTable(title=title)
        for i, h in enumerate(headers):
            t.add_column(h, justify="left" if i == 0 else "right")
        for row in rows:
            t.add_row(*row)
        out.append(t)
    return out


def write_report(report: Report, out: str | Path) -> None:
    """``results.json``, ``results.csv`` and ``results.md`` in ``out`` (each written atomically)."""
    out = Path(out)
    atomic_write_json(out / "results.json", results_json(report))
    atomic_write_text(out / "results.csv", csv_text(report))
    atomic_write_text(out / "results.md", markdown(report))


def results_json(report: Report) -> dict[str, Any]:
    """``results.json``: the report's record and its tables (headers and rows of strings)."""
    tables = {name: {"headers": h, "rows": rows} for name, (_, h, rows) in all_tables(report).items()}
    return {**report.to_dict(), "tables": tables}
