"""Cells → mean ± std over folds per method, a paired t-test against the best, paired tests over
test units between every two methods, and the tables (rich, markdown, CSV, JSON)."""

from __future__ import annotations

import csv
import io
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mrc_ner.evaluation.aggregate import FoldSummary, aggregate, format_mean_std, mean_std, paired_ttest, pool
from mrc_ner.evaluation.memory import HALVES, Counts, memory_recall, pool_memory
from mrc_ner.evaluation.metrics import Scores, TypeScore
from mrc_ner.evaluation.significance import PairedTest, paired_test, sum_counts
from mrc_ner.experiments.compare.folds import fold_of_run
from mrc_ner.io import atomic_write_json, atomic_write_text
from mrc_ner.training.contention import NOTABLE_CORES

if TYPE_CHECKING:
    from rich.table import Table as RichTable

DASH = "—"


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
        """``results.json``."""
        return {
            "best": self.best,
            "types": self.types,
            "methods": [r.to_dict() for r in self.rows],
            "unit_tests": [
                {"first": a, "second": b, "unit": kind, **t.to_dict()} for (a, b), (kind, t) in self.unit_tests.items()
            ],
            "tables": {name: {"headers": h, "rows": rows} for name, (_, h, rows) in all_tables(self).items()},
            "cells": self.cells,
        }


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


def _pct(m) -> str:
    return format_mean_std(100 * m.mean, 100 * m.std, digits=2, n=m.n)


def format_p(p: float | None) -> str:
    """``"0.034"``, ``"<0.001"``, or ``"—"`` for no test.

    >>> format_p(0.0341), format_p(1e-5), format_p(None)
    ('0.034', '<0.001', '—')
    """
    if p is None:
        return DASH
    return "<0.001" if p < 0.001 else f"{p:.3f}"


Table = tuple[str, list[str], list[list[str]]]


def main_table(report: Report) -> Table:
    """Table 4 shape: per-type F1, micro and macro F1 (mean ± std, %), p vs best, folds, time per cell."""
    headers = [
        "method",
        *[f"{t} F1" for t in report.types],
        "micro F1",
        "macro F1",
        "pooled micro F1",
        "p (vs best)",
        "folds",
        "time/cell (s)",
    ]
    rows = []
    for r in report.rows:
        per_type = [_pct(r.summary.per_type[t].f1) if t in r.summary.per_type else DASH for t in report.types]
        wall = mean_std(r.wall_seconds)
        p = "best" if r.best else format_p(r.p_value)
        rows.append(
            [
                r.name,
                *per_type,
                _pct(r.summary.micro.f1),
                _pct(r.summary.macro.f1),
                f"{100 * r.pooled.micro.f1:.2f}",
                p,
                str(r.summary.n_folds),
                format_mean_std(wall.mean, wall.std, digits=0, n=wall.n),
            ]
        )
    return "F1 (%) over folds, mean ± std; pooled: counts of all test documents summed", headers, rows


def pooled_table(report: Report) -> Table:
    """Every fold's test documents scored as one set: per-type F1, micro P/R/F1 and macro F1 (%)."""
    headers = ["method", *[f"{t} F1" for t in report.types], "micro P", "micro R", "micro F1", "macro F1", "mentions"]
    rows = []
    for r in report.rows:
        s = r.pooled
        per_type = [f"{100 * s.per_type[t].f1:.2f}" if t in s.per_type else DASH for t in report.types]
        micro = [f"{100 * getattr(s.micro, k):.2f}" for k in ("precision", "recall", "f1")]
        rows.append([r.name, *per_type, *micro, f"{100 * s.macro.f1:.2f}", str(s.micro.support)])
    return "pooled over all folds' test documents (%)", headers, rows


def detail_table(report: Report) -> Table:
    """Precision, recall and F1 (%), micro and macro averages, mean ± std over folds."""
    headers = ["method", "micro P", "micro R", "micro F1", "macro P", "macro R", "macro F1"]
    rows = []
    for r in report.rows:
        s = r.summary
        rows.append(
            [
                r.name,
                *[_pct(getattr(s.micro, k)) for k in ("precision", "recall", "f1")],
                *[_pct(getattr(s.macro, k)) for k in ("precision", "recall", "f1")],
            ]
        )
    return "precision / recall / F1 (%), mean ± std over folds", headers, rows


def cells_table(report: Report) -> Table:
    """Micro F1 (%) and wall time of every cell: one row per method, one column per fold.

    A cell during which other processes kept at least a quarter of a core busy says so
    (``others 0.9 cores``): its wall time is not the method's alone.
    """
    folds: list[str] = []
    for r in report.rows:
        folds.extend(f for f in r.folds if f not in folds)
    headers = ["method", *folds]
    rows = []
    for r in report.rows:
        others = r.other_cores or [None] * len(r.folds)
        got = {f: (x, w, o) for f, x, w, o in zip(r.folds, r.micro_f1, r.wall_seconds, others)}
        rows.append([r.name, *[_cell_text(*got[f]) if f in got else DASH for f in folds]])
    return "micro F1 (%) and wall time per cell", headers, rows


def _cell_text(f1: float, wall: float, others: float | None) -> str:
    shared = f", others {others:.1f} cores" if others is not None and others >= NOTABLE_CORES else ""
    return f"{100 * f1:.2f} ({wall:.0f} s{shared})"


def pairs_table(report: Report) -> Table:
    """Every pair of methods: micro F1 difference (points) over the folds both have, wins, paired t-test;
    and, where the cells recorded their test units, the pooled difference with its bootstrap 95 %
    interval and the approximate-randomization p over test units (:mod:`mrc_ner.evaluation.significance`).

    The main table tests each method against the best only; with three or more rows a
    reader also wants the others settled (mrc against softmax when crf is best). With one
    run per method there is no t-test, but the test over units still says how far the
    difference could come from which sentences were in the test set.
    """
    headers = [
        "pair (first − second)",
        "folds",
        "first ahead",
        "micro F1 difference",
        "t",
        "p",
        "pooled difference [95 % CI]",
        "p (randomization, units)",
    ]
    rows = []
    for i, a in enumerate(report.rows):
        for b in report.rows[i + 1 :]:
            common = paired_f1(a, b)
            diff = mean_std([100 * (x - y) for x, y in common]) if common else None
            t = p = None
            if len(common) >= 2:
                t, p = paired_ttest([x for x, _ in common], [y for _, y in common])
            rows.append(
                [
                    f"{a.name} − {b.name}",
                    str(len(common)),
                    str(sum(x > y for x, y in common)),
                    DASH if diff is None else format_mean_std(diff.mean, diff.std, digits=2, n=diff.n),
                    DASH if t is None else f"{t:.2f}",
                    format_p(p),
                    *unit_test_cells(report.unit_tests.get((a.name, b.name))),
                ]
            )
    return (
        "every pair of methods: micro F1 difference (points, mean ± std over common folds), paired t-test; "
        "pooled over test units, bootstrap interval and randomization test",
        headers,
        rows,
    )


def unit_test_cells(test: tuple[str, PairedTest] | None) -> list[str]:
    """The two cells of a pair's test over units: ``"+1.20 [-0.40, 2.80]"`` (points) and ``"0.140 (940 sentences)"``.

    >>> unit_test_cells(("sentence", PairedTest(0.012, -0.004, 0.028, 0.14, 940, 10000)))
    ['+1.20 [-0.40, 2.80]', '0.140 (940 sentences)']
    >>> unit_test_cells(None)
    ['—', '—']
    """
    if test is None:
        return [DASH, DASH]
    kind, t = test
    interval = f"{100 * t.difference:+.2f} [{100 * t.low:.2f}, {100 * t.high:.2f}]"
    return [interval, f"{format_p(t.p_value)} ({t.units} {kind}s)"]


def memory_table(report: Report) -> Table:
    """Recall (%) of the test mentions whose string training annotates with their type, and of new names.

    Counts pooled over the folds whose cells recorded them (cells written before
    ``memory`` was recorded have none); ``n`` is the number of test mentions in each half.
    """
    headers = ["method", *[f"{t} {h} R (n)" for t in report.types for h in ("seen", "new")], "folds"]
    rows = []
    for r in report.rows:
        if r.memory is None:
            rows.append([r.name, *[DASH] * (2 * len(report.types)), "0"])
            continue
        cells = []
        for t in report.types:
            for h in HALVES:
                c = r.memory.get(t, {}).get(h, {"support": 0, "found": 0})
                cells.append(f"{100 * c['found'] / c['support']:.2f} ({c['support']})" if c["support"] else DASH)
        rows.append([r.name, *cells, str(len(r.memory_folds or []))])
    return "recall (%) of test mentions seen in training as that type, and of new names; pooled", headers, rows


def all_tables(report: Report) -> dict[str, Table]:
    """The tables by name: ``main``, ``detail``, ``pooled``, ``cells``, ``pairs`` with three or more methods
    or a test over units, and ``memory`` when cells recorded it."""
    tables = {
        "main": main_table(report),
        "detail": detail_table(report),
        "pooled": pooled_table(report),
        "cells": cells_table(report),
    }
    if len(report.rows) >= 3 or report.unit_tests:
        tables["pairs"] = pairs_table(report)
    if any(r.memory is not None for r in report.rows):
        tables["memory"] = memory_table(report)
    return tables


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


def markdown(report: Report) -> str:
    """``results.md``: the tables as GitHub markdown, with a line on the test."""
    parts = ["# mrc-ner compare", ""]
    if report.best:
        parts += [
            f"Best method by mean micro F1: **{report.best}**. p: two-sided paired t-test of each method's micro F1 against the best one's over the folds both have ({DASH}: fewer than 2 such folds). "
            "The pairs table adds, where cells recorded their test units (documents, or sentences when the test set is one document), "
            "the pooled micro-F1 difference with a paired-bootstrap 95 % interval and an approximate-randomization p over those units (10,000 trials each).",
            "",
        ]
    for title, headers, rows in all_tables(report).values():
        parts += [
            f"## {title}",
            "",
            "| " + " | ".join(headers) + " |",
            "|" + "|".join(["---"] + ["---:"] * (len(headers) - 1)) + "|",
        ]
        parts += ["| " + " | ".join(c.replace("|", "\\|") for c in row) + " |" for row in rows]
        parts.append("")
    return "\n".join(parts)


def csv_text(report: Report) -> str:
    """``results.csv``: one row per method, plain numbers (fractions): per-type and average P/R/F1 mean and std, p, folds, time."""
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    scopes = [*report.types, "micro", "macro", "weighted"]
    header = ["method", "folds", "best", "t", "p"]
    for scope in scopes:
        for metric in ("precision", "recall", "f1"):
            header += [f"{scope}_{metric}_mean", f"{scope}_{metric}_std"]
    header += [
        "wall_seconds_mean",
        "wall_seconds_std",
        "pooled_micro_precision",
        "pooled_micro_recall",
        "pooled_micro_f1",
    ]
    w.writerow(header)
    for r in report.rows:
        row: list[Any] = [
            r.name,
            r.summary.n_folds,
            int(r.best),
            "" if r.t is None else r.t,
            "" if r.p_value is None else r.p_value,
        ]
        for scope in scopes:
            m = r.summary.per_type.get(scope) if scope in report.types else getattr(r.summary, scope)
            for metric in ("precision", "recall", "f1"):
                row += ["", ""] if m is None else [getattr(m, metric).mean, getattr(m, metric).std]
        wall = mean_std(r.wall_seconds)
        row += [wall.mean, wall.std, r.pooled.micro.precision, r.pooled.micro.recall, r.pooled.micro.f1]
        w.writerow(row)
    return buf.getvalue()


def write_report(report: Report, out: str | Path) -> None:
    """``results.json``, ``results.csv`` and ``results.md`` in ``out`` (each written atomically)."""
    out = Path(out)
    atomic_write_json(out / "results.json", report.to_dict())
    atomic_write_text(out / "results.csv", csv_text(report))
    atomic_write_text(out / "results.md", markdown(report))
