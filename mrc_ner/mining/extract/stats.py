"""Statistics of an extraction output (the paper's Table 5), its network, and the tables the command prints."""

from __future__ import annotations

import os
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from rich.table import Table

from mrc_ner.corpus.entities import parse_record_line
from mrc_ner.corpus.postprocess import RULES
from mrc_ner.mining.extract.extractor import sum_by_type
from mrc_ner.mining.extract.options import (
    DONE,
    ENTITIES,
    NETWORK,
    PREDICTIONS,
    STATS,
    ExtractOptions,
)
from mrc_ner.mining.extract.store import read_done


def iter_entities(path: Path) -> Iterator[dict[str, Any]]:
    """The entity objects of an ``entities.jsonl``, read lazily and checked by the one schema
    (:func:`~mrc_ner.corpus.entities.parse_record_line`: a bad line is an InputError naming ``path:line``)."""
    if not path.is_file():
        return
    with path.open("rb") as f:
        for lineno, line in enumerate(f, start=1):
            if line.strip():
                yield parse_record_line(line, path=path, line=lineno).to_dict()


def _mention_key(text: str) -> str:
    return " ".join(text.split())


def compute_stats(out_dir: str | os.PathLike, *, top: int = 10) -> dict[str, Any]:
    """Totals over everything in the output (resumed runs included), from its files.

    ``documents``, ``sentences``, ``tokens``, ``characters``, the post-processing
    removals and the ``--consistency`` changes come from ``done.txt``; ``mentions``/``unique``/``top`` per type (the
    paper's Table 5) from ``entities.jsonl`` (mention texts with whitespace runs as one
    space).
    """
    from mrc_ner.corpus.stats import top_mentions

    out_dir = Path(out_dir)
    records = read_done(out_dir / DONE)[0]
    totals = {k: sum(int(r.info.get(k, 0)) for r in records) for k in ("sentences", "tokens", "characters")}
    report = sum_by_type(r.info.get("postprocess", {}) for r in records)
    consistency = sum_by_type(r.info.get("consistency", {}) for r in records)
    counts: dict[str, Counter] = {}
    n = 0
    for obj in iter_entities(out_dir / ENTITIES):
        counts.setdefault(obj["label"], Counter())[_mention_key(obj["text"])] += 1
        n += 1
    types = sorted(counts)
    return {
        "documents": len(records),
        **totals,
        "entities": n,
        "mentions": {t: sum(counts[t].values()) for t in types},
        "unique": {t: len(counts[t]) for t in types},
        "top": {t: top_mentions(counts[t], top) for t in types},
        "postprocess": {rule: dict(sorted(report[rule].items())) for rule in RULES if rule in report},
        **(
            {"consistency": {c: dict(sorted(n.items())) for c, n in sorted(consistency.items())}} if consistency else {}
        ),
    }


def build_network_outputs(out_dir: str | os.PathLike, options: ExtractOptions) -> dict[str, Any]:
    """The co-occurrence network of ``entities.jsonl`` written to ``out/network/``; its summary.

    Without any mention of the chosen types nothing is written and the summary says why.
    """
    import importlib.util

    from mrc_ner.mining.network import Mention, build_network, summary, write_network

    out_dir = Path(out_dir)
    wanted = {t.strip().casefold() for t in options.network_types if t.strip()}
    mentions = (
        Mention(str(o["doc"]), int(o["sentence"]), o["label"], o["text"])
        for o in iter_entities(out_dir / ENTITIES)
        if str(o["label"]).casefold() in wanted
    )
    graph = build_network(
        mentions, types=tuple(sorted(wanted)), window=options.window, min_edge_weight=options.min_edge_weight
    )
    if not graph.graph.get("nodes_before_threshold"):
        return {"skipped": f"no mention of type {', '.join(sorted(wanted))}"}
    draw = graph.number_of_nodes() > 0 and importlib.util.find_spec("mrc_ner.mining.drawing") is not None
    paths = write_network(graph, out_dir / NETWORK, draw=draw)
    result = summary(graph)
    result["files"] = sorted(p.name for p in paths.values())
    return result


def extraction_tables(stats: dict[str, Any]) -> list[Table]:
    """Rich tables for a run: corpus summary, Table 5 (top mentions), speed, post-processing."""
    from mrc_ner.corpus.stats import stats_tables

    tables = stats_tables(stats, name="extracted")
    run = stats.get("run") or {}
    if run:
        t = Table(title="this run", title_justify="left")
        t.add_column("", style="bold")
        t.add_column("value", justify="right")
        rows = [
            ("documents processed", f"{run['documents']:,}"),
            ("already done (skipped)", f"{run['skipped']:,}"),
            ("sentences", f"{run['sentences']:,}"),
            ("characters", f"{run['characters']:,}"),
            ("entities written", f"{run['entities']:,}"),
            ("processes", str(run.get("processes", 1))),
            ("elapsed", f"{run['elapsed_s']:,.1f} s"),
            ("documents/s", f"{run['documents_per_s']:,.2f}"),
            ("characters/s", f"{run['characters_per_s']:,.0f}"),
            ("peak RSS", f"{run['peak_rss_mb']:,.0f} MiB"),
        ]
        for k, v in rows:
            t.add_row(k, v)
        tables.append(t)
    for key, title, first in (
        ("postprocess", "post-processing (all documents)", "rule"),
        ("consistency", "--consistency", "mentions"),
    ):
        changes = stats.get(key) or {}
        if any(changes.values()):
            tables.append(_changes_table(changes, title=title, first=first))
    return tables


def _changes_table(changes: dict[str, dict[str, int]], *, title: str, first: str) -> Table:
    """One row per rule or change, one column per entity type."""
    types = sorted({t for by_type in changes.values() for t in by_type})
    table = Table(title=title, title_justify="left")
    table.add_column(first, style="bold")
    for ty in types:
        table.add_column(ty, justify="right")
    for name, by_type in changes.items():
        table.add_row(name, *[f"{by_type.get(ty, 0):,}" for ty in types])
    return table


def output_files(stats: dict[str, Any], *, iob: bool) -> list[str]:
    """The names of what a run wrote into its output directory, from its statistics (``iob``: ``--iob`` was given)."""
    net = stats.get("network")
    return (
        [ENTITIES, DONE, STATS]
        + ([PREDICTIONS] if iob else [])
        + ([stats["export"]] if stats.get("export") else [])
        + ([f"{NETWORK}/"] if net and "skipped" not in net else [])
    )
