"""Why an MRC model misses gold mentions: what its start and end heads said at the mention's edges.

MRC rows are the most precise and the least recalling in every comparison of BENCHMARKS.md.
This runs a trained ``mrc`` / ``mrc-packed`` model once over a test set and sorts every gold
mention by what the model did with it, at the model's own threshold (``--threshold`` overrides):

* ``found``: decoded with the right span and type;
* ``other type``: decoded with the right span under another type;
* ``edges fire, pairing lost``: the start head fires at the first unit and the end head at the
  last one (both above the threshold) but decoding did not pair them (another start or end
  inside the span, or flat overlap resolution kept another candidate);
* ``start only`` / ``end only``: one head fires at its edge, the other does not;
* ``neither``: no head fires at either edge;
* ``not on unit edges``: a gold edge falls inside a unit (alignment loses it whatever the heads say).

It also reports the ceiling no decoder can pass at any threshold above ``--floor`` (default
0.05): the share of gold mentions whose start and end probabilities both exceed it.

    python bench/mrc_misses.py --model runs/bc2gm_minilm_conv/cells/split/mrc \\
        --test ../shared/data/bioner/BC2GM/test.tsv [--json-out F]

``--test`` is a corpus path, or ``k=5:k5-0:CORPUS`` for the test documents of a fold.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from decodings import test_sentences

OUTCOMES = (
    "found",
    "other type",
    "edges fire, pairing lost",
    "start only",
    "end only",
    "neither",
    "not on unit edges",
)


def outcome(
    *,
    first: int | None,
    last: int | None,
    start_probs: Sequence[float] | None,
    end_probs: Sequence[float] | None,
    threshold: float,
    decoded_same_type: bool,
    decoded_other_type: bool,
) -> str:
    """What happened to one gold mention (one of :data:`OUTCOMES`).

    ``first`` / ``last`` are the units the mention starts and ends in (None: its edge is
    inside a unit); ``start_probs`` / ``end_probs`` the type's per-unit probabilities (None
    when the model was not asked for the type).

    >>> outcome(first=0, last=1, start_probs=[0.9, 0.1], end_probs=[0.2, 0.3], threshold=0.5,
    ...         decoded_same_type=False, decoded_other_type=False)
    'start only'
    """
    if decoded_same_type:
        return "found"
    if decoded_other_type:
        return "other type"
    if first is None or last is None:
        return "not on unit edges"
    if start_probs is None or end_probs is None:
        return "neither"
    fires_start, fires_end = start_probs[first] > threshold, end_probs[last] > threshold
    if fires_start and fires_end:
        return "edges fire, pairing lost"
    if fires_start:
        return "start only"
    return "end only" if fires_end else "neither"


def tally(tagger, sentences, *, threshold: float, floor: float, batch_size: int = 32) -> dict[str, Any]:
    """Per gold type, the count of each outcome, and how many mentions clear ``floor`` at both edges."""
    aligned, outputs = tagger.run_features(sentences, batch_size=batch_size)
    counts: dict[str, Counter] = {}
    ceiling: Counter = Counter()
    predicted = 0
    for sentence, al, outs in zip(sentences, aligned, outputs):
        probs = tagger.decode_outputs(al, outs) if al.units else {}
        decoded = tagger.decode_probabilities(al, probs, threshold=threshold) if al.units else []
        predicted += len(decoded)
        unit_of_start = {a: i for i, (a, _) in enumerate(al.units)}
        unit_of_end = {b: i for i, (_, b) in enumerate(al.units)}
        for gold in sentence.spans:
            same = [sp for sp in decoded if (sp.start, sp.end) == (gold.start, gold.end)]
            first, last = unit_of_start.get(gold.start), unit_of_end.get(gold.end)
            start_probs, end_probs = probs.get(gold.label, (None, None))
            counts.setdefault(gold.label, Counter())[
                outcome(
                    first=first,
                    last=last,
                    start_probs=start_probs,
                    end_probs=end_probs,
                    threshold=threshold,
                    decoded_same_type=any(sp.label == gold.label for sp in same),
                    decoded_other_type=bool(same),  # checked only when no same-type span was decoded
                )
            ] += 1
            if first is not None and last is not None and start_probs is not None and end_probs is not None:
                ceiling[gold.label] += int(start_probs[first] > floor and end_probs[last] > floor)
    return {
        "threshold": threshold,
        "floor": floor,
        "predicted": predicted,
        "per_type": {
            label: {
                "mentions": sum(c.values()),
                "outcomes": {name: c[name] for name in OUTCOMES},
                "both_edges_above_floor": ceiling[label],
            }
            for label, c in sorted(counts.items())
        },
    }


def markdown(report: dict[str, Any]) -> str:
    """One row per type: mentions, then each outcome's share (%), then the ceiling at the floor."""
    head = (
        "| type | mentions | "
        + " | ".join(OUTCOMES)
        + f" | both edges > {report['floor']} (ceiling) |\n|---|---:|"
        + "---:|" * (len(OUTCOMES) + 1)
    )
    rows = [head]
    for label, t in report["per_type"].items():
        n = t["mentions"]
        shares = " | ".join(f"{100 * t['outcomes'][o] / n:.1f}" for o in OUTCOMES)
        rows.append(f"| {label} | {n:,} | {shares} | {100 * t['both_edges_above_floor'] / n:.1f} |")
    return "\n".join(rows)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", required=True, type=Path, help="a trained mrc or mrc-packed model directory")
    ap.add_argument("--test", required=True, help="test corpus, or k=N:FOLD:CORPUS")
    ap.add_argument("--threshold", type=float, help="start/end threshold (default: the model's own)")
    ap.add_argument("--floor", type=float, default=0.05, help="the lowest threshold the ceiling is measured at")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--json-out", type=Path)
    a = ap.parse_args()

    import torch

    from mrc_ner.models import load_tagger

    torch.set_num_threads(a.threads)
    tagger = load_tagger(a.model)
    if not hasattr(tagger, "decode_probabilities"):
        raise SystemExit(f"{a.model}: not an MRC model; this script reads MRC start/end heads")
    threshold = a.threshold if a.threshold is not None else float(tagger.options["threshold"])
    report = {
        "model": str(a.model),
        "test": a.test,
        **tally(tagger, test_sentences(a.test), threshold=threshold, floor=a.floor),
    }
    print(markdown(report))
    if a.json_out:
        a.json_out.write_text(json.dumps(report, indent=1) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
