"""A comparison's tables: each a ``(title, headers, rows)`` of strings, shown by rich and written as
markdown; and ``results.csv``, one row of plain numbers per method."""

from __future__ import annotations

import csv
import io
from typing import Any

from mrc_ner.evaluation.aggregate import format_mean_std, mean_std, paired_ttest
from mrc_ner.evaluation.memory import HALVES
from mrc_ner.evaluation.significance import PairedTest
from mrc_ner.experiments.compare.results import Report, paired_f1
from mrc_ner.training.contention import NOTABLE_CORES
from mrc_ner.training.provenance import cell_timing_key

DASH = "—"


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
    (``others 0.9 cores``): its wall time is not the method's alone. When the cells did not
    all record one CPU and thread count (restored cells trained elsewhere, or older cells that
    record none), each says which (``CPU A``, ``CPU ?``) and the title names them: times
    compare only within one.
    """
    folds: list[str] = []
    for r in report.rows:
        folds.extend(f for f in r.folds if f not in folds)
    marks, legend = cpu_marks(report.cells)
    headers = ["method", *folds]
    rows = []
    for r in report.rows:
        others = r.other_cores or [None] * len(r.folds)
        got = {f: (x, w, o) for f, x, w, o in zip(r.folds, r.micro_f1, r.wall_seconds, others)}
        rows.append([r.name, *[_cell_text(*got[f], marks.get((r.name, f))) if f in got else DASH for f in folds]])
    title = "micro F1 (%) and wall time per cell" + (f"; {legend}: times compare only within one CPU" if legend else "")
    return title, headers, rows


def cpu_marks(cells: list[dict[str, Any]]) -> tuple[dict[tuple[str, str], str], str]:
    """``(method, fold)`` → a letter per CPU and thread count
    (:func:`~mrc_ner.training.provenance.cell_timing_key`; ``?``: not recorded, or epochs on more
    than one), and the legend; both empty when every cell recorded the same or none did.

    >>> cpu_marks([{"method": "m", "fold": "f0", "machine": {"cpu": "X"}}, {"method": "m", "fold": "f1"}])
    ({('m', 'f0'): 'A', ('m', 'f1'): '?'}, 'CPU A = X, ? = not recorded or mixed')
    """
    cpus = {(c["method"], c["fold"]): cell_timing_key(c) for c in cells}
    names = sorted({v for v in cpus.values() if v})
    if len(names) + (None in cpus.values()) < 2:
        return {}, ""
    letter = {n: chr(ord("A") + i) if i < 26 else str(i) for i, n in enumerate(names)}
    legend = ", ".join(f"{letter[n]} = {n}" for n in names) + (
        ", ? = not recorded or mixed" if None in cpus.values() else ""
    )
    return {k: letter[v] if v else "?" for k, v in cpus.items()}, f"CPU {legend}"


def _cell_text(f1: float, wall: float, others: float | None, cpu: str | None = None) -> str:
    shared = f", others {others:.1f} cores" if others is not None and others >= NOTABLE_CORES else ""
    where = f", CPU {cpu}" if cpu else ""
    return f"{100 * f1:.2f} ({wall:.0f} s{shared}{where})"


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
