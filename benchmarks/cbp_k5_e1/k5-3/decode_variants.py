"""Diagnostic record: the k5-3 mrc-packed (mixed) cell's model decoded flat (as scored), nested, and flat at threshold 0.05.

Needs the cell's model in runs/cbp_k5_e1/cells/k5-3/ (weights are not committed); run from the
repository root. Its figures are in decode_variants.json and read in BENCHMARKS.md.
"""

import json
import time

import torch

from mrc_ner.evaluation import score_spans
from mrc_ner.evaluation.breakdown import error_breakdown
from mrc_ner.experiments.compare import load_folds
from mrc_ner.models.base import Tagger

torch.set_num_threads(2)
fold = load_folds("k=5", "../shared/data/cbp_gold/documents", only=["k5-3"])[0]
tagger = Tagger.load("runs/cbp_k5_e1/cells/k5-3/mrc-packed_align=mixed_attention_dropout=0")
gold = [s.spans for s in fold.test]
out = {}
for name, kw in [("flat (as scored)", {}), ("nested", {"nested": True}), ("threshold 0.05", {"threshold": 0.05})]:
    t = time.time()
    pred = tagger.predict(fold.test, batch_size=32, **kw)
    s = score_spans(gold, pred)
    gene = s.per_type.get("gene")
    out[name] = {
        "micro_f1": s.micro.f1,
        "gene": None if gene is None else gene.__dict__,
        "gene_breakdown": error_breakdown(gold, pred)["gene"],
    }
    print(name, round(time.time() - t), "s", json.dumps(out[name]), flush=True)
print(json.dumps(out, indent=1))
