"""Paired tests over test units for committed compare cells, rebuilt from their test spans.

Cells written before ``mrc-ner compare`` recorded ``test_units`` have none, but their
``<method>.test_predictions.jsonl`` are committed: this rescores them against the fold's
test sentences (checking they reproduce the recorded scores), adds each cell's unit
counts, and prints compare's own pairs table — for every two methods, the micro-F1
difference over common runs with its paired t-test, and pooled over the test units
(documents, or sentences when the test set is one file), the paired-bootstrap 95 %
interval and the approximate-randomization p (10,000 trials, seed 0).

Several sets compare the same method across them (e.g. one recipe trained two ways):
each cell's row is then named ``<method> (<set>)``.

    python bench/significance.py benchmarks/bc5cdr_e5_conv --corpus ../shared/data/bioner/BC5CDR-disease \\
        --folds ../shared/data/bioner/BC5CDR-disease/train.tsv,../shared/data/bioner/BC5CDR-disease/devel.tsv,../shared/data/bioner/BC5CDR-disease/test.tsv
    python bench/significance.py benchmarks/cbp_k5_mr benchmarks/cbp_k5_conv8 \
        --corpus ../shared/data/cbp_gold/documents --folds k=5 --runs k5-1
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _harness import RECORDS_HELP, add_fold_arguments, fail, folds_by_name, set_label
from error_breakdown import PREDICTIONS_SUFFIX, committed_cells


def cells_with_units(records: Path, folds: dict, runs: list[str] | None = None, *, suffix: str = "") -> list[dict]:
    """Every committed cell (of ``runs``, default all) with ``test_units`` computed from its test spans, in path order.

    ``suffix`` is appended to each cell's method name, to tell the same method in two sets apart.
    """
    from mrc_ner.evaluation.significance import unit_counts, unit_keys

    cells = []
    for run, _, cell, fold, gold, pred in committed_cells(records, folds, runs):
        kind, keys = unit_keys(fold.test)
        units = {"kind": kind, "counts": unit_counts(gold, pred, keys)}
        cells.append(cell | {"method": cell["method"] + suffix, "fold": run, "test_units": units})
    return cells


def markdown_table(title: str, headers: list[str], rows: list[list[str]]) -> str:
    """One GitHub markdown table under its title."""
    lines = [
        f"{title}",
        "",
        "| " + " | ".join(headers) + " |",
        "|" + "|".join(["---"] + ["---:"] * (len(headers) - 1)) + "|",
    ]
    return "\n".join(lines + ["| " + " | ".join(row) + " |" for row in rows])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("records", type=Path, nargs="+", help=RECORDS_HELP + "; several sets: one row per method and set")
    add_fold_arguments(ap)
    ap.add_argument("--methods", help="comma-separated methods, in this order (default: every method, in path order)")
    ap.add_argument("--runs", help="comma-separated fold (run) names to read (default: every committed run)")
    a = ap.parse_args()
    folds = folds_by_name(a)
    methods = a.methods.split(",") if a.methods else None
    runs = a.runs.split(",") if a.runs else None
    cells, order = [], []
    for records in a.records:
        suffix = f" ({set_label(records)})" if len(a.records) > 1 else ""
        found = cells_with_units(records, folds, runs, suffix=suffix)
        if not found:
            fail(f"{records}: no <fold>/<method>{PREDICTIONS_SUFFIX} files" + (f" for runs {a.runs}" if runs else ""))
        if methods:
            order += [m + suffix for m in methods]
        cells += found
    if methods:
        cells = [c for c in cells if c["method"] in order]
    from mrc_ner.experiments.compare import build_report, pairs_table

    report = build_report(cells, order or None)
    if len(report.rows) < 2:
        fail(f"{' '.join(map(str, a.records))}: fewer than two rows with test spans")
    print(markdown_table(*pairs_table(report)))


if __name__ == "__main__":
    main()
