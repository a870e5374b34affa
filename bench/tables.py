"""Rebuild a BENCHMARKS.md table from committed run records (no weights needed).

Each run directory under ``benchmarks/<set>/`` holds what ``mrc-ner train`` wrote:
``train_log.jsonl`` (one line per epoch, dev scores included), ``run_summary.json``,
``training_args.json`` and ``model_config.json`` (the model's config without the
encoder's). This prints one markdown row per run: method, the options and training
settings that differ from the set's first run, steps, dev micro F1 after each epoch.

A set of ``mrc-ner compare`` cells instead (``benchmarks/<set>/<fold>/<method>.json``,
each a copy of a cell's ``result.json``) prints compare's own report: mean ± std over
folds, pooled micro F1, paired t-tests against the best row, and the per-cell table.

    python bench/tables.py benchmarks/ncbi_slice300
    python bench/tables.py benchmarks/cbp_k5_e1
    python bench/tables.py benchmarks/cbp_k5_conv --runs k5-1,k5-2    # those folds' cells only
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any


def load_run(directory: Path) -> dict[str, Any]:
    """One run's records."""
    log = [
        json.loads(line)
        for line in (directory / "train_log.jsonl").read_text(encoding="utf-8").splitlines()
        if line.strip()
    ]
    return {
        "name": directory.name,
        "config": json.loads((directory / "model_config.json").read_text(encoding="utf-8")),
        "args": json.loads((directory / "training_args.json").read_text(encoding="utf-8")),
        "log": log,
    }


def settings_of(run: dict[str, Any]) -> dict[str, Any]:
    """The settings a row may differ in: method options (not the queries), alignment, training args."""
    opts = {k: v for k, v in run["config"]["options"].items() if k != "queries"}
    args = {k: v for k, v in run["args"].items() if k not in ("out_dir", "resume", "log_every")}
    return {"align": run["config"]["align_mode"], **opts, **args}


def table(runs: list[dict[str, Any]]) -> str:
    """Markdown: one row per run, epochs as columns of dev micro F1."""
    epochs = max(len(r["log"]) for r in runs)
    head = "| run | method | settings | steps | " + " | ".join(f"dev F1 ep {i + 1}" for i in range(epochs)) + " |"
    rule = "|---|---|---|---:|" + "---:|" * epochs
    rows = [head, rule]
    for r in runs:
        s = settings_of(r)
        shown = ", ".join(
            f"{k}={v}"
            for k, v in s.items()
            if k
            in (
                "align",
                "prior_bias",
                "pos_weight",
                "freeze_embeddings",
                "negative_ratio",
                "decode",
                "encoder_lr",
                "head_lr",
                "epochs",
                "batch_size",
            )
        )
        f1 = [f"{100 * e['dev']['micro']['f1']:.2f}" if "dev" in e else "—" for e in r["log"]]
        f1 += [""] * (epochs - len(f1))
        rows.append(
            f"| {r['name']} | {r['config']['method']} | {shown} | {r['log'][-1]['step']} | " + " | ".join(f1) + " |"
        )
    return "\n".join(rows)


def load_cells(directory: Path, runs: list[str] | None = None) -> list[dict[str, Any]]:
    """The compare cells of a set (of the run directories in ``runs``, default all): every
    ``<fold>/<method>.json`` that holds a cell's scores.

    ``directory`` may join sets with ``+`` (:func:`_harness.set_files`: earlier sets' cells win).
    A cell whose ``<method>.train_log.jsonl`` was committed beside it gets ``epochs_trained``.
    """
    from _harness import set_files

    cells = []
    for path in set_files(directory, "*/*.json", runs):
        record = json.loads(path.read_text(encoding="utf-8"))
        if isinstance(record, dict) and "scores" in record and "fold" in record and "method" in record:
            log = path.with_name(path.stem + ".train_log.jsonl")
            if log.is_file():
                record["epochs_trained"] = sum(
                    1 for line in log.read_text(encoding="utf-8").splitlines() if line.strip()
                )
            cells.append(record)
    return cells


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument(
        "set",
        type=Path,
        help="a benchmarks/<set> directory of run directories or compare cells; sets of cells joined by + "
        "(A+B: A's cells, then B's for the folds and methods A lacks)",
    )
    ap.add_argument("--runs", help="comma-separated fold (run) names to read (default: every committed run)")
    a = ap.parse_args()
    folds = a.runs.split(",") if a.runs else None
    single = "+" not in str(a.set) and folds is None
    runs = [load_run(d) for d in sorted(a.set.iterdir()) if (d / "train_log.jsonl").is_file()] if single else []
    if runs:
        print(table(runs))
    cells = load_cells(a.set, folds)
    if cells:
        from mrc_ner.experiments.compare import build_report, markdown

        print(markdown(build_report(cells)))
    if not runs and not cells:
        raise SystemExit(
            f"{a.set}: no run directories and no compare cells in it" + (f" for runs {a.runs}" if folds else "")
        )


if __name__ == "__main__":
    main()
