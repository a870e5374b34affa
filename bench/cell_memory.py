"""Add seen / new-name recall and test spans to compare cells that finished before they were recorded.

A cell written by an older ``mrc-ner compare`` has scores but no ``memory`` in its
``result.json`` and no ``test_predictions.jsonl``. Where the cell still holds its model,
this script predicts the fold's test set again, checks that the predictions score exactly
as the cell recorded (else it stops: the model or the fold is not the one scored), and
adds both records. Cells that already have them, or whose model is gone, are left as
they are (and listed).

    python bench/cell_memory.py runs/cbp_k5_e1 --corpus ../shared/data/cbp_gold/documents --folds k=5
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import cast

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _harness import add_fold_arguments, default_threads, fail, fold_of_cell, folds_by_name, set_threads


def add_memory(cell: Path, fold, *, batch_size: int) -> str:
    """Rescore one cell; returns what was done."""
    from mrc_ner.corpus.model import Span
    from mrc_ner.corpus.stats import annotated_strings
    from mrc_ner.evaluation import score_spans
    from mrc_ner.evaluation.memory import recall_by_memory
    from mrc_ner.evaluation.metrics import annotated_only
    from mrc_ner.experiments.compare import PREDICTIONS_NAME, RESULT_NAME
    from mrc_ner.experiments.compare.cells import write_predictions
    from mrc_ner.io import atomic_write_json
    from mrc_ner.models.base import Tagger

    result = json.loads((cell / RESULT_NAME).read_text(encoding="utf-8"))
    if result.get("memory") is not None and (cell / PREDICTIONS_NAME).is_file():
        return "already recorded"
    if not (cell / "model.safetensors").is_file():
        return "no model kept: left as it is"
    tagger = Tagger.load(cell)
    pred = annotated_only(fold.test, cast("list[list[Span]]", tagger.predict(fold.test, batch_size=batch_size)))
    scores = score_spans([s.spans for s in fold.test], pred).to_dict()
    if scores != result["scores"]:
        fail(
            f"{cell}: test micro F1 {scores['micro']['f1']:.4f} now, {result['scores']['micro']['f1']:.4f} recorded; "
            "not the model or fold the cell scored, nothing written"
        )
    result["memory"] = recall_by_memory(fold.test, pred, annotated_strings(fold.train))
    write_predictions(cell / PREDICTIONS_NAME, fold.test, pred)
    atomic_write_json(cell / RESULT_NAME, result)
    return "memory and test spans added (scores reproduced exactly)"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("out", type=Path, help="the compare --out directory")
    add_fold_arguments(ap)
    ap.add_argument("--threads", type=int, default=default_threads())
    a = ap.parse_args()
    set_threads(a.threads)
    folds = folds_by_name(a)
    cells = sorted(a.out.glob("cells/*/*/result.json"))
    if not cells:
        fail(f"no finished cells under {a.out}/cells")
    for result in cells:
        cell = result.parent
        fold = fold_of_cell(folds, cell.parent.name)
        if fold is None:
            fail(f"{cell}: no fold {cell.parent.name!r} in --folds {a.folds}")
        batch = json.loads(result.read_text(encoding="utf-8"))["args"]["train"].get("eval_batch_size", 32)
        print(f"{cell.relative_to(a.out)}: {add_memory(cell, fold, batch_size=batch)}", flush=True)


if __name__ == "__main__":
    main()
