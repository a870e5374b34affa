"""``mrc-ner stats``: sizes, mentions per type and the most frequent mentions of a corpus."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

from mrc_ner.commands import _options as opt
from mrc_ner.commands._common import (
    console,
    handles_input_errors,
    print_json,
    print_skipped,
)
from mrc_ner.corpus.documents import ReadReport
from mrc_ner.corpus.readers import read_corpus
from mrc_ner.corpus.stats import corpus_stats, mention_overlap, overlap_table, stats_tables
from mrc_ner.errors import InputError


@handles_input_errors
def stats(
    paths: Annotated[
        list[Path],
        typer.Argument(
            metavar="PATH",
            help="Corpus files (.bio, .tsv, .conll, .jsonl, brat .ann/.txt, PubTator, BioC .xml/.json, …) or directories of them.",
            show_default=False,
        ),
    ],
    json_: Annotated[bool, typer.Option("--json", help="Print the statistics as JSON instead of tables.")] = False,
    top: Annotated[
        int, typer.Option("--top", min=0, help="How many of the most frequent mentions to list per type.")
    ] = 10,
    format: opt.CorpusFormatOpt = opt.CorpusFormat.auto,
    discontinuous: opt.DiscontinuousOpt = opt.Discontinuous.error,
    folds: Annotated[
        Optional[str],
        typer.Option(
            "--folds",
            help="Also show, per fold of this spec (published, published=DIR or k=N, as in compare; PATH is then the documents directory), how many test mentions have a string the training documents annotate.",
        ),
    ] = None,
    fold_seed: opt.FoldSeedOpt = 0,
    dev_docs: opt.DevDocsOpt = "1",
) -> None:
    """Count documents, sentences, tokens, mentions and unique mentions per type."""
    report = ReadReport()
    corpus = read_corpus(paths, format=format.value, discontinuous=discontinuous.value, report=report)
    print_skipped(report)
    result = corpus_stats(corpus, top=top)
    if folds is not None:
        result["folds"] = _fold_overlap(paths, folds, fold_seed=fold_seed, dev_docs=opt.dev_docs_value(dev_docs))
    if json_:
        print_json(result)
        return
    for table in stats_tables(result, name=", ".join(str(p) for p in paths)):
        console.print(table)
    if folds is not None:
        console.print(overlap_table(result["folds"], title=f"test mentions seen in training, folds {folds}"))


def _fold_overlap(paths: list[Path], spec: str, *, fold_seed: int, dev_docs: int | float) -> dict:
    from mrc_ner.experiments.compare.folds import load_folds

    if len(paths) != 1 or "," in spec or "+" in spec:
        raise InputError(f"--folds {spec} needs one PATH, the documents directory, and a published or k=N spec")
    return {
        f.name: mention_overlap(f.train, f.test) for f in load_folds(spec, paths[0], seed=fold_seed, dev_docs=dev_docs)
    }
