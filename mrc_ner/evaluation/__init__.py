"""Evaluation layer: mention-level scores, aggregation over folds, significance, tables.

Every metric uses the package's span convention (character offsets, ``end``
exclusive) and, in strict mode, gives seqeval's figures.
"""

from mrc_ner.evaluation.aggregate import (
    FoldSummary,
    MeanStd,
    MetricSummary,
    aggregate,
    format_mean_std,
    mean_std,
    paired_ttest,
    pool,
)
from mrc_ner.evaluation.metrics import (
    Match,
    Scores,
    TypeScore,
    check_same_sentences,
    match_partial,
    mutual_f1,
    score_sentences,
    score_spans,
)
from mrc_ner.evaluation.report import scores_table, summary_table
from mrc_ner.evaluation.significance import PairedTest, paired_test, unit_counts, unit_keys

__all__ = [
    "FoldSummary",
    "Match",
    "MeanStd",
    "MetricSummary",
    "PairedTest",
    "Scores",
    "TypeScore",
    "aggregate",
    "check_same_sentences",
    "format_mean_std",
    "match_partial",
    "mean_std",
    "mutual_f1",
    "paired_test",
    "paired_ttest",
    "pool",
    "score_sentences",
    "score_spans",
    "scores_table",
    "summary_table",
    "unit_counts",
    "unit_keys",
]
