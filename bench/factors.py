"""One row per factor: a base recipe against the same recipe with one thing changed, over common folds.

Issue 13 takes the gap to a plain fine-tune apart one factor at a time. Each factor is a pair of
committed compare rows (``benchmarks/<set>/<fold>/<method>.json``) named in a JSON file:

    {"rows": [{"factor": "embeddings frozen → trained", "budget": "1 epoch",
               "base": ["cbp_k5_e1", "softmax:align=char:attention_dropout=0"],
               "changed": ["cbp_k5_e1", "softmax:align=char:attention_dropout=0:freeze_embeddings=false"]}]}

Sets are directories under ``benchmarks/`` (joined with ``+`` as in ``bench/tables.py``). For
each factor this prints, over the folds both rows have: the folds, each row's test micro F1 as
mean ± std, the difference changed − base (mean ± std) with its paired t-test p, the folds on
which the change is ahead, both pooled micro F1 (every test mention's counts summed), and the
median ratio of training seconds (changed / base, per fold), marked ``*`` when some pair of
cells does not both record its machine (cells before 2026-12-07 record none) and ``†`` when a
pair ran on different CPUs or torch thread counts: such a ratio compares machines as much as
recipes. BENCHMARKS.md's table "One row per factor" is this output.

    python bench/factors.py benchmarks/cbp_factors.json
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _harness import fail
from tables import load_cells

BENCHMARKS = Path(__file__).resolve().parent.parent / "benchmarks"
HEADERS = [
    "factor",
    "base → changed (`--methods`)",
    "folds · budget",
    "base",
    "changed",
    "Δ changed − base (paired t p)",
    "ahead",
    "pooled base → changed",
    "train time ×",
]


def row_cells(spec: list[str], sets: dict[str, list[dict[str, Any]]], root: Path) -> dict[str, dict[str, Any]]:
    """The cells of one ``[set, method]`` row by run (fold, or ``<fold>.seed<N>``); ``ValueError`` when there are none.

    ``sets`` caches each set's cells, so a set that many rows name is read once.
    """
    set_name, method = spec
    if set_name not in sets:
        sets[set_name] = load_cells(Path("+".join(str(root / s) for s in set_name.split("+"))))
    found = {c["fold"]: c for c in sets[set_name] if c["method"] == method}
    if not found:
        raise ValueError(f"no committed cells of {method!r} in {set_name}")
    return found


def micro_f1(cell: dict[str, Any]) -> float:
    """A cell's test micro F1 in percent."""
    return 100 * cell["scores"]["micro"]["f1"]


def machines_compare(a: dict[str, Any], b: dict[str, Any]) -> str:
    """``same`` when two cells recorded one CPU and thread count, ``different`` when they recorded
    others, ``unrecorded`` when either lacks the record or ran its epochs in more than one place
    (:func:`~mrc_ner.training.provenance.cell_timing_key`)."""
    from mrc_ner.training.provenance import cell_timing_key

    ka, kb = cell_timing_key(a), cell_timing_key(b)
    if ka is None or kb is None:
        return "unrecorded"
    return "same" if ka == kb else "different"


#: the mark a training-time ratio gets when its cells' machines are not known to be one
RATIO_MARKS = {"same": "", "unrecorded": "*", "different": "†"}


def factor_figures(base: dict[str, dict[str, Any]], changed: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """Paired figures of two rows over the folds both have (at least one)."""
    from mrc_ner.evaluation.aggregate import mean_std, paired_ttest, pool
    from mrc_ner.experiments.compare import scores_from_dict

    folds = sorted(base.keys() & changed.keys())
    if not folds:
        raise ValueError("the two rows share no fold")
    a = [micro_f1(base[f]) for f in folds]
    b = [micro_f1(changed[f]) for f in folds]
    diffs = [y - x for x, y in zip(a, b)]
    p = paired_ttest(b, a)[1] if len(folds) > 1 else None
    pooled = [100 * pool([scores_from_dict(row[f]["scores"]) for f in folds]).micro.f1 for row in (base, changed)]
    timed = [f for f in folds if base[f]["train_seconds"]]
    ratios = [changed[f]["train_seconds"] / base[f]["train_seconds"] for f in timed]
    machines = {machines_compare(base[f], changed[f]) for f in timed}
    return {
        "folds": folds,
        "base": mean_std(a),
        "changed": mean_std(b),
        "diff": mean_std(diffs),
        "p": p,
        "ahead": sum(d > 0 for d in diffs),
        "pooled": pooled,
        "time_ratio": statistics.median(ratios) if ratios else None,
        # the worst case over the folds: one pair on other machines marks the median
        "machines": next((m for m in ("different", "unrecorded") if m in machines), "same"),
    }


def signed(x: float) -> str:
    """A difference with its sign, the minus a true minus sign as in the rest of BENCHMARKS.md."""
    return f"{x:+.2f}".replace("-", "−")


def markdown_row(factor: dict[str, Any], fig: dict[str, Any]) -> str:
    """One markdown table row for a factor and its figures."""
    from mrc_ner.evaluation.aggregate import format_mean_std
    from mrc_ner.experiments.compare import format_p

    folds = fig["folds"]
    fold_text = f"{len(folds)} ({folds[0]})" if len(folds) == 1 else str(len(folds))
    diff = fig["diff"]
    diff_text = signed(diff.mean) + (f" ± {diff.std:.2f}" if diff.n > 1 else "")
    ratio = "—" if fig["time_ratio"] is None else f"{fig['time_ratio']:.2f}{RATIO_MARKS[fig['machines']]}"
    cells = [
        factor["factor"],
        f"`{factor['base'][1]}` → `{factor['changed'][1]}`",
        f"{fold_text} · {factor['budget']}",
        format_mean_std(fig["base"].mean, fig["base"].std, n=fig["base"].n),
        format_mean_std(fig["changed"].mean, fig["changed"].std, n=fig["changed"].n),
        f"{diff_text} ({format_p(fig['p'])})",
        f"{fig['ahead']} of {len(folds)}",
        f"{fig['pooled'][0]:.2f} → {fig['pooled'][1]:.2f}",
        ratio,
    ]
    return "| " + " | ".join(cells) + " |"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument(
        "factors", type=Path, help="JSON file: {'rows': [{factor, budget, base: [set, method], changed: [...]}]}"
    )
    ap.add_argument(
        "--root", type=Path, default=BENCHMARKS, help="the directory the sets are in (default: benchmarks/)"
    )
    a = ap.parse_args()
    try:
        rows = json.loads(a.factors.read_text(encoding="utf-8"))["rows"]
    except (OSError, ValueError, KeyError, TypeError) as e:
        fail(f"{a.factors}: not a factors file ({e})")
    sets: dict[str, list[dict[str, Any]]] = {}
    lines = ["| " + " | ".join(HEADERS) + " |", "|" + "|".join(["---"] * 3 + ["---:"] * (len(HEADERS) - 3)) + "|"]
    for i, factor in enumerate(rows, 1):
        try:
            fig = factor_figures(row_cells(factor["base"], sets, a.root), row_cells(factor["changed"], sets, a.root))
        except (KeyError, ValueError) as e:
            fail(f"{a.factors}: row {i} ({factor.get('factor', '?')}): {e}")
        lines.append(markdown_row(factor, fig))
    print("\n".join(lines))


if __name__ == "__main__":
    main()
