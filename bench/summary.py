"""One table across committed compare sets: each method's test micro F1 per set, budget marked.

``bench/tables.py`` prints one set's full report (per fold, per type, t-tests); this reads
several sets (``benchmarks/<set>/<fold>/<method>.json``) and prints one markdown row per set and
method: the encoder, how many runs (folds × seeds), test micro F1 as mean ± std over the runs
(one run: no std), pooled micro P / R / F1 (every run's counts summed), the best dev epoch of
each run, the epoch limit and how training ended (:func:`ending`) — ``cap`` where the best dev epoch was the last
allowed one (dev F1 still rising: the figure is a lower bound), ``stopped`` where patience ended it,
``past best`` where the limit came after the best epoch but before patience ran out.
BENCHMARKS.md's table "Every converged set at a glance" is this output.

    python bench/summary.py benchmarks/ncbi_minilm_conv benchmarks/ncbi_e5_conv \\
        benchmarks/bc5cdr_minilm_conv benchmarks/bc2gm_minilm_conv
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _harness import set_label
from tables import load_cells


def ending(cell: dict[str, Any]) -> str:
    """How one cell's training ended: ``cap``, ``past best``, ``stopped`` or ``steps``.

    ``cap``: the best dev epoch was the last allowed one (still rising: a lower bound).
    ``past best``: it ran to the limit with its best epoch earlier, but fewer epochs after
    the best than the patience (it may have been about to stop, or to rise again).
    ``stopped``: patience ended it. A cell without its train log counts as stopped.
    """
    train = cell["args"]["train"]
    if train.get("max_steps"):
        return "steps"
    if cell["best_epoch"] >= train["epochs"]:
        return "cap"
    trained = cell.get("epochs_trained")
    if trained is not None and trained >= train["epochs"] and trained - cell["best_epoch"] < train["patience"]:
        return "past best"
    return "stopped"


def method_row(cells: list[dict[str, Any]]) -> dict[str, Any]:
    """Figures for one method's cells in one set (one cell per fold × seed)."""
    from mrc_ner.evaluation.aggregate import mean_std, pool
    from mrc_ner.experiments.compare import scores_from_dict

    f1 = mean_std([100 * c["scores"]["micro"]["f1"] for c in cells])
    pooled = pool([scores_from_dict(c["scores"]) for c in cells]).micro
    return {
        "runs": len(cells),
        "mean": f1.mean,
        "std": f1.std if f1.n > 1 else None,
        "pooled": {"precision": 100 * pooled.precision, "recall": 100 * pooled.recall, "f1": 100 * pooled.f1},
        "best_epochs": [c["best_epoch"] for c in cells],
        "endings": [ending(c) for c in cells],
        "encoder": sorted({c["args"]["encoder"] for c in cells}),
        "epochs": sorted({c["args"]["train"]["epochs"] for c in cells}),
    }


def summarise(directory: Path) -> dict[str, dict[str, Any]]:
    """Per method (in first-seen order), the figures of :func:`method_row` for one set."""
    by_method: dict[str, list[dict[str, Any]]] = {}
    for cell in load_cells(directory):
        by_method.setdefault(cell["method"], []).append(cell)
    if not by_method:
        raise SystemExit(f"{directory}: no compare cells in it")
    return {method: method_row(cells) for method, cells in by_method.items()}


def markdown(summaries: dict[str, dict[str, dict[str, Any]]]) -> str:
    """The table: one row per set and method, best mean of each set in bold."""
    rows = [
        "| set | encoder | method | runs | **test micro F1** (mean ± std) | pooled P / R / F1 | best dev epoch per run | ended |",
        "|---|---|---|---:|---:|---:|---|---|",
    ]
    for name, methods in summaries.items():
        best = max(m["mean"] for m in methods.values())
        for method, m in methods.items():
            f1 = f"{m['mean']:.2f}" + (f" ± {m['std']:.2f}" if m["std"] is not None else "")
            if m["mean"] == best and len(methods) > 1:
                f1 = f"**{f1}**"
            pooled = m["pooled"]
            limit = "≤ " + "/".join(map(str, m["epochs"])) + " epochs: "
            endings = limit + ", ".join(
                f"{e} {m['endings'].count(e)}" for e in ("stopped", "past best", "cap", "steps") if e in m["endings"]
            )
            rows.append(
                f"| {name} | {', '.join(m['encoder'])} | {method} | {m['runs']} | {f1} | "
                f"{pooled['precision']:.2f} / {pooled['recall']:.2f} / {pooled['f1']:.2f} | "
                f"{' '.join(map(str, m['best_epochs']))} | {endings} |"
            )
    return "\n".join(rows)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument(
        "sets",
        type=Path,
        nargs="+",
        help="benchmarks/<set> directories of compare cells; A+B: A's cells, then B's for the folds and methods A lacks",
    )
    a = ap.parse_args()
    print(markdown({set_label(d): summarise(d) for d in a.sets}))


if __name__ == "__main__":
    main()
