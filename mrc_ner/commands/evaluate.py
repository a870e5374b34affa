"""``mrc-ner evaluate GOLD PRED``: score predicted column files against gold ones."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Literal, Optional

import typer

from mrc_ner.commands import _options as opt
from mrc_ner.commands._common import (
    INPUT_FORMAT_HELP,
    NESTED_HELP,
    QUERY_HELP,
    THRESHOLD_HELP,
    TYPES_HELP,
    configure_prediction,
    console,
    handles_input_errors,
    print_json,
    print_skipped,
    refuse_nested_consistency,
    run_consistency,
    run_postprocess,
)
from mrc_ner.corpus.documents import ReadReport, document_as_sentence
from mrc_ner.corpus.model import Corpus
from mrc_ner.corpus.readers import read_corpus
from mrc_ner.errors import InputError
from mrc_ner.evaluation.metrics import check_same_sentences, score_sentences
from mrc_ner.evaluation.report import scores_table
from mrc_ner.inference import DEVICE_HELP


@handles_input_errors
def evaluate(
    gold: Annotated[
        Path,
        typer.Argument(
            help="Gold annotations: a corpus file in any format read by stats (columns, JSONL, brat, PubTator, BioC) or a directory of them.",
            show_default=False,
        ),
    ],
    pred: Annotated[
        Optional[Path],
        typer.Argument(
            help="Predictions for the same sentences, in the same order: a file or a directory.", show_default=False
        ),
    ] = None,
    json_: Annotated[bool, typer.Option("--json", help="Print the scores as JSON instead of a table.")] = False,
    partial: Annotated[
        bool,
        typer.Option(
            "--partial",
            help="Count a prediction as correct when it overlaps a gold mention of the same type (one-to-one).",
        ),
    ] = False,
    model: Annotated[
        Optional[str],
        typer.Option(
            "--model",
            help="A trained model directory (or hub id): predict GOLD's sentences with it instead of reading PRED.",
        ),
    ] = None,
    batch_size: Annotated[int, typer.Option(min=1, help="Prediction batch size (with --model).")] = 32,
    device: Annotated[str, typer.Option("--device", help="With --model: " + DEVICE_HELP)] = "auto",
    format: Annotated[
        opt.CorpusFormat, typer.Option("--format", help=INPUT_FORMAT_HELP + " Applies to GOLD and PRED.")
    ] = opt.CorpusFormat.auto,
    discontinuous: opt.DiscontinuousOpt = opt.Discontinuous.error,
    quantize: opt.ModelQuantizeOpt = opt.Quantize.none,
    postprocess: opt.PostprocessOpt = False,
    orphan: opt.OrphanOpt = opt.Orphan.repair,
    invalid_symbols: opt.InvalidSymbolsOpt = "?~˜。",
    consistency: opt.ConsistencyOpt = opt.Consistency.none,
    types: Annotated[Optional[str], typer.Option("--types", help="With --model: " + TYPES_HELP)] = None,
    query: Annotated[list[str], typer.Option("--query", help="With --model: " + QUERY_HELP)] = [],  # noqa: B006
    nested: Annotated[bool, typer.Option("--nested", help="With --model: " + NESTED_HELP)] = False,
    threshold: Annotated[Optional[float], typer.Option("--threshold", help="With --model: " + THRESHOLD_HELP)] = None,
    sweep: Annotated[
        bool,
        typer.Option(
            "--sweep",
            help="With an MRC --model: micro P/R/F1 at start/end thresholds 0.05 … 0.95 (one prediction pass), instead of the per-type table.",
        ),
    ] = False,
    against: Annotated[
        Optional[Path],
        typer.Option(
            "--against",
            help="Another system's predictions for the same sentences: also score them, and test the micro-F1 difference "
            "(paired bootstrap 95 % interval, approximate-randomization p; 10,000 trials over the documents, or the sentences "
            "when GOLD is one document).",
            show_default=False,
        ),
    ] = None,
) -> None:
    """Precision, recall and F1 per type and micro/macro/weighted (strict match = seqeval's figures)."""
    report = ReadReport()
    gold_corpus = read_corpus(gold, format=format.value, discontinuous=discontinuous.value, report=report)
    gold_sents = gold_corpus.sentences
    refuse_nested_consistency(nested=nested, consistency=consistency.value)
    if model is None and (types or query or nested or threshold is not None or sweep):
        raise InputError("--types, --query, --nested, --threshold and --sweep need --model")
    if against is not None and (partial or sweep or nested):
        raise InputError("--against tests strict flat scores; leave out --partial, --sweep and --nested")
    if model is not None:
        if pred is not None:
            raise InputError("give either PRED or --model, not both")
        from mrc_ner.inference import load_model

        tagger = configure_prediction(
            load_model(model, device=device, quantize=quantize.value),
            types=types,
            query=query,
            nested=nested,
            threshold=threshold,
        )
        if sweep:
            _print_sweep(tagger, gold_sents, batch_size=batch_size, json_=json_, threshold=threshold)
            return
        pred_sents = tagger.predict_sentences(gold_sents, batch_size=batch_size)
    else:
        if pred is None:
            raise InputError(
                "missing PRED: give the predictions to score, e.g. `mrc-ner evaluate gold.bio pred.bio`, or --model DIR"
            )
        pred_corpus = read_corpus(pred, format=format.value, discontinuous=discontinuous.value, report=report)
        gold_sents, pred_sents = _aligned(gold_corpus, gold, pred_corpus, pred)
    other_sents, other_name = None, ""
    if against is not None:
        other_name = against.name
        other = read_corpus(against, format=format.value, discontinuous=discontinuous.value, report=report)
        gold_for_other, other_sents = _aligned(gold_corpus, gold, other, against)
        if len(gold_for_other) != len(gold_sents):
            raise InputError(
                "PRED and --against split the documents differently; give both as sentences or both as documents",
                path=against,
            )
    print_skipped(report)
    outputs = [pred_sents] if other_sents is None else [pred_sents, other_sents]
    if postprocess:
        outputs = [run_postprocess(p, orphan=orphan.value, invalid_symbols=invalid_symbols) for p in outputs]
    if consistency is not opt.Consistency.none:
        outputs = [[s for g in run_consistency(_by_document(p), consistency.value) for s in g] for p in outputs]
    match: Literal["strict", "partial"] = "partial" if partial else "strict"
    scores = [score_sentences(gold_sents, p, match=match) for p in outputs]
    if len(outputs) == 2:
        _print_paired(
            gold_sents,
            outputs,
            scores,
            names=(pred.name if pred is not None else str(model), other_name),
            json_=json_,
        )
        return
    if json_:
        print_json(scores[0].to_dict())
        return
    console.print(scores_table(scores[0], title=f"{match} match, {len(gold_sents)} sentences"))


def _aligned(gold_corpus: Corpus, gold: Path, pred_corpus: Corpus, pred: Path) -> tuple[list, list]:
    """Gold and predicted sentences that correspond one to one (documents where the two split them differently)."""
    gold_sents, pred_sents = gold_corpus.sentences, pred_corpus.sentences
    if _same_documents_split_differently(gold_corpus, pred_corpus):
        gold_sents = [document_as_sentence(d) for d in gold_corpus]
        pred_sents = [document_as_sentence(d) for d in pred_corpus]
    try:
        check_same_sentences(gold_sents, pred_sents)
    except InputError as e:
        raise InputError(f"{e.message} (gold: {gold})", path=pred) from None
    return gold_sents, pred_sents


def _print_paired(gold_sents, outputs, scores, *, names: tuple[str, str], json_: bool) -> None:
    """Both systems' scores and the paired test of their micro-F1 difference, as tables or JSON."""
    from mrc_ner.evaluation.significance import paired_test, unit_counts, unit_keys

    kind, keys = unit_keys(gold_sents)
    gold_spans = [s.spans for s in gold_sents]
    first, second = (unit_counts(gold_spans, [s.spans for s in p], keys) for p in outputs)
    test = paired_test(first, second)
    if json_:
        print_json(
            {
                "pred": scores[0].to_dict(),
                "against": scores[1].to_dict(),
                "paired_test": {"unit": kind, **test.to_dict()},
            }
        )
        return
    for name, s in zip(names, scores):
        console.print(scores_table(s, title=f"{name}: strict match, {len(gold_sents)} sentences"))
    console.print(
        f"micro F1 {names[0]} − {names[1]}: {100 * test.difference:+.2f} points, 95 % interval "
        f"[{100 * test.low:.2f}, {100 * test.high:.2f}] (paired bootstrap), p = {test.p_value:.4f} "
        f"(approximate randomization; {test.trials:,} trials over {test.units} {kind}s)"
    )


def _by_document(sentences):
    """Consecutive sentences grouped by the document their ids name (``doc:12`` → ``doc``)."""
    from itertools import groupby

    from mrc_ner.corpus.model import document_of

    return [list(g) for _, g in groupby(sentences, key=document_of)]


def _print_sweep(tagger, sentences, *, batch_size: int, json_: bool, threshold: float | None) -> None:
    """The threshold sweep of an MRC tagger on ``sentences``, as a table or JSON."""
    from rich.table import Table

    if not tagger.takes_queries:
        raise InputError(f"--sweep needs an MRC model (mrc, mrc-packed); this model's method is {tagger.method!r}")
    if threshold is not None:
        raise InputError("--sweep tries every threshold; leave out --threshold")
    rows = tagger.threshold_sweep(sentences, batch_size=batch_size)
    saved = float(tagger.options["threshold"])
    if json_:
        print_json({"saved_threshold": saved, "sweep": rows})
        return
    best = max(r["f1"] for r in rows)
    table = Table(title=f"micro F1 against the start/end threshold, {len(sentences)} sentences (saved: {saved})")
    for col in ("threshold", "F1", "P", "R", "predicted", "correct"):
        table.add_column(col, justify="right")
    for r in rows:
        mark = " *" if r["f1"] == best else ""
        style = "bold" if r["threshold"] == saved else None
        table.add_row(
            f"{r['threshold']:.2f}",
            f"{100 * r['f1']:.2f}{mark}",
            f"{100 * r['precision']:.2f}",
            f"{100 * r['recall']:.2f}",
            str(r["predicted"]),
            str(r["correct"]),
            style=style,
        )
    console.print(table)


def _same_documents_split_differently(gold: Corpus, pred: Corpus) -> bool:
    """Same document texts in the same order but other sentences: score per document.

    Document formats (brat, PubTator, BioC) join sentences that a mention crosses,
    so gold and predicted files of one text may be split differently.
    """
    if [s.text for s in gold.sentences] == [s.text for s in pred.sentences]:
        return False
    return len(gold) == len(pred) and all(g.text == p.text for g, p in zip(gold, pred))
