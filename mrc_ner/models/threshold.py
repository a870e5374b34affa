"""The MRC start/end threshold: a sweep over thresholds from one prediction pass, and the dev-chosen default.

A unit is a start (an end) of a type when its start (end) probability is above the
threshold. Lower thresholds find more mentions (recall up, precision down). After
training, :meth:`mrc_ner.models.mrc.MRCTagger.calibrate` sweeps the
dev set (:func:`sweep_rows` scores its decodings) and keeps :func:`best_threshold` in the model's ``options["threshold"]``
(saved in ``config.json``); ``--threshold`` at prediction time overrides it.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from mrc_ner.corpus.model import Sentence, Span
from mrc_ner.evaluation.metrics import annotated_only, score_spans

#: the thresholds a sweep tries unless told otherwise
DEFAULT_THRESHOLDS: tuple[float, ...] = tuple(round(0.05 * k, 2) for k in range(1, 20))


def sweep_rows(
    sentences: Sequence[Sentence],
    decode_at: Callable[[float], list[list[Span]]],
    thresholds: Sequence[float] = (),
) -> list[dict[str, float]]:
    """Micro precision, recall and F1 on ``sentences`` of ``decode_at(t)`` at each threshold ``t``.

    ``decode_at`` decodes the model outputs of one prediction pass again at another
    threshold (:meth:`~mrc_ner.models.mrc.MRCTagger.threshold_sweep`). Sentences with
    ``annotated_types`` are scored on those types.
    """
    gold = [s.spans for s in sentences]
    rows = []
    for t in sorted(set(thresholds or DEFAULT_THRESHOLDS)):
        micro = score_spans(gold, annotated_only(sentences, decode_at(t))).micro
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
