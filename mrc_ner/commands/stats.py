"""``mrc-ner stats``: sizes, mentions per type and the most frequent mentions of a corpus."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

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
from mrc_ner.corpus.stats import corpus_stats, stats_tables


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
) -> None:
    """Count documents, sentences, tokens, mentions and unique mentions per type."""
    report = ReadReport()
    corpus = read_corpus(paths, format=format.value, discontinuous=discontinuous.value, report=report)
    print_skipped(report)
    result = corpus_stats(corpus, top=top)
    if json_:
        print_json(result)
        return
    for table in stats_tables(result, name=", ".join(str(p) for p in paths)):
        console.print(table)
