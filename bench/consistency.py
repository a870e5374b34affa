"""Document-level consistency on committed test spans: does one type per name, every occurrence tagged, pay?

Reads every ``SET/<fold>/<method>.test_predictions.jsonl`` (written by ``mrc-ner compare``,
copied by collect_cells.py), rebuilds the fold's test sentences from the corpus, checks that
the spans rescore exactly to the cell's recorded scores, then rescores them after
:func:`mrc_ner.corpus.consistency.make_consistent` with each rule alone and both. No model
runs: the same predictions, only the document-level step differs.

Prints per method and variant the mean ± std of test micro F1 over the folds, the pooled
micro F1 and per-type pooled F1, and the paired t-test of each variant against the
predictions as they were.

    python bench/consistency.py benchmarks/cbp_k5_conv --corpus ../shared/data/cbp_gold/documents --folds k=5
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _harness import RECORDS_HELP, add_fold_arguments, fail, folds_by_name
from error_breakdown import PREDICTIONS_SUFFIX, committed_cells

#: the table's row names and the ``--consistency`` mode of each
VARIANTS = {"as predicted": "none", "retype": "retype", "propagate": "propagate", "retype + propagate": "both"}


def rescored(records: Path, folds: dict, min_length: int) -> dict[str, dict]:
    """Per method: the folds read and, per variant, each fold's Scores and the rules' counts."""
    from mrc_ner.corpus.consistency import consistent_by_mode
    from mrc_ner.evaluation import score_spans

    out: dict[str, dict] = {}
    for run, name, _, fold, gold, pred in committed_cells(records, folds):
        mine = out.setdefault(name, {"folds": [], "variants": {v: {"scores": [], "changes": []} for v in VARIANTS}})
        mine["folds"].append(run)
        for variant, mode in VARIANTS.items():
            if mode == "none":
                spans, changes = pred, {}
            else:
                spans, report = consistent_by_mode(mode, fold.test, pred, min_length=min_length)
                changes = report.as_dict()
            mine["variants"][variant]["scores"].append(score_spans(gold, spans))
            mine["variants"][variant]["changes"].append(changes)
    return out


def markdown(results: dict[str, dict]) -> str:
    """One row per method and variant: micro F1 mean ± std, pooled micro P/R/F1, pooled F1 per type, p."""
    from mrc_ner.evaluation.aggregate import mean_std, paired_ttest, pool

    types = sorted({t for r in results.values() for s in r["variants"]["as predicted"]["scores"] for t in s.per_type})
    head = "| cell | variant | micro F1, mean ± std | pooled micro P / R | pooled micro F1 | " + " | ".join(types)
    lines = [
        head + " | p (paired t, vs as predicted) | folds |",
        "|---|---|---:|---:|---:|" + "---:|" * len(types) + "---:|---|",
    ]
    for name, r in results.items():
        base = [s.micro.f1 for s in r["variants"]["as predicted"]["scores"]]
        for variant, v in r["variants"].items():
            f1s = [s.micro.f1 for s in v["scores"]]
            ms = mean_std([100 * f for f in f1s])
            pooled = pool(v["scores"])
            per_type = " | ".join(f"{100 * pooled.per_type[t].f1:.2f}" if t in pooled.per_type else "—" for t in types)
            if variant == "as predicted":
                p = "—"
            elif len(f1s) < 2:
                p = "one fold"
            else:
                p = f"{paired_ttest(f1s, base)[1]:.3f}"
            lines.append(
                f"| {name} | {variant} | {ms.mean:.2f} ± {ms.std:.2f} | {100 * pooled.micro.precision:.2f} / "
                f"{100 * pooled.micro.recall:.2f} | {100 * pooled.micro.f1:.2f} | {per_type} | {p} | {', '.join(r['folds'])} |"
            )
    return "\n".join(lines)


def as_json(results: dict[str, dict]) -> dict:
    """Per cell and variant: each fold's micro F1 and the rules' counts, and the pooled scores."""
    from mrc_ner.evaluation.aggregate import pool

    return {
        name: {
            "folds": r["folds"],
            "variants": {
                variant: {
                    "micro_f1": [s.micro.f1 for s in v["scores"]],
                    "changes": v["changes"],
                    "pooled": pool(v["scores"]).to_dict(),
                }
                for variant, v in r["variants"].items()
            },
        }
        for name, r in results.items()
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("records", type=Path, help=RECORDS_HELP)
    add_fold_arguments(ap)
    ap.add_argument("--min-length", type=int, default=2, help="shortest name propagated (characters)")
    ap.add_argument("--json-out", type=Path, help="also write per-fold figures and the rules' counts as JSON")
    a = ap.parse_args()
    results = rescored(a.records, folds_by_name(a), a.min_length)
    if not results:
        fail(f"{a.records}: no <fold>/<method>{PREDICTIONS_SUFFIX} files")
    print(markdown(results))
    if a.json_out:
        from mrc_ner.io import atomic_write_json

        atomic_write_json(a.json_out, as_json(results))


if __name__ == "__main__":
    main()
