"""What each method did with the gold mentions of the test folds, from committed test spans.

Reads every ``SET/<fold>/<method>.test_predictions.jsonl`` (written by ``mrc-ner compare``,
copied by collect_cells.py), rebuilds the fold's test sentences from the corpus, checks that
the spans rescore exactly to the cell's recorded scores, and prints, pooled over the folds
each method has, one markdown row per method and type: correct, same span with another
type (and which), boundary errors, missed, and spurious predictions.

    python bench/error_breakdown.py benchmarks/cbp_k5_e1 --corpus ../shared/data/cbp_gold/documents --folds k=5
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Collection
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _harness import RECORDS_HELP, add_fold_arguments, fail, fold_of_cell, folds_by_name, set_files

PREDICTIONS_SUFFIX = ".test_predictions.jsonl"


def read_spans(path: Path, test) -> list:
    """The spans of one predictions file, checked against the fold's test sentence ids."""
    from mrc_ner.corpus.model import Span

    records = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    ids = [r["id"] for r in records]
    if ids != [s.id for s in test]:
        fail(f"{path}: {len(ids)} sentences whose ids differ from the fold's {len(test)} test sentences")
    return [[Span(a, b, label) for a, b, label in r["spans"]] for r in records]


def committed_cells(records: Path, folds: dict, runs: Collection[str] | None = None):
    """Each committed cell's run name, file name, record, fold, gold and predicted spans, in path order.

    The spans must rescore exactly to the scores the cell recorded, or the script stops.
    ``records`` may join sets with ``+`` (:func:`_harness.set_files`: earlier sets' cells win).
    ``runs``: only these run directories (``split``, ``split.seed43``, ``k5-0``); default all.
    """
    from mrc_ner.evaluation import score_spans

    for path in set_files(records, f"*/*{PREDICTIONS_SUFFIX}", runs):
        fold = fold_of_cell(folds, path.parent.name)
        if fold is None:
            fail(f"{path}: no fold {path.parent.name!r} in the --folds spec")
        name = path.name[: -len(PREDICTIONS_SUFFIX)]
        cell = json.loads((path.parent / f"{name}.json").read_text(encoding="utf-8"))
        pred = read_spans(path, fold.test)
        gold = [s.spans for s in fold.test]
        if score_spans(gold, pred).to_dict() != cell["scores"]:
            fail(f"{path}: the spans do not rescore to the scores recorded in {name}.json")
        yield path.parent.name, name, cell, fold, gold, pred


def breakdowns(records: Path, folds: dict) -> dict[str, dict]:
    """Per method: pooled breakdown, pooled spurious counts and the folds read."""
    from mrc_ner.evaluation.breakdown import error_breakdown, pool_breakdowns, spurious

    per_method: dict[str, dict] = {}
    for run, _, cell, _, gold, pred in committed_cells(records, folds):
        mine = per_method.setdefault(cell["method"], {"folds": [], "breakdowns": [], "spurious": []})
        mine["folds"].append(run)
        mine["breakdowns"].append(error_breakdown(gold, pred))
        mine["spurious"].append(spurious(gold, pred))
    out = {}
    for method, m in per_method.items():
        total: dict[str, int] = {}
        for record in m["spurious"]:
            for label, n in record.items():
                total[label] = total.get(label, 0) + n
        out[method] = {"folds": m["folds"], "breakdown": pool_breakdowns(m["breakdowns"]), "spurious": total}
    return out


def markdown(results: dict[str, dict]) -> str:
    """One row per method and gold type; shares of the type's gold mentions (%)."""
    lines = [
        "| method | type | mentions | correct | same span, other type | boundary | boundary and type | missed | spurious predictions | folds |",
        "|---|---|---:|---:|---:|---:|---:|---:|---:|---|",
    ]
    for method, r in results.items():
        for label, row in r["breakdown"].items():
            n = row["mentions"]
            pct = {
                k: f"{100 * row[k] / n:.1f}"
                for k in ("correct", "wrong_type", "boundary", "boundary_and_type", "missed")
            }
            slips = ", ".join(f"{t} {c}" for t, c in sorted(row["as_type"].items(), key=lambda kv: -kv[1]))
            wrong = f"{pct['wrong_type']} ({slips})" if slips else pct["wrong_type"]
            lines.append(
                f"| {method} | {label} | {n:,} | {pct['correct']} | {wrong} | {pct['boundary']} | "
                f"{pct['boundary_and_type']} | {pct['missed']} | {r['spurious'].get(label, 0):,} | {', '.join(r['folds'])} |"
            )
    return "\n".join(lines)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("records", type=Path, help=RECORDS_HELP)
    add_fold_arguments(ap)
    ap.add_argument("--json-out", type=Path, help="also write the pooled counts as JSON")
    a = ap.parse_args()
    results = breakdowns(a.records, folds_by_name(a))
    if not results:
        fail(f"{a.records}: no <fold>/<method>{PREDICTIONS_SUFFIX} files")
    print(markdown(results))
    if a.json_out:
        from mrc_ner.io import atomic_write_json

        atomic_write_json(a.json_out, results)


if __name__ == "__main__":
    main()
