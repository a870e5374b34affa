"""``mrc-ner network INPUT... --out DIR``: the gene co-occurrence network of extracted or gold entities."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any, Optional

import typer
from rich.table import Table

from mrc_ner.commands._common import console, handles_input_errors, print_json
from mrc_ner.commands._network_options import MinEdgeWeightOption, WindowOption, split_types
from mrc_ner.mining.network import (
    DEFAULT_NORMALIZE,
    NO_AFFIXES,
    network_from_files,
    write_outputs,
)
from mrc_ner.mining.network.pipeline import REFERENCE_NEEDS_FOCUS


def _summary_table(s: dict[str, Any], inputs: str) -> Table:
    t = Table(title=f"{s['types']} co-occurrence network", show_header=False, title_justify="left")
    t.add_column(style="bold")
    t.add_column(justify="right", overflow="fold")
    t.add_row("input", inputs)
    t.add_row("documents with mentions", str(s["documents"]))
    t.add_row("window (sentences)", f"{s['window']}  (|i − j| < {s['window']})")
    t.add_row("nodes / edges, all", f"{s['nodes_before_threshold']} / {s['edges_before_threshold']}")
    t.add_row(f"nodes / edges, weight ≥ {s['min_edge_weight']}", f"{s['nodes']} / {s['edges']}")
    t.add_row("communities", str(s["communities"]))
    return t


def _edges_table(s: dict[str, Any]) -> Table:
    t = Table(title=f"heaviest {len(s['top_edges'])} edges", title_justify="left")
    t.add_column("#", justify="right")
    t.add_column("source")
    t.add_column("target")
    t.add_column("documents", justify="right")
    for i, e in enumerate(s["top_edges"], 1):
        t.add_row(str(i), e["source_label"], e["target_label"], str(e["weight"]))
    return t


def _neighbours_table(focus: str, rows: list[dict[str, Any]], with_reference: bool) -> Table:
    t = Table(title=f"top {len(rows)} neighbours of {focus}", title_justify="left")
    t.add_column("#", justify="right")
    t.add_column("neighbour")
    t.add_column("weight", justify="right")
    if with_reference:
        t.add_column("in reference top-k", justify="center")
        t.add_column("in reference", justify="center")
    for i, r in enumerate(rows, 1):
        extra = (
            ["✓" if r["in_reference_top"] else "", "✓" if r["in_reference"] else "[yellow]new[/]"]
            if with_reference
            else []
        )
        t.add_row(str(i), r["label"], str(r["weight"]), *extra)
    return t


def _reference_table(cmp: dict[str, Any], reference: Path) -> Table:
    t = Table(
        title=f"top {len(cmp['reference'])} neighbours of {cmp['focus']} in {reference.name}", title_justify="left"
    )
    t.add_column("#", justify="right")
    t.add_column("neighbour")
    t.add_column("score", justify="right")
    t.add_column("linked in ours", justify="center")
    for i, r in enumerate(cmp["reference"], 1):
        t.add_row(str(i), r["label"], f"{r['score']:g}", "✓" if r["in_ours"] else "")
    return t


@handles_input_errors
def network(
    inputs: Annotated[
        list[Path],
        typer.Argument(
            metavar="INPUT",
            help="An entities.jsonl from extraction, or gold corpus files (.bio, .tsv, .conll, .jsonl) or directories of them.",
            show_default=False,
        ),
    ],
    out: Annotated[
        Path,
        typer.Option(
            "--out",
            "-o",
            help="Directory for network.graphml/.gexf/.png, edges.csv, nodes.csv, summary.json.",
            show_default=False,
        ),
    ],
    types: Annotated[
        list[str], typer.Option("--types", "-t", help="Entity type(s) that become nodes; repeat or separate by commas.")
    ] = ["gene"],  # noqa: B006
    window: WindowOption = 2,
    min_edge_weight: MinEdgeWeightOption = 1,
    focus: Annotated[
        Optional[str],
        typer.Option(
            "--focus",
            help="A node (e.g. BRCA1) whose heaviest neighbours to list and draw (ego_<node>.png).",
            show_default=False,
        ),
    ] = None,
    top: Annotated[
        int, typer.Option("--top", min=1, help="How many neighbours of --focus, and how many heaviest edges, to list.")
    ] = 10,
    reference: Annotated[
        Optional[Path],
        typer.Option(
            "--reference",
            help="A STRING-style edge list (TSV: name1, name2, score) to compare the --focus neighbours with (comparison.json).",
            show_default=False,
        ),
    ] = None,
    no_strip_suffix: Annotated[
        bool, typer.Option("--no-strip-suffix", help='Keep 基因/gene affixes: "BRCA1基因" and "BRCA1" stay two nodes.')
    ] = False,
    json_: Annotated[
        bool, typer.Option("--json", help="Print the summary (and neighbours, comparison) as JSON instead of tables.")
    ] = False,
) -> None:
    """Build the co-occurrence network of entity mentions: nodes = normalised mentions, edge weight = documents."""
    from mrc_ner.errors import InputError
    from mrc_ner.io import writable_dir

    if reference is not None and focus is None:
        raise InputError(REFERENCE_NEEDS_FOCUS)
    writable_dir(out)
    built = network_from_files(
        inputs,
        types=split_types(types),
        window=window,
        min_edge_weight=min_edge_weight,
        normalize=NO_AFFIXES if no_strip_suffix else DEFAULT_NORMALIZE,
        focus=focus,
        top=top,
        reference=reference,
    )
    with console.status("writing the network…"):
        paths = write_outputs(built, out)
    result, full, focus_node = built.summary, built.full, built.focus

    if json_:
        print_json(result)
        return
    console.print(_summary_table(result, ", ".join(str(p) for p in inputs)))
    if result["edges"]:
        console.print(_edges_table(result))
    elif result["edges_before_threshold"]:
        heaviest = max(d["weight"] for *_, d in full.edges(data=True))
        console.print(
            f"[yellow]no edge reaches weight {min_edge_weight} (the heaviest: {heaviest}); try --min-edge-weight {heaviest}[/]",
            soft_wrap=True,
        )
    else:
        console.print("[yellow]no two mentions co-occur within the window: the network is empty[/]", soft_wrap=True)
    if focus_node is not None:
        cmp = result.get("comparison")
        rows = cmp["ours"] if cmp else result["focus"]["neighbours"]
        console.print(_neighbours_table(result["focus"]["label"], rows, cmp is not None))
        if cmp and reference is not None:
            if cmp["focus_in_reference"]:
                console.print(_reference_table(cmp, reference))
            else:
                console.print(f"[yellow]{cmp['focus']} is not in {reference}[/]", soft_wrap=True)
            console.print(
                f"overlap: {cmp['overlap']} of our top {len(cmp['ours'])} are in the reference's top {cmp['top']}"
                + (f"; new (not linked in the reference): {', '.join(cmp['new'])}" if cmp["new"] else "; none is new"),
                soft_wrap=True,
            )
    console.print(f"outputs in {out}: " + ", ".join(p.name for p in paths.values()), soft_wrap=True)
