"""Recall on seen and new names by mention shape, from committed test spans.

Splits every gold test mention by memory (its exact string annotated with its type in the
fold's training set: "seen", else "new", as the compare ``memory`` table does) and by shape
(an all-capitals single token such as ``DM``; another single word; 2-3 words; 4 or more
words), and prints, pooled over every cell of each method (folds and seeds), the share found
exactly, the share only overlapped by a prediction (a boundary error), and the share no
prediction touches. It says where one method's lower recall on new names comes from.

    python bench/name_shapes.py benchmarks/ncbi_e5_conv --corpus ../shared/data/bioner/NCBI-disease \
        --folds ../shared/data/bioner/NCBI-disease/{train,devel,test}.tsv   # the spec, comma-joined
"""

from __future__ import annotations

import argparse
import sys
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _harness import RECORDS_HELP, add_fold_arguments, fail, folds_by_name
from error_breakdown import committed_cells

SHAPES = ("capitals", "one word", "2-3 words", "4+ words")
OUTCOMES = ("found", "boundary", "missed")


def shape_of(text: str) -> str:
    """The shape class of a mention string.

    >>> [shape_of(t) for t in ("DM", "diabetes", "breast cancer", "deficiency of the fifth component")]
    ['capitals', 'one word', '2-3 words', '4+ words']
    """
    words = text.split()
    if len(words) == 1:
        return "capitals" if text.isupper() else "one word"
    return "2-3 words" if len(words) <= 3 else "4+ words"


def outcome_counts(records: Path, folds: dict, runs: set[str] | None = None) -> dict[str, Counter]:
    """Per method, counts keyed ``(half, shape, outcome)``; outcome is found, boundary or missed.

    ``runs``: only these run directories (``split``, ``split.seed43``, ``k5-0``); default all."""
    from mrc_ner.corpus.stats import annotated_strings

    known_by_fold: dict[str, dict] = {}
    out: dict[str, Counter] = {}
    for _, _, cell, fold, gold, pred in committed_cells(records, folds, runs):
        known = known_by_fold.setdefault(fold.name, annotated_strings(fold.train))
        counts = out.setdefault(cell["method"], Counter())
        for sentence, spans, predicted in zip(fold.test, gold, pred):
            exact = {(p.start, p.end, p.label) for p in predicted}
            for g in spans:
                text = sentence.mention(g)
                half = "seen" if g.label in known.get(text, ()) else "new"
                if (g.start, g.end, g.label) in exact:
                    outcome = "found"
                elif any(p.start < g.end and g.start < p.end for p in predicted):
                    outcome = "boundary"
                else:
                    outcome = "missed"
                counts[(half, shape_of(text), outcome)] += 1
    return out


def markdown(results: dict[str, Counter]) -> str:
    """One row per half and shape; per method found / boundary / missed (% of the mentions)."""
    methods = sorted(results)
    head = "| names | shape | mentions | " + " | ".join(f"{m}: found / boundary / missed" for m in methods) + " |"
    lines = [head, "|---|---|---:|" + "---:|" * len(methods)]
    for half in ("seen", "new"):
        for shape in SHAPES:
            first = results[methods[0]]
            n = sum(first[(half, shape, o)] for o in OUTCOMES)
            if not n:
                continue
            cells = []
            for m in methods:
                c = results[m]
                total = sum(c[(half, shape, o)] for o in OUTCOMES)
                cells.append(" / ".join(f"{100 * c[(half, shape, o)] / total:.1f}" for o in OUTCOMES))
            lines.append(f"| {half} | {shape} | {n:,} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("records", type=Path, help=RECORDS_HELP)
    add_fold_arguments(ap)
    ap.add_argument("--methods", help="comma-separated methods to keep (default: all)")
    ap.add_argument("--runs", help="comma-separated run directories to keep, e.g. split (seed 42 only); default all")
    ap.add_argument("--json-out", type=Path, help="also write the pooled counts as JSON")
    a = ap.parse_args()
    runs = set(a.runs.split(",")) if a.runs else None
    results = outcome_counts(a.records, folds_by_name(a), runs)
    if a.methods:
        keep = a.methods.split(",")
        results = {m: c for m, c in results.items() if m in keep}
    if not results:
        fail(f"{a.records}: no committed test spans for the methods asked")
    totals = {m: sum(c.values()) for m, c in results.items()}
    if len(set(totals.values())) > 1:
        print(f"note: methods cover different numbers of mentions (cells differ): {totals}")
    print(markdown(results))
    if a.json_out:
        from mrc_ner.io import atomic_write_json

        atomic_write_json(a.json_out, {m: {"/".join(k): n for k, n in sorted(c.items())} for m, c in results.items()})


if __name__ == "__main__":
    main()
