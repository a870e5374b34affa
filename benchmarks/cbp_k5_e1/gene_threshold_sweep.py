"""Run from /work/wt-exp5 (code b6b3f10) as: python benchmarks/cbp_k5_e1/gene_threshold_sweep.py k5-1 k5-2 k5-4 (needs the kept cell models).
mrc-packed (1 epoch) on k5-1/k5-2/k5-4: does the gene query fire below the threshold? One prediction pass
per fold and split; then per-type thresholds (gene at t_g, others at the model's dev-chosen threshold), flat and nested."""

import json
import sys
import time

import numpy as np
import torch

from mrc_ner.decoding import mrc_candidates, resolve_flat
from mrc_ner.encoding.alignment import unit_chunks_to_spans
from mrc_ner.evaluation import score_spans
from mrc_ner.experiments.compare import load_folds
from mrc_ner.models.base import Tagger

torch.set_num_threads(2)
CELL = "/work/runs/cbp_k5_e1/cells/{}/mrc-packed_align=mixed_attention_dropout=0"
TG = [0.5, 0.3, 0.2, 0.1, 0.05, 0.02, 0.01]
out = {}
for name in sys.argv[1:]:
    fold = load_folds("k=5", "/work/shared/data/cbp_gold/documents", only=[name])[0]
    tagger = Tagger.load(CELL.format(name))
    t0 = float(tagger.options["threshold"])
    for split, sents in (("dev", fold.dev), ("test", fold.test)):
        t = time.time()
        with tagger.using() as chosen:
            aligned, outputs = tagger.run_features(sents, batch_size=32)
            probs = [tagger.decode_outputs(al, o) if al.units else {} for al, o in zip(aligned, outputs)]
        gmax = [float(p["gene"][0].max()) for p in probs if p and "gene" in p and len(p["gene"][0])]
        rows = []
        for nested in (False, True):
            for tg in TG:
                pred = []
                for al, p in zip(aligned, probs):
                    if not al.units:
                        pred.append([])
                        continue
                    cands = []
                    for label, (s, e) in p.items():
                        cands += mrc_candidates(
                            s,
                            e,
                            label,
                            threshold=tg if label == "gene" else t0,
                            nested=nested,
                            max_length=int(tagger.options["max_span_units"]),
                        )
                    kept = sorted(cands, key=lambda c: (c.start, c.end, c.label)) if nested else resolve_flat(cands)
                    pred.append(
                        unit_chunks_to_spans(
                            al.units, [(c.start, c.end, c.label) for c in kept], [c.score for c in kept]
                        )
                    )
                sc = score_spans([s.spans for s in sents], pred)
                g = sc.per_type.get("gene")
                rows.append(
                    {
                        "nested": nested,
                        "gene_threshold": tg,
                        "micro_f1": round(sc.micro.f1, 4),
                        "gene": None
                        if g is None
                        else {k: (round(v, 4) if isinstance(v, float) else v) for k, v in g.__dict__.items()},
                    }
                )
        out[f"{name}/{split}"] = {
            "threshold": t0,
            "sentences": len(sents),
            "gene_start_max_quantiles": [round(float(q), 4) for q in np.quantile(gmax, [0.5, 0.9, 0.99, 1.0])]
            if gmax
            else None,
            "rows": rows,
        }
        print(name, split, round(time.time() - t), "s", json.dumps(out[f"{name}/{split}"]), flush=True)
json.dump(out, open("gene_threshold_sweep.json", "w"), indent=1)
