"""``mrc-ner compare``: every method on every fold, one table (the patents paper's Table 4).

Flow
----
1. :func:`parse_methods` — ``--methods`` text → :class:`MethodSpec` rows (:mod:`.methods`).
2. :func:`load_folds` — ``--folds`` spec + corpus → :class:`FoldData` (sentences) (:mod:`.folds`).
3. :func:`run_comparison` — first :func:`check_rows` builds each unfinished row's tagger once, so a
   value only a tagger checks (``mrc:query=nope``) fails before any cell trains; then for
   each fold × method, :func:`run_cell` (:mod:`.cells`): build the tagger
   (:func:`~mrc_ner.models.building.build_tagger`),
   fit on train selecting on dev (the cell directory is the training output, so it
   ends up holding the best model), predict test, score with
   :func:`~mrc_ner.evaluation.score_spans` (and, per type, recall on test mentions seen in
   training and on new names: :mod:`mrc_ner.evaluation.memory`), and write
   ``cells/<fold>/<method>/result.json`` and ``test_predictions.jsonl`` (spans only)
   atomically as soon as the cell is done. A cell with a ``result.json`` is skipped
   (resume); a cell interrupted during training continues from its last epoch
   checkpoint. Cells are keyed by fold and row name only: resuming assumes the same
   command — to change settings, use a new ``--out`` (each ``result.json`` records
   the settings it ran with; :mod:`.cell_settings` refuses a cell made with others).
   With ``--seeds`` each fold is trained once per seed, and every (fold, seed) run is one
   unit of the mean ± std and the t-test (:func:`seeded_fold`; the base ``--seed`` keeps the
   fold's name, so earlier cells are reused).
   :func:`evaluate_models` is the ``--models`` mode: already trained model
   directories scored on one test set, one row each.
4. :func:`build_report` (:mod:`.report`) — cells → one :class:`MethodRow` per method
   (:mod:`.results`: mean ± std over folds, :func:`~mrc_ner.evaluation.aggregate`), a paired
   t-test of each method's micro F1 against the best method's, wall times; the tables
   (:mod:`.tables`); :func:`write_report` writes ``results.json``, ``results.csv`` and
   ``results.md``; :func:`report_tables` gives the same tables for rich.

Method variants
---------------
``METHOD[:KEY=VALUE[:KEY=VALUE...]]``, comma-separated in ``--methods``; the text as
written names the row (``mrc:query=simple``). Keys, resolved in this order:

* ``align`` (the row's alignment mode: ``softmax:align=mixed``);
* short names: ``query`` (MRC query kind: examples, simple, none), ``end`` (MRC end
  head: start_aware, linear), ``template``, ``k``, ``select`` (MRC query options),
  ``layers`` (partbert-crf ``trainable_layers``), ``hidden`` (bilstm-crf ``lstm_hidden``);
* MRC query options by full name: ``query_kind``, ``query_template``, ``query_k``,
  ``query_select``;
* any option of the method's tagger class (``dropout``, ``lambda``, ``end_head``,
  ``constrained``, ``trainable_layers``, ``lstm_hidden``, …);
* any :class:`~mrc_ner.training.TrainArgs` field, overriding the shared training
  options for that row only (``crf:head_lr=0.01``, ``mrc:epochs=5``);
* for ``lm-mixed``, ``lm_<field>`` for a :class:`~mrc_ner.training.pretraining.PretrainSettings`
  field (``lm-mixed:lm_max_steps=2000``, ``lm_lr``, ``lm_epochs``).

Values are read as JSON when they parse (``4``, ``0.5``, ``true``), else as strings.
Neither keys nor values may contain ``,`` or ``:``.

``lm-mixed`` is not a tagger class but a :class:`Recipe`: a tagger method (``softmax``) after an
encoder preparation step. Per fold it continues masked-LM pretraining
(:func:`mrc_ner.training.pretraining.pretrain`) on the unlabeled text of the fold's training
documents (or on ``--lm-text`` for every fold), then trains ``softmax`` on the
pretrained encoder — the paper's "BERT LM mixed". The pretrained encoder is cached in
``OUT/lm/<fold>/<settings-hash>/encoder`` and reused by later runs and variants.

Figures in the tables are percentages (2 decimals); the JSON keeps fractions.
"""

from mrc_ner.experiments.compare.cell_settings import cell_settings, check_cell, data_hash, record_cell
from mrc_ner.experiments.compare.cells import (
    CELL_FORMAT,
    PREDICTIONS_NAME,
    RESULT_NAME,
    Settings,
    cell_dir,
    cell_tagger,
    lm_encoder,
    read_cell,
    run_cell,
)
from mrc_ner.experiments.compare.folds import FoldData, fold_of_run, load_folds, parse_seeds, seeded_fold, union_fold
from mrc_ner.experiments.compare.methods import (
    ALIASES,
    LM_MIXED,
    RECIPES,
    MethodSpec,
    Recipe,
    parse_method,
    parse_methods,
    recipe,
    slugify,
)
from mrc_ner.experiments.compare.report import build_report, report_tables, results_json, write_report
from mrc_ner.experiments.compare.results import MethodRow, Report, scores_from_dict
from mrc_ner.experiments.compare.runs import check_rows, evaluate_models, model_row_names, run_comparison
from mrc_ner.experiments.compare.tables import (
    all_tables,
    cells_table,
    csv_text,
    detail_table,
    format_p,
    main_table,
    markdown,
    memory_table,
    pairs_table,
    pooled_table,
)

__all__ = [
    "ALIASES",
    "CELL_FORMAT",
    "LM_MIXED",
    "PREDICTIONS_NAME",
    "RECIPES",
    "RESULT_NAME",
    "FoldData",
    "MethodRow",
    "MethodSpec",
    "Recipe",
    "Report",
    "Settings",
    "all_tables",
    "build_report",
    "cell_dir",
    "cell_settings",
    "cell_tagger",
    "cells_table",
    "check_cell",
    "check_rows",
    "csv_text",
    "data_hash",
    "detail_table",
    "evaluate_models",
    "fold_of_run",
    "format_p",
    "lm_encoder",
    "load_folds",
    "main_table",
    "markdown",
    "memory_table",
    "model_row_names",
    "pairs_table",
    "parse_method",
    "parse_methods",
    "parse_seeds",
    "pooled_table",
    "read_cell",
    "recipe",
    "record_cell",
    "report_tables",
    "results_json",
    "run_cell",
    "run_comparison",
    "scores_from_dict",
    "seeded_fold",
    "slugify",
    "union_fold",
    "write_report",
]
