"""``mrc-ner train``: fit one method on a training set, select on dev, score on test."""

from __future__ import annotations

import json
import time
from dataclasses import replace
from pathlib import Path
from typing import Annotated, Any, Optional

import typer

from mrc_ner.commands._common import (
    DISCONTINUOUS_HELP,
    INPUT_FORMAT_HELP,
    console,
    err_console,
    handles_input_errors,
    print_json,
    print_skipped,
)
from mrc_ner.errors import InputError
from mrc_ner.queries import is_query_method

DEFAULT_ENCODER = "multilingual-e5-small"


def parse_options(items: list[str]) -> dict[str, Any]:
    """``["trainable_layers=4", "dropout=0.2"]`` → ``{"trainable_layers": 4, "dropout": 0.2}`` (JSON values where they parse)."""
    out: dict[str, Any] = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise InputError(f"--option expects KEY=VALUE, got {item!r}")
        try:
            out[key] = json.loads(value)
        except json.JSONDecodeError:
            out[key] = value
    return out


def build_tagger(
    method: str,
    encoder: str,
    splits_train,
    *,
    align: str,
    max_length: int,
    overlap: int,
    options: dict[str, Any],
    query_kind: str,
    query_template: Optional[str],
    query_k: int,
    query_select: str,
    seed: int,
    init_from: Optional[Path] = None,
):
    """A new tagger for ``method`` (or one initialised from a trained model directory)."""
    from mrc_ner.encoding.alignment import resolve_align
    from mrc_ner.models import load_tagger, tagger_class

    labels = sorted({sp.label for s in splits_train for sp in s.spans})
    align = resolve_align(align, splits_train)
    cls = tagger_class(method)
    kw: dict[str, Any] = {"align_mode": align, "max_length": max_length, "overlap": overlap, "options": options}
    if is_query_method(method):
        kw.update(
            train_sentences=splits_train,
            query_kind=query_kind,
            query_template=query_template,
            query_k=query_k,
            query_select=query_select,
            seed=seed,
        )
    if init_from is None:
        return cls.create(encoder, labels, **kw)
    # Transfer learning: start from a trained model's weights; heads whose shape
    # changed with the label set are re-initialised. An MRC model's heads are shared
    # by all types, so it keeps the types it knew and learns the new ones beside them.
    old = load_tagger(init_from)
    from transformers import AutoModel

    enc = AutoModel.from_config(old.encoder.config)
    enc.load_state_dict(old.encoder.state_dict())
    if is_query_method(method):
        from mrc_ner.queries import build_queries

        new_queries = build_queries(
            labels, splits_train, kind=query_kind, template=query_template, k=query_k, select=query_select, seed=seed
        )
        if old.takes_queries:
            new_queries = {**{t: q for t, q in old.options["queries"].items() if t in old.labels}, **new_queries}
            labels = sorted(set(labels) | set(old.labels))
        kw["options"] = {**options, "queries": new_queries, "query_kind": query_kind}
        for key in ("train_sentences", "query_kind", "query_template", "query_k", "query_select", "seed"):
            kw.pop(key, None)
    new = cls(enc, old.tokenizer, labels=labels, encoder_name=old.encoder_name, **kw)
    own = new.state_dict()
    compatible = {k: v for k, v in old.state_dict().items() if k in own and own[k].shape == v.shape}
    new.load_state_dict(compatible, strict=False)
    new.fresh_heads = not any(k in compatible for k in new.state_dict() if not k.startswith("encoder."))
    return new


@handles_input_errors
def train(
    train: Annotated[
        list[str],
        typer.Option(
            "--train",
            help="Training data: a corpus file or directory (columns, JSONL, brat, PubTator, BioC), or a published fold's train_test_split.info. Repeatable: several corpora, each annotated for its own types (MRC asks each sentence only its corpus's types; softmax/crf see the naive union).",
        ),
    ],
    out: Annotated[Path, typer.Option("--out", help="Output model directory.")],
    method: Annotated[
        str, typer.Option("--method", help="mrc, mrc-packed, softmax, crf, partbert-crf, bilstm-crf, hf-softmax.")
    ] = "mrc",
    dev: Annotated[
        list[str],
        typer.Option(
            "--dev",
            help="Dev data path, or a fraction (e.g. 0.1) of the training documents. With several --train: once per --train, or one fraction for all.",
        ),
    ] = [],  # noqa: B006
    test: Annotated[
        list[str],
        typer.Option(
            "--test",
            help="Test data scored after training. With several --train: once per --train; each scored on its corpus's types.",
        ),
    ] = [],  # noqa: B006
    corpus: Annotated[
        Optional[str],
        typer.Option("--corpus", help="Documents directory for a fold .info file (default: <folds>/../documents)."),
    ] = None,
    format: Annotated[str, typer.Option("--format", help=INPUT_FORMAT_HELP)] = "auto",
    discontinuous: Annotated[str, typer.Option("--discontinuous", help=DISCONTINUOUS_HELP)] = "error",
    encoder: Annotated[
        str, typer.Option("--encoder", help="Built-in offline encoder name, HF hub id or local directory.")
    ] = DEFAULT_ENCODER,
    epochs: Annotated[int, typer.Option(help="Training epochs.")] = 3,
    batch_size: Annotated[int, typer.Option(help="Batch size (features per step).")] = 16,
    encoder_lr: Annotated[float, typer.Option(help="Learning rate of the encoder.")] = 5e-5,
    head_lr: Annotated[float, typer.Option(help="Learning rate of the new heads.")] = 1e-3,
    warmup_ratio: Annotated[float, typer.Option(help="Share of steps with linear warmup.")] = 0.1,
    grad_accum: Annotated[int, typer.Option(help="Gradient accumulation steps.")] = 1,
    max_length: Annotated[int, typer.Option(help="Encoder input length; longer contexts are windowed.")] = 256,
    overlap: Annotated[int, typer.Option(help="Overlap between windows, in tokens.")] = 64,
    align: Annotated[
        str,
        typer.Option(
            help="auto, char, mixed, subword or word (mixed: CJK characters one unit each, Latin/digit runs in tokenizer pieces)."
        ),
    ] = "auto",
    seed: Annotated[int, typer.Option(help="Random seed.")] = 42,
    patience: Annotated[int, typer.Option(help="Early stopping: epochs without dev improvement.")] = 3,
    max_steps: Annotated[Optional[int], typer.Option(help="Stop after this many optimizer steps.")] = None,
    freeze_embeddings: Annotated[bool, typer.Option(help="Freeze the word embeddings (saves memory and time).")] = True,
    gradient_checkpointing: Annotated[
        bool,
        typer.Option(
            "--gradient-checkpointing",
            help="Recompute encoder activations in the backward pass: much less memory for about a third more time.",
        ),
    ] = False,
    negative_ratio: Annotated[float, typer.Option(help="Share of entity-free training features kept (1 = all).")] = 1.0,
    bf16: Annotated[bool, typer.Option(help="bf16 autocast.")] = False,
    resume: Annotated[bool, typer.Option(help="Continue an interrupted run from OUT/checkpoint.")] = False,
    init_from: Annotated[
        Optional[Path], typer.Option(help="Start from an already trained mrc-ner model directory.")
    ] = None,
    query_kind: Annotated[str, typer.Option(help="MRC queries: examples, simple or none.")] = "examples",
    query_template: Annotated[
        Optional[str], typer.Option(help="MRC query template: en, zh, cbp or a JSON path.")
    ] = None,
    query_k: Annotated[int, typer.Option(help="MRC: examples per query.")] = 3,
    query_select: Annotated[str, typer.Option(help="MRC: frequency or random examples.")] = "frequency",
    end_head: Annotated[str, typer.Option(help="MRC end head: start_aware (eq. 6) or linear (eq. 5).")] = "start_aware",
    lam: Annotated[float, typer.Option("--lambda", help="MRC loss weight of the end head.")] = 0.5,
    option: Annotated[
        list[str], typer.Option("--option", "-o", help="Method option KEY=VALUE (repeatable), e.g. trainable_layers=4.")
    ] = [],  # noqa: B006
    threads: Annotated[Optional[int], typer.Option(help="torch CPU threads (default: all cores).")] = None,
    calibrate: Annotated[
        bool,
        typer.Option(
            "--calibrate/--no-calibrate",
            help="MRC: after training, choose the start/end threshold that maximises dev micro F1 and save it in the model.",
        ),
    ] = True,
    json_: Annotated[
        bool,
        typer.Option(
            "--json",
            help="Print the run summary (run_summary.json) as JSON on stdout instead of tables; messages go to stderr, no progress bar.",
        ),
    ] = False,
) -> None:
    """Train one method; the best dev epoch is saved to OUT as a model directory."""
    import torch

    from mrc_ner.corpus.joint import corpus_types, load_joint_splits, mark_annotated
    from mrc_ner.evaluation.report import scores_table
    from mrc_ner.io import atomic_write_json, writable_dir
    from mrc_ner.training import TrainArgs

    say = err_console.print if json_ else console.print
    if threads:
        torch.set_num_threads(threads)
    writable_dir(out)
    from mrc_ner.corpus.documents import ReadReport

    report = ReadReport()
    splits = load_joint_splits(
        train, dev, test, corpus=corpus, seed=seed, format=format, discontinuous=discontinuous, report=report
    )
    print_skipped(report)
    say(
        f"{splits.description}: {len(splits.train)} train, {len(splits.dev)} dev, {len(splits.test)} test sentences",
        soft_wrap=True,
    )
    options = parse_options(option)
    if is_query_method(method):
        options.setdefault("end_head", end_head)
        options.setdefault("lambda", lam)
    tagger = build_tagger(
        method,
        encoder,
        splits.train,
        align=align,
        max_length=max_length,
        overlap=overlap,
        options=options,
        query_kind=query_kind,
        query_template=query_template,
        query_k=query_k,
        query_select=query_select,
        seed=seed,
        init_from=init_from,
    )
    own = corpus_types(splits.train, splits.dev, splits.test)
    if set(tagger.labels) - set(own):  # --init-from kept types this data does not annotate
        say(
            f"types not annotated in this data, kept from --init-from: {', '.join(sorted(set(tagger.labels) - set(own)))}"
        )
        for sents in (splits.train, splits.dev, splits.test):
            mark_annotated(sents, own)
    if is_query_method(method):
        for label, q in tagger.options["queries"].items():
            say(f"query [bold]{label}[/]: {q}")
    args = TrainArgs(
        epochs=epochs,
        batch_size=batch_size,
        encoder_lr=encoder_lr,
        head_lr=head_lr,
        warmup_ratio=warmup_ratio,
        grad_accum=grad_accum,
        seed=seed,
        bf16=bf16,
        patience=patience,
        max_steps=max_steps,
        freeze_embeddings=freeze_embeddings,
        gradient_checkpointing=gradient_checkpointing,
        negative_ratio=negative_ratio,
        out_dir=str(out),
        resume=resume,
        calibrate=calibrate,
    )
    if tagger.train_recipe:
        args = replace(args, **tagger.train_recipe)
        say(f"{method} trains with its own recipe: " + ", ".join(f"{k}={v}" for k, v in tagger.train_recipe.items()))
    t0 = time.perf_counter()
    state = tagger.fit(splits.train, splits.dev or None, args, log=say, progress=not json_)
    wall = time.perf_counter() - t0
    summary: dict[str, Any] = {
        "method": method,
        "encoder": encoder,
        "train_seconds": round(wall, 1),
        "best_epoch": state.best_epoch,
        "best_dev_micro_f1": state.best_f1 if splits.dev else None,
    }
    if is_query_method(method):
        summary["threshold"] = tagger.options["threshold"]
    if len(splits.tests) > 1:
        summary["types"] = splits.types
        summary["tests"] = {}
    for name, sentences in splits.tests:
        t1 = time.perf_counter()
        scores = tagger.evaluate(sentences)
        seconds = round(time.perf_counter() - t1, 1)
        if len(splits.tests) == 1:
            summary["test_seconds"], summary["test"] = seconds, scores.to_dict()
            if not json_:
                say(scores_table(scores, title=f"{method} on test"))
        else:
            summary["tests"][name] = {"test_seconds": seconds, "types": splits.types[name], **scores.to_dict()}
            if not json_:
                say(scores_table(scores, title=f"{method} on {name} test ({', '.join(splits.types[name])})"))
    atomic_write_json(out / "run_summary.json", summary)
    say(f"trained in {wall / 60:.1f} min; model saved to [bold]{out}[/]")
    if json_:
        print_json(summary)
