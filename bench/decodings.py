"""Score trained sequence labelers with each tag decoding, on the same predictions.

``decode=seqeval`` reads IOB2 tags as seqeval does: ``B-protein B-gene I-gene`` is a
one-character protein and a gene without its first character. ``decode=runs`` makes
such a type-switching run one entity of its highest-scoring type
(:func:`mrc_ner.decoding.merge_type_switches`). Decoding is applied after the model,
so one trained model gives both rows; the evaluator is the same (seqeval-exact).

    python bench/decodings.py --model runs/cbp_k5_e1/cells/k5-0/softmax --test TEST [--json-out F]

``--test`` is a corpus path, or ``k=5:k5-0:CORPUS`` for the test documents of a fold
(as ``mrc-ner compare --folds k=5`` splits ``CORPUS``).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path


def test_sentences(spec: str):
    """Sentences of a corpus path or of a ``k=N:FOLD:CORPUS`` fold's test documents."""
    from mrc_ner.corpus.readers import read_corpus
    from mrc_ner.experiments.compare import load_folds

    if spec.startswith("k="):
        folds, name, corpus = spec.split(":", 2)
        return load_folds(folds, corpus, only=[name])[0].test
    return read_corpus(spec).sentences


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument(
        "--model", action="append", required=True, type=Path, help="a trained softmax/crf model directory (repeatable)"
    )
    ap.add_argument("--test", required=True, help="test corpus, or k=N:FOLD:CORPUS")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--json-out", type=Path)
    a = ap.parse_args()

    import torch

    from mrc_ner.evaluation import score_spans
    from mrc_ner.models import load_tagger

    torch.set_num_threads(a.threads)
    test = test_sentences(a.test)
    rows = []
    for model in a.model:
        tagger = load_tagger(model)
        for decode in ("seqeval", "runs"):
            tagger.options["decode"] = decode
            scores = score_spans([s.spans for s in test], tagger.predict(test)).to_dict()
            per_type = {t: round(100 * v["f1"], 2) for t, v in scores["per_type"].items()}
            rows.append(
                {
                    "model": str(model),
                    "decode": decode,
                    "micro_f1": round(100 * scores["micro"]["f1"], 2),
                    "per_type_f1": per_type,
                }
            )
            print(
                f"| {model} | {decode} | {rows[-1]['micro_f1']:.2f} | "
                + ", ".join(f"{t} {f:.2f}" for t, f in per_type.items())
                + " |"
            )
    if a.json_out:
        a.json_out.parent.mkdir(parents=True, exist_ok=True)
        a.json_out.write_text(json.dumps({"test": a.test, "rows": rows}, indent=2) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
