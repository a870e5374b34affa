"""``mrc-ner compare``: train and test several methods on the same folds; one Table-4-style report."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

from mrc_ner.commands import _options as opt
from mrc_ner.commands._common import console, err_console, handles_input_errors, print_json
from mrc_ner.encoding.encoders import DEFAULT_ENCODER
from mrc_ner.errors import InputError

DEFAULT_METHODS = "mrc,softmax,crf,partbert-crf"

JsonOpt = Annotated[bool, typer.Option("--json", help=opt.JSON_HELP.format("the report (results.json)"))]


@handles_input_errors
def compare(
    out: Annotated[
        Path,
        typer.Option(
            "--out", help="Output directory: cells/<fold>/<method>/ (model + result.json) and results.{json,csv,md}."
        ),
    ],
    corpus: Annotated[
        Optional[Path],
        typer.Option("--corpus", help="Documents directory (one document per file) for published or k=N folds."),
    ] = None,
    folds: Annotated[
        str,
        typer.Option(
            "--folds",
            help="published (folds in <corpus>/../folds), published=DIR, k=N, TRAIN,DEV,TEST paths (DEV may be empty), or a union of partly annotated corpora A_TRAIN,A_DEV,A_TEST+B_TRAIN,B_DEV,B_TEST (MRC asks each corpus its own types; softmax/crf learn the naive union; each test set scored on its own types).",
        ),
    ] = "published",
    methods: Annotated[
        str,
        typer.Option(
            "--methods",
            help="Comma-separated rows: mrc, mrc-packed, softmax, crf, partbert-crf, bilstm-crf, lm-mixed, hf-softmax (the plain Hugging Face fine-tune, as a reference), each optionally with variants METHOD:KEY=VALUE[:KEY=VALUE], "
            "e.g. mrc:query=simple, mrc:end=linear, partbert-crf:layers=2, crf:head_lr=0.01, lm-mixed:lm_max_steps=500.",
        ),
    ] = DEFAULT_METHODS,
    encoder: opt.EncoderOpt = DEFAULT_ENCODER,
    models: Annotated[
        Optional[list[Path]],
        typer.Option(
            "--models", help="Compare already trained model directories instead of training (repeatable; needs --test)."
        ),
    ] = None,
    test: Annotated[Optional[Path], typer.Option("--test", help="Test set for --models.")] = None,
    epochs: opt.EpochsOpt = 3,
    batch_size: opt.BatchSizeOpt = 16,
    encoder_lr: opt.EncoderLrOpt = 5e-5,
    head_lr: Annotated[float, typer.Option(help="Learning rate of the heads (and CRF transitions).")] = 1e-3,
    warmup_ratio: opt.WarmupRatioOpt = 0.1,
    schedule: opt.ScheduleOpt = opt.Schedule.linear,
    grad_accum: opt.GradAccumOpt = 1,
    seed: Annotated[int, typer.Option(help="Training seed (the same for every cell: paired comparison).")] = 42,
    seeds: Annotated[
        Optional[str],
        typer.Option(
            help="Train every fold once per seed, comma-separated (42,43,44): each (fold, seed) run counts in the mean ± std and the paired t-test, so one TRAIN,DEV,TEST split gets a spread. The --seed run keeps the fold's name (earlier cells are reused); the others are <fold>.seed<N>."
        ),
    ] = None,
    max_length: opt.MaxLengthOpt = 256,
    overlap: opt.OverlapOpt = 64,
    max_steps: Annotated[
        Optional[int], typer.Option(help="Stop each cell's training after this many optimizer steps.")
    ] = None,
    patience: opt.PatienceOpt = 3,
    freeze_embeddings: Annotated[bool, typer.Option(help="Freeze the word embeddings.")] = True,
    gradient_checkpointing: opt.GradientCheckpointingOpt = False,
    attention_dropout: opt.AttentionDropoutOpt = 0.0,
    negative_ratio: Annotated[
        float,
        typer.Option(
            help="Share of entity-free training features kept (1 = all), for every row; per row: mrc:negative_ratio=0.3."
        ),
    ] = 1.0,
    bf16: opt.Bf16Opt = False,
    align: opt.AlignOpt = opt.Align.auto,
    query_kind: opt.QueryKindOpt = "examples",
    query_template: opt.QueryTemplateOpt = None,
    query_k: opt.QueryKOpt = 3,
    query_select: opt.QuerySelectOpt = "frequency",
    end_head: opt.EndHeadOpt = "start_aware",
    lam: opt.LambdaOpt = 0.5,
    fold: Annotated[
        Optional[list[str]],
        typer.Option("--fold", help="Run only this fold (repeatable), e.g. to split the work across machines."),
    ] = None,
    fold_seed: opt.FoldSeedOpt = 0,
    dev_docs: opt.DevDocsOpt = "1",
    lm_text: Annotated[
        Optional[Path],
        typer.Option(help="lm-mixed: pretrain on this text file/directory instead of each fold's training documents."),
    ] = None,
    lm_epochs: Annotated[Optional[int], typer.Option(help="lm-mixed: masked-LM epochs.")] = None,
    lm_max_steps: Annotated[Optional[int], typer.Option(help="lm-mixed: masked-LM steps (overrides epochs).")] = None,
    lm_lr: Annotated[Optional[float], typer.Option(help="lm-mixed: masked-LM learning rate.")] = None,
    keep_checkpoints: Annotated[
        bool, typer.Option(help="Keep each cell's training checkpoint (optimizer state) after it finishes.")
    ] = False,
    keep_models: Annotated[
        bool, typer.Option(help="Keep each cell's trained weights (needed to reuse them with --models).")
    ] = True,
    threads: opt.ThreadsOpt = None,
    json_: JsonOpt = False,
) -> None:
    """Every method on every fold (mean ± std over folds, paired t-test against the best); finished cells are skipped on re-runs."""
    from mrc_ner.experiments import compare as cmp

    say = opt.start_run(out, json_=json_, threads=threads)
    if models:
        if test is None:
            raise InputError("--models needs --test: the test set to score the models on")
        if seeds is not None:
            raise InputError("--seeds trains each fold once per seed; --models only scores trained models")
        report = cmp.evaluate_models(models, test, out, log=say)
    else:
        specs = cmp.parse_methods(methods)  # before reading anything: a typo fails at once
        seed_list = cmp.parse_seeds(seeds) if seeds is not None else []
        args = opt.train_args(locals())  # so does a value no run can use
        fold_data = cmp.load_folds(
            folds, corpus, seed=fold_seed, dev_docs=opt.dev_docs_value(dev_docs), only=fold or ()
        )
        lm = {k: v for k, v in {"epochs": lm_epochs, "max_steps": lm_max_steps, "lr": lm_lr}.items() if v is not None}
        settings = cmp.Settings(
            encoder=encoder,
            train=args,
            align=align.value,
            max_length=max_length,
            overlap=overlap,
            query_kind=query_kind,
            query_template=query_template,
            query_k=query_k,
            query_select=query_select,
            end_head=end_head,
            lam=lam,
            lm_text=str(lm_text) if lm_text else None,
            lm=lm,
            keep_checkpoints=keep_checkpoints,
            keep_models=keep_models,
            progress=not json_,
        )
        say(
            f"{len(fold_data)} fold(s) × {len(seed_list) or 1} seed(s) × {len(specs)} method(s), {len(fold_data[0].labels)} types: {', '.join(fold_data[0].labels)}"
        )
        report = cmp.run_comparison(fold_data, specs, settings, out, log=say, seeds=seed_list)
    if json_:
        err_console.print(f"results written to [bold]{out}[/] (results.json, results.csv, results.md)")
        print_json(cmp.results_json(report))
        return
    for table in cmp.report_tables(report):
        console.print(table)
    console.print(f"results written to [bold]{out}[/] (results.json, results.csv, results.md)")
