"""The grid: every fold × method with resumable cells (:func:`run_comparison`), or trained models scored on one test set (:func:`evaluate_models`)."""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any, cast

from mrc_ner.corpus.model import Span
from mrc_ner.errors import InputError
from mrc_ner.evaluation.metrics import score_spans
from mrc_ner.evaluation.significance import unit_counts, unit_keys
from mrc_ner.experiments.compare.cell_settings import (
    cell_settings,
    check_cell,
    data_hash,
    model_files_stamp,
    record_cell,
)
from mrc_ner.experiments.compare.cells import (
    CELL_FORMAT,
    RESULT_NAME,
    Log,
    Settings,
    cell_dir,
    cell_tagger,
    read_cell,
    run_cell,
)
from mrc_ner.experiments.compare.folds import FoldData, seeded_fold
from mrc_ner.experiments.compare.methods import MethodSpec
from mrc_ner.experiments.compare.report import Report, build_report, write_report
from mrc_ner.io import atomic_write_json


def run_comparison(
    folds: Sequence[FoldData],
    methods: Sequence[MethodSpec],
    settings: Settings,
    out: str | Path,
    *,
    log: Log | None = None,
    runner: Callable[..., dict[str, Any]] | None = None,
    seeds: Sequence[int] = (),
) -> Report:
    """Every fold × method (skipping finished cells), then the report, written to ``out``.

    With ``seeds``, every fold is trained once per seed (:func:`seeded_fold` names the runs),
    and each (fold, seed) run is one unit of the mean ± std and of the paired t-test: one
    TRAIN,DEV,TEST split then gets a spread too. The report files are rewritten after every
    cell, so they always show what is done. ``runner`` replaces :func:`run_cell` (tests; it
    also skips :func:`check_rows`).
    """
    say = log or (lambda m: None)
    run = runner or run_cell
    out = Path(out)
    cells: list[dict[str, Any]] = []
    base_seed = settings.train.seed
    runs = [
        (seeded_fold(f, s, base_seed=base_seed), replace(settings, train=replace(settings.train, seed=s)))
        for f in folds
        for s in (seeds or [base_seed])
    ]
    total = len(runs) * len(methods)
    if runner is None:
        check_rows(methods, [fold for fold, _ in runs], settings, out)
    done = 0
    for fold, run_settings in runs:
        for spec in methods:
            done += 1
            directory = cell_dir(out, fold.name, spec)
            cell = read_cell(directory)
            values = cell_settings(spec, fold, run_settings)
            note = check_cell(directory, values, finished=cell is not None)
            if cell is not None:
                say(
                    f"[{done}/{total}] fold {fold.name} · {spec.name}: done before (micro F1 {100 * cell['scores']['micro']['f1']:.2f})"
                    + (f"; {note}" if note else "")
                )
            else:
                say(
                    f"[{done}/{total}] fold {fold.name} · {spec.name}: training on {len(fold.train)} sentences, selecting on {len(fold.dev)}, testing on {len(fold.test)}"
                )
                record_cell(directory, values)
                cell = run(spec, fold, run_settings, directory, out=out, log=say)
                say(
                    f"[{done}/{total}] fold {fold.name} · {spec.name}: micro F1 {100 * cell['scores']['micro']['f1']:.2f} in {cell['wall_seconds']:.0f} s"
                )
            cells.append(cell)
            write_report(build_report(cells, [m.name for m in methods]), out)
    report = build_report(cells, [m.name for m in methods])
    write_report(report, out)
    return report


def check_rows(methods: Sequence[MethodSpec], folds: Sequence[FoldData], settings: Settings, out: Path) -> None:
    """Build the tagger of every row that still has a cell to train, on its first such fold, and
    drop it: a value only a tagger checks (``mrc:query=nope``, an unknown ``end``, a missing
    template) fails before the first cell trains, not hours later when its row's turn comes."""
    for spec in methods:
        fold = next((f for f in folds if read_cell(cell_dir(out, f.name, spec)) is None), None)
        if fold is None:
            continue
        try:
            cell_tagger(spec, fold, settings)  # lm-mixed: its base encoder stands in for the adapted one
        except InputError as e:
            raise InputError(f"{e.location_message()} (in method {spec.name!r}); stopped before training") from None


def model_row_names(model_dirs: Sequence[str | Path]) -> list[str]:
    """Row names for model directories: the directory name, with parents added until unique."""
    paths = [Path(p).resolve() for p in model_dirs]
    depth = 1
    while True:
        names = ["/".join(p.parts[-depth:]) for p in paths]
        if len(set(names)) == len(names) or depth >= max(len(p.parts) for p in paths):
            return names
        depth += 1


def evaluate_models(
    model_dirs: Sequence[str | Path], test: str | Path, out: str | Path, *, batch_size: int = 32, log: Log | None = None
) -> Report:
    """``--models`` mode: score trained model directories on one test set, without training."""
    from mrc_ner.corpus.readers import read_corpus
    from mrc_ner.models import load_tagger

    say = log or (lambda m: None)
    if not model_dirs:
        raise InputError("--models needs at least one model directory")
    sentences = read_corpus(test).sentences
    if not sentences:
        raise InputError("the test set has no sentences", path=test)
    out = Path(out)
    names = model_row_names(model_dirs)
    fold = "test"
    cells = []
    for name, mdir in zip(names, model_dirs):
        directory = cell_dir(out, fold, name)
        cell = read_cell(directory)
        values = {
            "model": str(Path(mdir).resolve()),
            "model_files": model_files_stamp(Path(mdir)),
            "test": data_hash(sentences),
        }
        note = check_cell(directory, values, finished=cell is not None)
        if note:
            say(f"{name}: {note}")
        if cell is None:
            record_cell(directory, values)
            t0 = time.perf_counter()
            tagger = load_tagger(mdir)
            pred = cast(
                "list[list[Span]]", tagger.predict(sentences, batch_size=batch_size)
            )  # sentences in, span lists out
            scores = score_spans([s.spans for s in sentences], pred)
            kind, keys = unit_keys(sentences)
            cell = {
                "format": CELL_FORMAT,
                "fold": fold,
                "method": name,
                "base_method": tagger.method,
                "scores": scores.to_dict(),
                "test_units": {"kind": kind, "counts": unit_counts([s.spans for s in sentences], pred, keys)},
                "wall_seconds": round(time.perf_counter() - t0, 3),
                "train_seconds": 0.0,
                "test_seconds": round(time.perf_counter() - t0, 3),
                "sentences": {"test": len(sentences)},
                "args": {
                    "model": str(Path(mdir).resolve()),
                    "test": str(test),
                    "encoder": tagger.encoder_name,
                    "options": {k: v for k, v in tagger.options.items() if k != "queries"},
                },
            }
            atomic_write_json(directory / RESULT_NAME, cell)
        say(f"{name}: micro F1 {100 * cell['scores']['micro']['f1']:.2f}")
        cells.append(cell)
    report = build_report(cells, names)
    write_report(report, out)
    return report
