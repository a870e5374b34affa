"""One cell of the grid: a method trained on one fold's train (selecting on dev) and scored on its test."""

from __future__ import annotations

import hashlib
import json
import shutil
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any, cast

import torch

from mrc_ner.corpus.model import Sentence, Span
from mrc_ner.corpus.stats import annotated_strings
from mrc_ner.errors import InputError
from mrc_ner.evaluation.memory import recall_by_memory
from mrc_ner.evaluation.metrics import annotated_only, score_spans
from mrc_ner.evaluation.significance import unit_counts, unit_keys
from mrc_ner.experiments.compare.folds import FoldData
from mrc_ner.experiments.compare.methods import MethodSpec, slugify
from mrc_ner.io import atomic_write_json, atomic_write_text
from mrc_ner.models.base import Tagger
from mrc_ner.models.building import build_tagger
from mrc_ner.training import CpuMeter, TrainArgs, checkpoint_seconds, find_checkpoint
from mrc_ner.training.provenance import code_version, machine_facts

RESULT_NAME = "result.json"
PREDICTIONS_NAME = "test_predictions.jsonl"
CELL_FORMAT = 1
Log = Callable[[str], None]


@dataclass
class Settings:
    """What every cell shares: encoder, input shape, training and MRC/LM defaults."""

    encoder: str
    train: TrainArgs = field(default_factory=TrainArgs)
    align: str = "auto"
    max_length: int = 256
    overlap: int = 64
    query_kind: str = "examples"
    query_template: str | None = None
    query_k: int = 3
    query_select: str = "frequency"
    end_head: str = "start_aware"
    lam: float = 0.5
    lm_text: str | None = None
    lm: dict[str, Any] = field(default_factory=dict)
    keep_checkpoints: bool = False
    keep_models: bool = True
    progress: bool = False


def cell_dir(out: str | Path, fold: str, spec_or_name: MethodSpec | str) -> Path:
    """``OUT/cells/<fold>/<method slug>``."""
    name = spec_or_name.slug if isinstance(spec_or_name, MethodSpec) else slugify(spec_or_name)
    return Path(out) / "cells" / slugify(fold) / name


def read_cell(directory: str | Path) -> dict[str, Any] | None:
    """A finished cell's result, or None when the cell has not finished."""
    path = Path(directory) / RESULT_NAME
    if not path.is_file():
        return None
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as e:
        raise InputError(
            f"invalid JSON: {e.msg} (delete the file to recompute the cell)", path=path, line=e.lineno
        ) from None


def cell_tagger(spec: MethodSpec, fold: FoldData, settings: Settings, *, encoder: str | None = None) -> Tagger:
    """A new tagger for one cell (``encoder`` overrides the shared one: the pretrained encoder of ``lm-mixed``)."""
    create = dict(spec.create)
    align = create.pop("align", settings.align)
    return build_tagger(
        spec.tagger_method,
        encoder or settings.encoder,
        fold.labels,
        fold.train,
        align=align,
        max_length=settings.max_length,
        overlap=settings.overlap,
        options=spec.options,
        shared_options={"end_head": settings.end_head, "lambda": settings.lam},
        query_options={
            "query_kind": settings.query_kind,
            "query_template": settings.query_template,
            "query_k": settings.query_k,
            "query_select": settings.query_select,
            **create,
        },
        seed=settings.train.seed,
    )


def lm_encoder(spec: MethodSpec, fold: FoldData, settings: Settings, out: Path, log: Log) -> tuple[Path, float]:
    """The encoder of a fold continued by masked-LM pretraining (``lm-mixed``): pretrained once, cached,
    reused. Returns (dir, seconds spent)."""
    from mrc_ner.training.pretraining import PRETRAIN_MANIFEST, PretrainSettings, pretrain

    lm_settings = PretrainSettings(**{"seed": settings.train.seed, **settings.lm, **spec.lm})
    source = (
        {"text": str(Path(settings.lm_text).resolve())}
        if settings.lm_text
        else {"fold": fold.name, "documents": "train"}
    )
    key = hashlib.sha1(
        json.dumps(
            {"encoder": settings.encoder, "settings": asdict(lm_settings), "source": source}, sort_keys=True
        ).encode()
    ).hexdigest()[:10]
    base = out / "lm" / ("shared" if settings.lm_text else slugify(fold.name)) / key
    enc_dir = base / "encoder"
    if (enc_dir / PRETRAIN_MANIFEST).is_file():
        return enc_dir, 0.0
    if settings.lm_text:
        texts = [settings.lm_text]
        what = settings.lm_text
    else:
        text_file = base / "train_text.txt"
        atomic_write_text(text_file, "".join(s.text + "\n" for s in fold.train if s.text.strip()))
        texts = [str(text_file)]
        what = f"the {len(fold.train)} training sentences of fold {fold.name}"
    log(f"  pretraining the masked LM on {what}")
    t0 = time.perf_counter()
    pretrain(
        settings.encoder,
        enc_dir,
        texts=texts,
        settings=lm_settings,
        overwrite=True,
        progress=settings.progress,
        log=lambda m: log(f"  {m}"),
    )
    atomic_write_json(base / "source.json", {"source": source, "settings": asdict(lm_settings)})
    return enc_dir, time.perf_counter() - t0


def write_predictions(path: Path, test: list[Sentence], pred: list[list[Span]]) -> None:
    """The test predictions, one JSON line per test sentence in fold order: its id and ``[start, end, label]`` spans.

    Small (no text: the corpus has it) and enough to rescore a cell any other way later.
    """
    lines = (
        json.dumps({"id": s.id, "spans": [[p.start, p.end, p.label] for p in spans]}, ensure_ascii=False)
        for s, spans in zip(test, pred)
    )
    atomic_write_text(path, "".join(line + "\n" for line in lines))


def run_cell(
    spec: MethodSpec,
    fold: FoldData,
    settings: Settings,
    directory: str | Path,
    *,
    out: str | Path | None = None,
    log: Log | None = None,
) -> dict[str, Any]:
    """Train one method on one fold, score it on the fold's test set, write ``result.json``."""
    say = log or (lambda m: None)
    directory = Path(directory)
    t0 = time.perf_counter()
    encoder, pretrain_seconds = None, 0.0
    if spec.continued_mlm:
        enc_dir, pretrain_seconds = lm_encoder(
            spec, fold, settings, Path(out) if out is not None else directory.parent.parent.parent, say
        )
        encoder = str(enc_dir)
    tagger = cell_tagger(spec, fold, settings, encoder=encoder)
    resume = find_checkpoint(directory) is not None
    earlier = checkpoint_seconds(directory) if resume else 0.0  # the interrupted runs' epochs count too
    args = replace(settings.train, **{**tagger.train_recipe, **spec.train}, out_dir=str(directory), resume=resume)
    if resume:
        say(f"  continuing from the cell's checkpoint ({earlier:.0f} s of training so far)")
    t1 = time.perf_counter()
    state = tagger.fit(fold.train, fold.dev or None, args, progress=settings.progress, log=lambda m: say(f"  {m}"))
    train_seconds = time.perf_counter() - t1
    t2, meter = time.perf_counter(), CpuMeter()
    pred = annotated_only(
        fold.test, cast("list[list[Span]]", tagger.predict(fold.test, batch_size=args.eval_batch_size))
    )
    scores = score_spans([s.spans for s in fold.test], pred)
    memory = recall_by_memory(fold.test, pred, annotated_strings(fold.train))
    kind, keys = unit_keys(fold.test)
    units = {"kind": kind, "counts": unit_counts([s.spans for s in fold.test], pred, keys)}
    write_predictions(directory / PREDICTIONS_NAME, fold.test, pred)
    test_seconds, test_others = time.perf_counter() - t2, meter.other_cores()
    per_corpus, k = {}, 0
    for name, sentences in fold.corpora:
        per_corpus[name] = score_spans([s.spans for s in sentences], pred[k : k + len(sentences)]).to_dict()
        k += len(sentences)
    result = {
        "format": CELL_FORMAT,
        "fold": fold.name,
        "method": spec.name,
        "base_method": spec.method,
        "scores": scores.to_dict(),
        **({"corpora": per_corpus} if per_corpus else {}),
        "memory": memory,
        "test_units": units,
        "wall_seconds": round(time.perf_counter() - t0 + earlier, 3),
        "train_seconds": round(train_seconds + earlier, 3),
        "test_seconds": round(test_seconds, 3),
        "pretrain_seconds": round(pretrain_seconds, 3),
        "best_epoch": state.best_epoch,
        "best_dev_micro_f1": state.best_f1 if fold.dev else None,
        "steps": state.step,
        "other_cores": {
            "epochs": [h.get("other_cores") for h in state.history],
            "test": None if test_others is None else round(test_others, 2),
        },
        **({"resumed": {"earlier_seconds": round(earlier, 3)}} if resume else {}),
        # timings compare only on one CPU (a resumed cell's earlier epochs may have run on another)
        "machine": machine_facts(torch.get_num_threads()),
        "epochs_ran_on": [h.get("ran_on") for h in state.history],
        "code": code_version(),
        "sentences": {"train": len(fold.train), "dev": len(fold.dev), "test": len(fold.test)},
        "args": {
            "encoder": encoder or settings.encoder,
            "train": asdict(args),
            "options": {k: v for k, v in tagger.options.items()},
            "align": tagger.align_mode,
            "max_length": tagger.max_length,
            "overlap": tagger.overlap,
            "variant": {"options": spec.options, "create": spec.create, "train": spec.train, "lm": spec.lm},
        },
    }
    atomic_write_json(directory / RESULT_NAME, result)
    if not settings.keep_checkpoints:
        shutil.rmtree(directory / "checkpoint", ignore_errors=True)
    if not settings.keep_models:
        (directory / "model.safetensors").unlink(missing_ok=True)
    return result
