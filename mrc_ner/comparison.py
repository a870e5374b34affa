"""``mrc-ner compare``: every method on every fold, one table (the patents paper's Table 4).

Flow
----
1. :func:`parse_methods` — ``--methods`` text → :class:`MethodSpec` rows.
2. :func:`load_folds` — ``--folds`` spec + corpus → :class:`FoldData` (sentences).
3. :func:`run_comparison` — for each fold × method, :func:`run_cell`: build the tagger,
   fit on train selecting on dev (the cell directory is the training output, so it
   ends up holding the best model), predict test, score with
   :func:`~mrc_ner.evaluation.score_spans`, and write ``cells/<fold>/<method>/result.json``
   atomically as soon as the cell is done. A cell with a ``result.json`` is skipped
   (resume); a cell interrupted during training continues from its last epoch
   checkpoint. Cells are keyed by fold and row name only: resuming assumes the same
   command — to change settings, use a new ``--out`` (each ``result.json`` records
   the settings it ran with).
   :func:`evaluate_models` is the ``--models`` mode: already trained model
   directories scored on one test set, one row each.
4. :func:`build_report` — cells → mean ± std over folds per method
   (:func:`~mrc_ner.evaluation.aggregate`), a paired t-test of each method's micro F1
   against the best method's, wall times; :func:`write_report` writes
   ``results.json``, ``results.csv`` and ``results.md``; :func:`report_tables` gives
   the same tables for rich.

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
* for ``lm-mixed``, ``lm_<field>`` for a :class:`~mrc_ner.pretraining.PretrainSettings`
  field (``lm-mixed:lm_max_steps=2000``, ``lm_lr``, ``lm_epochs``).

Values are read as JSON when they parse (``4``, ``0.5``, ``true``), else as strings.
Neither keys nor values may contain ``,`` or ``:``.

``lm-mixed`` is not a tagger class: per fold it continues masked-LM pretraining
(:func:`mrc_ner.pretraining.pretrain`) on the unlabeled text of the fold's training
documents (or on ``--lm-text`` for every fold), then trains ``softmax`` on the
pretrained encoder — the paper's "BERT LM mixed". The pretrained encoder is cached in
``OUT/lm/<fold>/<settings-hash>/encoder`` and reused by later runs and variants.

Figures in the tables are percentages (2 decimals); the JSON keeps fractions.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import math
import re
import shutil
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field, fields, replace
from pathlib import Path
from typing import Any

from mrc_ner.cell_settings import cell_settings, check_cell, data_hash, model_files_stamp, record_cell
from mrc_ner.corpus.model import Corpus, Sentence
from mrc_ner.errors import InputError
from mrc_ner.evaluation.aggregate import FoldSummary, aggregate, format_mean_std, mean_std, paired_ttest
from mrc_ner.evaluation.metrics import Scores, TypeScore, annotated_only, score_spans
from mrc_ner.io import atomic_write_json, atomic_write_text
from mrc_ner.queries import is_query_method
from mrc_ner.training import TrainArgs, find_checkpoint

LM_MIXED = "lm-mixed"
LM_BASE_METHOD = "softmax"
RESULT_NAME = "result.json"
CELL_FORMAT = 1
ALIASES = {
    "query": "query_kind",
    "end": "end_head",
    "template": "query_template",
    "k": "query_k",
    "select": "query_select",
    "layers": "trainable_layers",
    "hidden": "lstm_hidden",
}
MRC_CREATE_KEYS = ("query_kind", "query_template", "query_k", "query_select")
DASH = "—"
Log = Callable[[str], None]


# --------------------------------------------------------------------------- methods


@dataclass(frozen=True)
class MethodSpec:
    """One row of the comparison: a method and its variant settings.

    ``options`` go to the tagger class, ``create`` to :meth:`MRCTagger.create` (query
    building), ``train`` override :class:`TrainArgs` fields, ``lm`` override
    :class:`~mrc_ner.pretraining.PretrainSettings` fields (``lm-mixed`` only).
    """

    name: str
    method: str
    options: dict[str, Any] = field(default_factory=dict)
    create: dict[str, Any] = field(default_factory=dict)
    train: dict[str, Any] = field(default_factory=dict)
    lm: dict[str, Any] = field(default_factory=dict)

    @property
    def tagger_method(self) -> str:
        """The registered tagger trained for this row (``softmax`` for ``lm-mixed``)."""
        return LM_BASE_METHOD if self.method == LM_MIXED else self.method

    @property
    def slug(self) -> str:
        """The row's directory name: ``mrc:query=simple`` → ``mrc_query=simple``."""
        return slugify(self.name)


def slugify(name: str) -> str:
    """A file-system-safe name: anything but ``[A-Za-z0-9._=+-]`` becomes ``_``.

    >>> slugify("mrc:end=linear")
    'mrc_end=linear'
    """
    return re.sub(r"[^A-Za-z0-9._=+-]+", "_", name).strip("_") or "_"


def _value(text: str) -> Any:
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        return text


def parse_method(text: str) -> MethodSpec:
    """``"mrc:query=simple:end=linear"`` → a :class:`MethodSpec` (see the module docstring).

    >>> s = parse_method("partbert-crf:layers=2:head_lr=0.01")
    >>> s.method, s.options, s.train
    ('partbert-crf', {'trainable_layers': 2}, {'head_lr': 0.01})
    """
    from mrc_ner.models import method_names, tagger_class

    name = text.strip()
    method, *parts = [p.strip() for p in name.split(":")]
    known = [*method_names(), LM_MIXED]
    if method not in known:
        raise InputError(f"unknown method {method!r} in --methods; choose one of {', '.join(sorted(known))}")
    cls = tagger_class(LM_BASE_METHOD if method == LM_MIXED else method)
    train_fields = {f.name for f in fields(TrainArgs)} - {"out_dir", "resume"}
    lm_fields = _pretrain_fields() if method == LM_MIXED else set()
    spec = MethodSpec(name=name, method=method)
    for part in parts:
        key, sep, raw = part.partition("=")
        key = ALIASES.get(key.strip(), key.strip())
        if not sep or not key:
            raise InputError(f"bad method variant {part!r} in {name!r}: expected KEY=VALUE")
        value = _value(raw.strip())
        if (is_query_method(method) and key in MRC_CREATE_KEYS) or key == "align":
            spec.create[key] = value
        elif key in cls.default_options and key != "queries":
            spec.options[key] = value
        elif key in train_fields:
            spec.train[key] = value
        elif key.startswith("lm_") and key[3:] in lm_fields:
            spec.lm[key[3:]] = value
        else:
            targets = {
                *(MRC_CREATE_KEYS if is_query_method(method) else ()),
                *(k for k in cls.default_options if k != "queries"),
                *train_fields,
            }
            valid = sorted(
                {*targets, *(a for a, t in ALIASES.items() if t in targets), *(f"lm_{f}" for f in lm_fields)}
            )
            raise InputError(f"method {method!r} has no setting {key!r} (in {name!r}); known: {', '.join(valid)}")
    return spec


def parse_methods(text: str) -> list[MethodSpec]:
    """Comma-separated method specs; row names must be distinct.

    >>> [s.name for s in parse_methods("softmax, crf")]
    ['softmax', 'crf']
    """
    items = [t.strip() for t in text.split(",") if t.strip()]
    if not items:
        raise InputError("--methods is empty: name at least one method")
    specs = [parse_method(t) for t in items]
    seen: set[str] = set()
    for s in specs:
        if s.slug in seen:
            raise InputError(f"method {s.name!r} is listed twice in --methods")
        seen.add(s.slug)
    return specs


def _pretrain_fields() -> set[str]:
    from mrc_ner.training.pretraining import PretrainSettings

    return {f.name for f in fields(PretrainSettings)}


# --------------------------------------------------------------------------- folds


@dataclass
class FoldData:
    """One fold's sentences, and the entity types every method of the comparison uses."""

    name: str
    train: list[Sentence]
    dev: list[Sentence]
    test: list[Sentence]
    labels: list[str]
    #: for a union of corpora: each corpus's name and test sentences (scored on its own types)
    corpora: list[tuple[str, list[Sentence]]] = field(default_factory=list)


def _labels(sentences: Sequence[Sentence]) -> list[str]:
    return sorted({sp.label for s in sentences for sp in s.spans})


def _explicit_split(spec: str) -> tuple[list[Sentence], list[Sentence], list[Sentence]]:
    from mrc_ner.corpus.conll import read_corpus

    parts = [p.strip() for p in spec.split(",")]
    if len(parts) != 3 or not parts[0] or not parts[2]:
        raise InputError(f"bad --folds {spec!r}: explicit splits are three paths TRAIN,DEV,TEST (DEV may be empty)")
    train, dev, test = (read_corpus(p).sentences if p else [] for p in parts)
    return train, dev, test


def union_fold(spec: str) -> FoldData:
    """``A_TRAIN,A_DEV,A_TEST+B_TRAIN,B_DEV,B_TEST…``: one fold, ``union``, over partly annotated corpora.

    Each corpus's sentences record its types (``annotated_types``): MRC rows ask
    them only those queries, softmax/crf rows learn the naive union (missing types =
    ``O``), and every row is scored on each corpus's test set on its own types.
    """
    from mrc_ner.corpus.joint import corpus_name, corpus_types, mark_annotated

    train: list[Sentence] = []
    dev: list[Sentence] = []
    corpora: list[tuple[str, list[Sentence]]] = []
    for part in spec.split("+"):
        tr, dv, te = _explicit_split(part)
        mark_annotated([*tr, *dv, *te], corpus_types(tr, dv, te))
        name = corpus_name(part.split(",")[0].strip())
        names = [n for n, _ in corpora]
        corpora.append((name if name not in names else f"{name}#{len(names) + 1}", te))
        train += tr
        dev += dv
    test = [s for _, te in corpora for s in te]
    return FoldData("union", train, dev, test, _labels([*train, *dev, *test]), corpora)


def load_folds(
    spec: str, corpus: str | Path | None = None, *, seed: int = 0, dev_docs: int | float = 1, only: Sequence[str] = ()
) -> list[FoldData]:
    """The folds of a ``--folds`` spec.

    * ``published`` / ``published=DIR`` / ``k=N`` — :func:`~mrc_ner.corpus.folds.parse_folds_spec`
      over the documents of ``corpus`` (the published folds live in ``<corpus>/../folds``);
    * ``TRAIN,DEV,TEST`` — three paths (files or directories; DEV may be empty:
      ``TRAIN,,TEST``), one fold named ``split``; ``corpus`` is not needed.

    Every fold gets the label set of the whole corpus (of the three sets for paths), so
    all rows and folds share the same types. ``only`` keeps the named folds.
    """
    from mrc_ner.corpus.conll import read_corpus
    from mrc_ner.corpus.folds import parse_folds_spec

    if "+" in spec:
        folds = [union_fold(spec)]
    elif "," in spec:
        train, dev, test = _explicit_split(spec)
        folds = [FoldData("split", train, dev, test, _labels([*train, *dev, *test]))]
    else:
        if corpus is None:
            raise InputError(f"--folds {spec} needs --corpus (the documents directory)")
        full: Corpus = read_corpus(corpus)
        labels = full.labels
        folds = []
        for f in parse_folds_spec(
            spec, doc_ids=[d.id for d in full.documents], corpus_dir=corpus, seed=seed, dev_docs=dev_docs
        ):
            folds.append(
                FoldData(
                    f.name,
                    full.subset(f.train).sentences,
                    full.subset(f.dev).sentences if f.dev else [],
                    full.subset(f.test).sentences,
                    labels,
                )
            )
    if only:
        names = [f.name for f in folds]
        unknown = [n for n in only if n not in names]
        if unknown:
            raise InputError(f"no fold named {', '.join(unknown)}; the folds are {', '.join(names)}")
        folds = [f for f in folds if f.name in only]
    for f in folds:
        if not f.train or not f.test:
            raise InputError(f"fold {f.name} has no {'training' if not f.train else 'test'} sentences")
    if not folds[0].labels:
        raise InputError("no entity types: the corpus has no labelled mentions")
    return folds


# --------------------------------------------------------------------------- cells


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


def build_tagger(spec: MethodSpec, fold: FoldData, settings: Settings, *, encoder: str | None = None):
    """A new tagger for one cell (``encoder`` overrides the shared one, for ``lm-mixed``)."""
    from mrc_ner.models import tagger_class
    from mrc_ner.models.base import resolve_align

    cls = tagger_class(spec.tagger_method)
    create = dict(spec.create)
    align = create.pop("align", settings.align)
    kw: dict[str, Any] = {
        "align_mode": resolve_align(align, fold.train),
        "max_length": settings.max_length,
        "overlap": settings.overlap,
    }
    options = dict(spec.options)
    if is_query_method(spec.method):
        options = {"end_head": settings.end_head, "lambda": settings.lam, **options}
        create = {
            "query_kind": settings.query_kind,
            "query_template": settings.query_template,
            "query_k": settings.query_k,
            "query_select": settings.query_select,
            **create,
        }
        kw.update(train_sentences=fold.train, seed=settings.train.seed, **create)
    return cls.create(encoder or settings.encoder, fold.labels, options=options, **kw)


def lm_encoder(spec: MethodSpec, fold: FoldData, settings: Settings, out: Path, log: Log) -> tuple[Path, float]:
    """The ``lm-mixed`` encoder of a fold: pretrained once, cached, reused. Returns (dir, seconds spent)."""
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
    if spec.method == LM_MIXED:
        enc_dir, pretrain_seconds = lm_encoder(
            spec, fold, settings, Path(out) if out is not None else directory.parent.parent.parent, say
        )
        encoder = str(enc_dir)
    tagger = build_tagger(spec, fold, settings, encoder=encoder)
    resume = find_checkpoint(directory) is not None
    args = replace(settings.train, **{**tagger.train_recipe, **spec.train}, out_dir=str(directory), resume=resume)
    if resume:
        say("  continuing from the cell's checkpoint")
    t1 = time.perf_counter()
    state = tagger.fit(fold.train, fold.dev or None, args, progress=settings.progress, log=lambda m: say(f"  {m}"))
    train_seconds = time.perf_counter() - t1
    t2 = time.perf_counter()
    pred = annotated_only(fold.test, tagger.predict(fold.test, batch_size=args.eval_batch_size))
    scores = score_spans([s.spans for s in fold.test], pred)
    test_seconds = time.perf_counter() - t2
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
        "wall_seconds": round(time.perf_counter() - t0, 3),
        "train_seconds": round(train_seconds, 3),
        "test_seconds": round(test_seconds, 3),
        "pretrain_seconds": round(pretrain_seconds, 3),
        "best_epoch": state.best_epoch,
        "best_dev_micro_f1": state.best_f1 if fold.dev else None,
        "steps": state.step,
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


def run_comparison(
    folds: Sequence[FoldData],
    methods: Sequence[MethodSpec],
    settings: Settings,
    out: str | Path,
    *,
    log: Log | None = None,
    runner: Callable[..., dict[str, Any]] | None = None,
) -> Report:
    """Every fold × method (skipping finished cells), then the report, written to ``out``.

    The report files are rewritten after every cell, so they always show what is done.
    ``runner`` replaces :func:`run_cell` (tests).
    """
    say = log or (lambda m: None)
    run = runner or run_cell
    out = Path(out)
    cells: list[dict[str, Any]] = []
    total = len(folds) * len(methods)
    done = 0
    for fold in folds:
        for spec in methods:
            done += 1
            directory = cell_dir(out, fold.name, spec)
            cell = read_cell(directory)
            values = cell_settings(spec, fold, settings)
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
                cell = run(spec, fold, settings, directory, out=out, log=say)
                say(
                    f"[{done}/{total}] fold {fold.name} · {spec.name}: micro F1 {100 * cell['scores']['micro']['f1']:.2f} in {cell['wall_seconds']:.0f} s"
                )
            cells.append(cell)
            write_report(build_report(cells, [m.name for m in methods]), out)
    report = build_report(cells, [m.name for m in methods])
    write_report(report, out)
    return report


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
    from mrc_ner.corpus.conll import read_corpus
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
            pred = tagger.predict(sentences, batch_size=batch_size)
            scores = score_spans([s.spans for s in sentences], pred)
            cell = {
                "format": CELL_FORMAT,
                "fold": fold,
                "method": name,
                "base_method": tagger.method,
                "scores": scores.to_dict(),
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


# --------------------------------------------------------------------------- report


def scores_from_dict(d: dict[str, Any]) -> Scores:
    """The inverse of :meth:`Scores.to_dict`.

    >>> s = score_spans([[]], [[]]); scores_from_dict(s.to_dict()) == s
    True
    """
    ts = lambda x: TypeScore(**{k: x[k] for k in ("precision", "recall", "f1", "support", "predicted", "correct")})  # noqa: E731
    return Scores({t: ts(v) for t, v in d["per_type"].items()}, ts(d["micro"]), ts(d["macro"]), ts(d["weighted"]))


@dataclass
class MethodRow:
    """One method over its folds."""

    name: str
    folds: list[str]
    summary: FoldSummary
    micro_f1: list[float]
    wall_seconds: list[float]
    t: float | None = None
    p_value: float | None = None
    best: bool = False

    def to_dict(self) -> dict[str, Any]:
        wall = mean_std(self.wall_seconds)
        return {
            "method": self.name,
            "folds": self.folds,
            "summary": self.summary.to_dict(),
            "micro_f1_per_fold": self.micro_f1,
            "wall_seconds_per_fold": self.wall_seconds,
            "wall_seconds": {"mean": wall.mean, "std": wall.std, "n": wall.n},
            "ttest_vs_best": None if self.p_value is None else {"t": _finite(self.t), "p": self.p_value},
            "best": self.best,
        }


def _finite(x: float | None) -> float | str | None:
    """JSON has no infinity: ``inf`` → ``"inf"``."""
    if x is None or math.isfinite(x):
        return x
    return "inf" if x > 0 else "-inf"


@dataclass
class Report:
    """The comparison: rows in ``--methods`` order, the types, the best row, the cells."""

    rows: list[MethodRow]
    types: list[str]
    best: str | None
    cells: list[dict[str, Any]]

    def to_dict(self) -> dict[str, Any]:
        """``results.json``."""
        return {
            "best": self.best,
            "types": self.types,
            "methods": [r.to_dict() for r in self.rows],
            "tables": {name: {"headers": h, "rows": rows} for name, (_, h, rows) in all_tables(self).items()},
            "cells": self.cells,
        }


def build_report(cells: Sequence[dict[str, Any]], order: Sequence[str] | None = None) -> Report:
    """Aggregate finished cells by method (mean ± std over folds) and test against the best.

    The best method has the highest mean micro F1. Every other method is compared to it
    with a paired t-test on micro F1 over the folds both have; with fewer than two such
    folds (and for the best itself) there is no p-value.
    """
    by_method: dict[str, list[dict[str, Any]]] = {}
    for c in cells:
        by_method.setdefault(c["method"], []).append(c)
    names = [n for n in (order or []) if n in by_method] + [n for n in by_method if n not in (order or [])]
    rows = []
    for name in names:
        mine = by_method[name]
        scores = [scores_from_dict(c["scores"]) for c in mine]
        rows.append(
            MethodRow(
                name,
                [c["fold"] for c in mine],
                aggregate(scores),
                [s.micro.f1 for s in scores],
                [float(c.get("wall_seconds", 0.0)) for c in mine],
            )
        )
    best = max(rows, key=lambda r: r.summary.micro.f1.mean) if rows else None
    if best is not None:
        best.best = True
        best_f1 = dict(zip(best.folds, best.micro_f1))
        for r in rows:
            if r is best:
                continue
            common = [(f, x) for f, x in zip(r.folds, r.micro_f1) if f in best_f1]
            if len(common) >= 2:
                r.t, r.p_value = paired_ttest([x for _, x in common], [best_f1[f] for f, _ in common])
    types = sorted({t for r in rows for t in r.summary.per_type})
    return Report(rows, types, best.name if best else None, list(cells))


def _pct(m) -> str:
    return format_mean_std(100 * m.mean, 100 * m.std, digits=2, n=m.n)


def format_p(p: float | None) -> str:
    """``"0.034"``, ``"<0.001"``, or ``"—"`` for no test.

    >>> format_p(0.0341), format_p(1e-5), format_p(None)
    ('0.034', '<0.001', '—')
    """
    if p is None:
        return DASH
    return "<0.001" if p < 0.001 else f"{p:.3f}"


Table = tuple[str, list[str], list[list[str]]]


def main_table(report: Report) -> Table:
    """Table 4 shape: per-type F1, micro and macro F1 (mean ± std, %), p vs best, folds, time per cell."""
    headers = [
        "method",
        *[f"{t} F1" for t in report.types],
        "micro F1",
        "macro F1",
        "p (vs best)",
        "folds",
        "time/cell (s)",
    ]
    rows = []
    for r in report.rows:
        per_type = [_pct(r.summary.per_type[t].f1) if t in r.summary.per_type else DASH for t in report.types]
        wall = mean_std(r.wall_seconds)
        p = "best" if r.best else format_p(r.p_value)
        rows.append(
            [
                r.name,
                *per_type,
                _pct(r.summary.micro.f1),
                _pct(r.summary.macro.f1),
                p,
                str(r.summary.n_folds),
                format_mean_std(wall.mean, wall.std, digits=0, n=wall.n),
            ]
        )
    return "F1 (%) over folds, mean ± std", headers, rows


def detail_table(report: Report) -> Table:
    """Precision, recall and F1 (%), micro and macro averages, mean ± std over folds."""
    headers = ["method", "micro P", "micro R", "micro F1", "macro P", "macro R", "macro F1"]
    rows = []
    for r in report.rows:
        s = r.summary
        rows.append(
            [
                r.name,
                *[_pct(getattr(s.micro, k)) for k in ("precision", "recall", "f1")],
                *[_pct(getattr(s.macro, k)) for k in ("precision", "recall", "f1")],
            ]
        )
    return "precision / recall / F1 (%), mean ± std over folds", headers, rows


def cells_table(report: Report) -> Table:
    """Micro F1 (%) and wall time of every cell: one row per method, one column per fold."""
    folds: list[str] = []
    for r in report.rows:
        folds.extend(f for f in r.folds if f not in folds)
    headers = ["method", *folds]
    rows = []
    for r in report.rows:
        got = {f: (x, w) for f, x, w in zip(r.folds, r.micro_f1, r.wall_seconds)}
        rows.append([r.name, *[f"{100 * got[f][0]:.2f} ({got[f][1]:.0f} s)" if f in got else DASH for f in folds]])
    return "micro F1 (%) and wall time per cell", headers, rows


def all_tables(report: Report) -> dict[str, Table]:
    """The three tables by name: ``main``, ``detail``, ``cells``."""
    return {"main": main_table(report), "detail": detail_table(report), "cells": cells_table(report)}


def report_tables(report: Report):
    """The tables as rich :class:`~rich.table.Table` objects."""
    from rich.table import Table as RichTable

    out = []
    for title, headers, rows in all_tables(report).values():
        t = RichTable(title=title)
        for i, h in enumerate(headers):
            t.add_column(h, justify="left" if i == 0 else "right")
        for row in rows:
            t.add_row(*row)
        out.append(t)
    return out


def markdown(report: Report) -> str:
    """``results.md``: the three tables as GitHub markdown, with a line on the test."""
    parts = ["# mrc-ner compare", ""]
    if report.best:
        parts += [
            f"Best method by mean micro F1: **{report.best}**. p: two-sided paired t-test of each method's micro F1 against the best one's over the folds both have ({DASH}: fewer than 2 such folds).",
            "",
        ]
    for title, headers, rows in all_tables(report).values():
        parts += [
            f"## {title}",
            "",
            "| " + " | ".join(headers) + " |",
            "|" + "|".join(["---"] + ["---:"] * (len(headers) - 1)) + "|",
        ]
        parts += ["| " + " | ".join(c.replace("|", "\\|") for c in row) + " |" for row in rows]
        parts.append("")
    return "\n".join(parts)


def csv_text(report: Report) -> str:
    """``results.csv``: one row per method, plain numbers (fractions): per-type and average P/R/F1 mean and std, p, folds, time."""
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    scopes = [*report.types, "micro", "macro", "weighted"]
    header = ["method", "folds", "best", "t", "p"]
    for scope in scopes:
        for metric in ("precision", "recall", "f1"):
            header += [f"{scope}_{metric}_mean", f"{scope}_{metric}_std"]
    header += ["wall_seconds_mean", "wall_seconds_std"]
    w.writerow(header)
    for r in report.rows:
        row: list[Any] = [
            r.name,
            r.summary.n_folds,
            int(r.best),
            "" if r.t is None else r.t,
            "" if r.p_value is None else r.p_value,
        ]
        for scope in scopes:
            m = r.summary.per_type.get(scope) if scope in report.types else getattr(r.summary, scope)
            for metric in ("precision", "recall", "f1"):
                row += ["", ""] if m is None else [getattr(m, metric).mean, getattr(m, metric).std]
        wall = mean_std(r.wall_seconds)
        row += [wall.mean, wall.std]
        w.writerow(row)
    return buf.getvalue()


def write_report(report: Report, out: str | Path) -> None:
    """``results.json``, ``results.csv`` and ``results.md`` in ``out`` (each written atomically)."""
    out = Path(out)
    atomic_write_json(out / "results.json", report.to_dict())
    atomic_write_text(out / "results.csv", csv_text(report))
    atomic_write_text(out / "results.md", markdown(report))
