"""``mrc-ner train``: fit one method on a training set, select on dev, score on test."""

from __future__ import annotations

import json
import time
from dataclasses import replace
from pathlib import Path
from typing import Annotated, Any, Optional

import typer

from mrc_ner.commands import _options as opt
from mrc_ner.commands._common import (
    handles_input_errors,
    print_json,
    print_skipped,
)
from mrc_ner.encoding.encoders import DEFAULT_ENCODER
from mrc_ner.errors import InputError

JsonOpt = Annotated[bool, typer.Option("--json", help=opt.JSON_HELP.format("the run summary (run_summary.json)"))]


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
    format: opt.CorpusFormatOpt = opt.CorpusFormat.auto,
    discontinuous: opt.DiscontinuousOpt = opt.Discontinuous.error,
    encoder: opt.EncoderOpt = DEFAULT_ENCODER,
    epochs: opt.EpochsOpt = 3,
    batch_size: opt.BatchSizeOpt = 16,
    encoder_lr: opt.EncoderLrOpt = 5e-5,
    head_lr: Annotated[float, typer.Option(help="Learning rate of the new heads.")] = 1e-3,
    warmup_ratio: opt.WarmupRatioOpt = 0.1,
    schedule: opt.ScheduleOpt = opt.Schedule.linear,
    grad_accum: opt.GradAccumOpt = 1,
    max_length: opt.MaxLengthOpt = 256,
    overlap: opt.OverlapOpt = 64,
    align: opt.AlignOpt = opt.Align.auto,
    seed: Annotated[int, typer.Option(help="Random seed.")] = 42,
    patience: opt.PatienceOpt = 3,
    max_steps: Annotated[Optional[int], typer.Option(help="Stop after this many optimizer steps.")] = None,
    freeze_embeddings: Annotated[bool, typer.Option(help="Freeze the word embeddings (saves memory and time).")] = True,
    gradient_checkpointing: opt.GradientCheckpointingOpt = False,
    attention_dropout: opt.AttentionDropoutOpt = 0.0,
    negative_ratio: Annotated[float, typer.Option(help="Share of entity-free training features kept (1 = all).")] = 1.0,
    mention_replacement: Annotated[
        float,
        typer.Option(
            help="Each epoch, replace each training mention by another training name of its type with this "
            "probability (0 = never): the model has to learn from context, not from names it saw."
        ),
    ] = 0.0,
    bf16: opt.Bf16Opt = False,
    resume: Annotated[bool, typer.Option(help="Continue an interrupted run from OUT/checkpoint.")] = False,
    init_from: Annotated[
        Optional[Path], typer.Option(help="Start from an already trained mrc-ner model directory.")
    ] = None,
    query_kind: opt.QueryKindOpt = "examples",
    query_template: opt.QueryTemplateOpt = None,
    query_k: opt.QueryKOpt = 3,
    query_select: opt.QuerySelectOpt = "frequency",
    end_head: opt.EndHeadOpt = "start_aware",
    lam: opt.LambdaOpt = 0.5,
    option: Annotated[
        list[str], typer.Option("--option", "-o", help="Method option KEY=VALUE (repeatable), e.g. trainable_layers=4.")
    ] = [],  # noqa: B006
    threads: opt.ThreadsOpt = None,
    calibrate: Annotated[
        bool,
        typer.Option(
            "--calibrate/--no-calibrate",
            help="MRC: after training, choose the start/end threshold that maximises dev micro F1 and save it in the model.",
        ),
    ] = True,
    json_: JsonOpt = False,
) -> None:
    """Train one method; the best dev epoch is saved to OUT as a model directory."""

    from mrc_ner.corpus.joint import corpus_types, load_joint_splits, mark_annotated
    from mrc_ner.evaluation.report import scores_table
    from mrc_ner.io import atomic_write_json
    from mrc_ner.models.building import build_tagger

    args = opt.train_args(locals(), out_dir=str(out))  # a value no run can use fails before any reading
    say = opt.start_run(out, json_=json_, threads=threads)
    from mrc_ner.corpus.documents import ReadReport

    report = ReadReport()
    splits = load_joint_splits(
        train,
        dev,
        test,
        corpus=corpus,
        seed=seed,
        format=format.value,
        discontinuous=discontinuous.value,
        report=report,
    )
    print_skipped(report)
    say(
        f"{splits.description}: {len(splits.train)} train, {len(splits.dev)} dev, {len(splits.test)} test sentences",
        soft_wrap=True,
    )
    tagger = build_tagger(
        method,
        encoder,
        sorted({sp.label for s in splits.train for sp in s.spans}),
        splits.train,
        align=align.value,
        max_length=max_length,
        overlap=overlap,
        options=parse_options(option),
        shared_options={"end_head": end_head, "lambda": lam},
        query_options={
            "query_kind": query_kind,
            "query_template": query_template,
            "query_k": query_k,
            "query_select": query_select,
        },
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
    if tagger.takes_queries:
        for label, q in tagger.options["queries"].items():
            say(f"query [bold]{label}[/]: {q}")
    if tagger.train_recipe:
        args = replace(args, **tagger.train_recipe)
        say(f"{method} trains with its own recipe: " + ", ".join(f"{k}={v}" for k, v in tagger.train_recipe.items()))
    from mrc_ner.training import checkpoint_seconds

    earlier = checkpoint_seconds(out) if resume else 0.0  # a resumed run reports the whole training's time
    t0 = time.perf_counter()
    state = tagger.fit(splits.train, splits.dev or None, args, log=say, progress=not json_)
    wall = time.perf_counter() - t0 + earlier
    summary: dict[str, Any] = {
        "method": method,
        "encoder": encoder,
        "train_seconds": round(wall, 1),
        "best_epoch": state.best_epoch,
        "best_dev_micro_f1": state.best_f1 if splits.dev else None,
        # cores other processes kept busy in each epoch: a timing taken beside other work says so
        "other_cores_per_epoch": [h.get("other_cores") for h in state.history],
    }
    if tagger.takes_queries:
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
