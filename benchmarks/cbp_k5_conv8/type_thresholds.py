"""Per-type start/end thresholds chosen on dev, against the one dev-chosen threshold, on kept cbp cells.

Run from the repository root as
``python benchmarks/cbp_k5_conv8/type_thresholds.py /work/runs/cbp_k5_conv8 k5-1 k5-2 k5-3``
(it needs the cells' saved models, which are not committed). For each fold: one prediction pass
over dev and one over test; then, on dev only, each type's threshold is swept with the other
types at the model's own threshold t0, and each type keeps the threshold of the best dev micro F1
(ties: the one nearest t0). The chosen set is then scored once on test, beside t0 and beside
0.5 (the heads' argmax, no dev choice). The global sweeps of both splits are kept too: the test
one is an oracle, for reading only.
Writes ``benchmarks/cbp_k5_conv8/type_thresholds.json``.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

import torch

from mrc_ner.decoding import mrc_candidates, resolve_flat
from mrc_ner.encoding.alignment import unit_chunks_to_spans
from mrc_ner.evaluation import score_spans
from mrc_ner.experiments.compare import load_folds
from mrc_ner.models.base import Tagger
from mrc_ner.models.threshold import DEFAULT_THRESHOLDS

torch.set_num_threads(2)
CORPUS = "../shared/data/cbp_gold/documents"
METHOD_DIR = "mrc-packed_align=mixed"


def one_pass(tagger, sentences):
    """Each sentence's alignment and per-type unit probabilities, from one run of the encoder."""
    with tagger.using():
        aligned, outputs = tagger.run_features(sentences, batch_size=32)
        return aligned, [tagger.decode_outputs(al, o) if al.units else {} for al, o in zip(aligned, outputs)]


def decode(tagger, aligned, probs, thresholds: dict[str, float]):
    """Flat spans with each type's own threshold."""
    max_len = int(tagger.options["max_span_units"])
    pred = []
    for al, p in zip(aligned, probs):
        if not al.units:
            pred.append([])
            continue
        cands = []
        for label, (s, e) in p.items():
            cands += mrc_candidates(s, e, label, threshold=thresholds[label], max_length=max_len)
        kept = resolve_flat(cands)
        pred.append(unit_chunks_to_spans(al.units, [(c.start, c.end, c.label) for c in kept], [c.score for c in kept]))
    return pred


def scores(sentences, pred) -> dict:
    sc = score_spans([s.spans for s in sentences], pred)
    return {"micro_f1": round(100 * sc.micro.f1, 2)} | {t: round(100 * v.f1, 2) for t, v in sorted(sc.per_type.items())}


def main() -> None:
    runs, folds = Path(sys.argv[1]), sys.argv[2:]
    out_path = Path(__file__).with_name("type_thresholds.json")
    out = json.loads(out_path.read_text()) if out_path.exists() else {}
    for name in folds:
        started = time.time()
        fold = load_folds("k=5", CORPUS, only=[name])[0]
        tagger = Tagger.load(runs / "cells" / name / METHOD_DIR)
        t0 = float(tagger.options["threshold"])
        types = list(tagger.asked_types)
        dev, test = one_pass(tagger, fold.dev), one_pass(tagger, fold.test)
        chosen, sweeps = {}, {}
        for label in types:
            rows = []
            for t in DEFAULT_THRESHOLDS:
                th = {x: t0 for x in types} | {label: t}
                rows.append((t, score_spans([s.spans for s in fold.dev], decode(tagger, *dev, th)).micro.f1))
            sweeps[label] = [[t, round(100 * f, 2)] for t, f in rows]
            chosen[label] = min(rows, key=lambda r: (-round(r[1], 12), abs(r[0] - t0)))[0]
        same, half = {x: t0 for x in types}, dict.fromkeys(types, 0.5)
        global_sweeps = {
            split: [
                [t, scores(sents, decode(tagger, *passed, dict.fromkeys(types, t)))["micro_f1"]]
                for t in DEFAULT_THRESHOLDS
            ]
            for split, sents, passed in (("dev", fold.dev, dev), ("test", fold.test, test))
        }
        out[name] = {
            "t0": t0,
            "chosen": chosen,
            "dev": {
                "t0": scores(fold.dev, decode(tagger, *dev, same)),
                "per_type": scores(fold.dev, decode(tagger, *dev, chosen)),
            },
            "test": {
                "t0": scores(fold.test, decode(tagger, *test, same)),
                "0.5": scores(fold.test, decode(tagger, *test, half)),
                "per_type": scores(fold.test, decode(tagger, *test, chosen)),
            },
            "dev_sweeps": sweeps,
            "global_sweeps": global_sweeps,
            "seconds": round(time.time() - started),
        }
        print(name, json.dumps({k: v for k, v in out[name].items() if not k.endswith("sweeps")}), flush=True)
        out_path.write_text(json.dumps(out, indent=1) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
