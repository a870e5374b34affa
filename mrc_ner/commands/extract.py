"""``mrc-ner extract``: entities from a corpus of any size, with statistics and the gene network.

Resumable (rerun the same command after a crash or Ctrl-C), and shardable over
processes: ``accelerate launch --multi_gpu --num_processes N -m mrc_ner.cli extract …``
or ``torchrun --nproc_per_node N -m mrc_ner.cli extract …`` (CPU processes use gloo).
The pipeline itself is :mod:`mrc_ner.mining.extract`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

from mrc_ner.commands import _options as opt
from mrc_ner.commands._common import (
    NESTED_HELP,
    QUERY_HELP,
    THRESHOLD_HELP,
    TYPES_HELP,
    configure_prediction,
    console,
    err_console,
    handles_input_errors,
    print_json,
    refuse_nested_consistency,
)
from mrc_ner.commands._network_options import MinEdgeWeightOption, WindowOption, split_types
from mrc_ner.io import writable_dir
from mrc_ner.mining.extract import ExtractOptions, process_state


@handles_input_errors
def extract(
    inputs: Annotated[
        list[Path],
        typer.Argument(
            metavar="INPUT...",
            help='Plain-text files (one document each), JSONL ({"id", "text"} per line), column files (.bio/.tsv/.conll), brat/PubTator/BioC documents, or directories of them.',
            show_default=False,
        ),
    ],
    model: Annotated[
        str,
        typer.Option(
            "--model",
            help="Trained model directory (or a Hugging Face hub id, where the hub is reachable).",
            show_default=False,
        ),
    ],
    out: Annotated[
        Path,
        typer.Option(
            "--out",
            help="Output directory (entities.jsonl, done.txt, stats.json, network/); rerun to resume.",
            show_default=False,
        ),
    ],
    input_format: Annotated[
        str,
        typer.Option(
            "--input-format",
            help="Input format: auto (by suffix and content), text, jsonl, conll, brat, pubtator, bioc-xml, bioc-json (annotations are not used).",
        ),
    ] = "auto",
    export: Annotated[
        Optional[str],
        typer.Option(
            "--export",
            help="Also write the results as brat (OUT/brat/), pubtator (OUT/export.pubtator), bioc-xml or bioc-json (OUT/export.bioc.xml|json), in original-document offsets.",
            show_default=False,
        ),
    ] = None,
    iob: Annotated[
        bool, typer.Option("--iob", help="Also write predictions.bio: the cleaned sentences with predicted IOB2 tags.")
    ] = False,
    network: Annotated[
        bool,
        typer.Option("--network/--no-network", help="Build the co-occurrence network at the end (into OUT/network/)."),
    ] = True,
    network_types: Annotated[
        list[str],
        typer.Option("--network-types", help="Entity type(s) of the network's nodes (repeat or comma-separate)."),
    ] = ["gene"],  # noqa: B006
    window: WindowOption = 2,
    min_edge_weight: MinEdgeWeightOption = 1,
    max_sentence_chars: Annotated[
        int,
        typer.Option(
            "--max-sentence-chars",
            min=1,
            help="Lines longer than this are also split after 。！？； (nothing is truncated; long sentences are windowed).",
        ),
    ] = 2000,
    whitespace: Annotated[
        str,
        typer.Option(
            "--whitespace",
            help="Cleaning of whitespace: dash (cbp: 'SEQ ID' → 'SEQ-ID', other whitespace removed), space (one space per run), auto (space for word-level models).",
        ),
    ] = "auto",
    min_length: Annotated[
        int,
        typer.Option("--min-length", min=1, help="Post-processing: drop entities shorter than this many characters."),
    ] = 2,
    batch_size: Annotated[int, typer.Option("--batch-size", min=1, help="Model inputs per batch.")] = 32,
    buffer_sentences: Annotated[
        int,
        typer.Option(
            "--buffer-sentences",
            min=1,
            help="Sentences gathered across documents before predicting (length-sorted batches) and writing.",
        ),
    ] = 2000,
    top: Annotated[int, typer.Option("--top", min=0, help="Most frequent mentions listed per type.")] = 10,
    cpu: Annotated[bool, typer.Option("--cpu", help="Run on the CPU even when a GPU is present.")] = False,
    quantize: opt.QuantizeOpt = opt.Quantize.none,
    flat_memory: Annotated[
        bool,
        typer.Option(
            "--flat-memory/--no-flat-memory",
            help="Fix the C allocator's mmap threshold (glibc) so that memory barely grows with the corpus (1.7 GB peak for 100,000 cbp sentences); --no-flat-memory leaves glibc's default, about 20% faster while memory grows.",
        ),
    ] = True,
    types: Annotated[Optional[str], typer.Option("--types", help=TYPES_HELP)] = None,
    query: Annotated[list[str], typer.Option("--query", help=QUERY_HELP)] = [],  # noqa: B006
    nested: Annotated[bool, typer.Option("--nested", help=NESTED_HELP)] = False,
    threshold: Annotated[Optional[float], typer.Option("--threshold", help=THRESHOLD_HELP)] = None,
    consistency: opt.ConsistencyOpt = opt.Consistency.none,
    json_: Annotated[
        bool,
        typer.Option(
            "--json",
            help="Print the statistics (stats.json) as JSON on stdout instead of tables; the progress bar goes to stderr.",
        ),
    ] = False,
) -> None:
    """Extract entities with offsets into the original text, then statistics and the gene network."""
    from mrc_ner.inference import load_model
    from mrc_ner.mining.extract import extraction_tables, output_files, run_extraction

    options = ExtractOptions(
        whitespace=whitespace,
        max_sentence_chars=max_sentence_chars,
        min_length=min_length,
        batch_size=batch_size,
        buffer_sentences=buffer_sentences,
        iob=iob,
        network=network,
        network_types=split_types(network_types),
        window=window,
        min_edge_weight=min_edge_weight,
        top=top,
        input_format=input_format,
        export=export,
        consistency=consistency.value,
    )
    options.check()
    refuse_nested_consistency(nested=nested, consistency=consistency.value)
    writable_dir(out)
    if flat_memory:
        from mrc_ner.memory import FLAT_MEMORY_MMAP_THRESHOLD, set_mmap_threshold

        set_mmap_threshold(FLAT_MEMORY_MMAP_THRESHOLD)
    state = process_state(cpu)

    def load(path):
        return configure_prediction(
            load_model(path, quantize=quantize.value, device=str(state.device)),
            types=types,
            query=query,
            nested=nested,
            threshold=threshold,
        )

    try:
        stats = run_extraction(
            inputs, model, out, options, state=state, console=err_console if json_ else console, load=load
        )
    except KeyboardInterrupt:
        err_console.print(
            f"[yellow]interrupted[/]: finished documents are kept in {out}; run the same command again to continue",
            soft_wrap=True,
        )
        raise typer.Exit(code=130) from None
    if stats is None:  # not the main process
        return
    if json_:
        print_json(stats)
        return
    for table in extraction_tables(stats):
        console.print(table)
    net = stats.get("network")
    if net and "skipped" in net:
        console.print(f"network: skipped ({net['skipped']})")
    elif net:
        console.print(
            f"network: {net['nodes']:,} nodes, {net['edges']:,} edges, {net['communities']} communities (types {net['types']}, window {net['window']}, min edge weight {net['min_edge_weight']})"
        )
    names = output_files(stats, iob=iob)
    console.print(f"outputs in [bold]{out}[/]: {', '.join(names)}", soft_wrap=True)
