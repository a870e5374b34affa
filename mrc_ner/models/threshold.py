"""The MRC start/end threshold: a sweep over thresholds from one prediction pass, and the dev-chosen default.

A unit is a start (an end) of a type when its start (end) probability is above the
threshold. Lower thresholds find more mentions (recall up, precision down). After
training, :meth:`mrc_ner.models.mrc.MRCTagger.calibrate` runs :func:`sweep` on the
dev set and keeps :func:`best_threshold` in the model's ``options["threshold"]``
(saved in ``config.json``); ``--threshold`` at prediction time overrides it.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from mrc_ner.corpus.model import Sentence

#: the thresholds a sweep tries unless told otherwise
DEFAULT_THRESHOLDS: tuple[float, ...] = tuple(round(0.05 * k, 2) for k in range(1, 20))


def sweep(
    tagger, sentences: Sequence[Sentence], thresholds: Sequence[float] = (), *, batch_size: int = 32, **settings: Any
) -> list[dict[str, float]]:
    """Micro precision, recall and F1 of ``tagger`` on ``sentences`` at each threshold.

    The encoder runs once; only decoding is repeated. Sentences with
    ``annotated_types`` are scored on those types. ``settings`` are
    :meth:`~mrc_ner.models.base.Tagger.predict`'s keywords (types, queries, nested).
    """
    from mrc_ner.evaluation.metrics import annotated_only, score_spans

    thresholds = sorted(set(thresholds or DEFAULT_THRESHOLDS))
    with tagger.using(**settings) as chosen:
        aligned, outputs = tagger.run_features(sentences, batch_size=batch_size)
        probs = [tagger.decode_outputs(al, outs) if al.units else {} for al, outs in zip(aligned, outputs)]
        gold = [s.spans for s in sentences]
        keep = set(chosen.types) if chosen.types is not None else None
        rows = []
        for t in thresholds:
            pred = [
                tagger.decode_probabilities(al, p, threshold=t) if al.units else [] for al, p in zip(aligned, probs)
            ]
            if keep is not None:
                pred = [[sp for sp in spans if sp.label in keep] for spans in pred]
            micro = score_spans(gold, annotated_only(sentences, pred)).micro
            rows.append(
                {
                    "threshold": t,
                    "precision": micro.precision,
                    "recall": micro.recall,
                    "f1": micro.f1,
                    "predicted": micro.predicted,
                    "correct": micro.correct,
                    "support": micro.support,
                }
            )
    return rows


def best_threshold(rows: Sequence[dict[str, float]]) -> float:
    """The threshold of the best F1; ties go to the one closest to 0.5 (the heads' argmax).

    >>> best_threshold([{"threshold": 0.3, "f1": 0.8}, {"threshold": 0.5, "f1": 0.8}, {"threshold": 0.7, "f1": 0.6}])
    0.5
    """
    if not rows:
        return 0.5
    return min(rows, key=lambda r: (-round(r["f1"], 12), abs(r["threshold"] - 0.5), r["threshold"]))["threshold"]
