"""One extraction run: inputs checked, output prepared, this process's documents extracted, shards merged, statistics."""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict
from pathlib import Path
from typing import Any

from rich.markup import escape

from mrc_ner.corpus.readers import InputFile
from mrc_ner.inference import resolve_whitespace
from mrc_ner.io import atomic_write_json
from mrc_ner.mining.extract import merge
from mrc_ner.mining.extract.export import export_documents
from mrc_ner.mining.extract.extractor import RunCounts, peak_rss_mb, sum_by_type
from mrc_ner.mining.extract.inputs import Scan, collect_inputs, iter_documents, scan_inputs
from mrc_ner.mining.extract.merge import in_input_order, merge_stores, remove_empty_shards_dir, shard_stores
from mrc_ner.mining.extract.options import (
    ENTITIES,
    RUN_SUMMARY,
    SHARDS,
    STATS,
    ExtractOptions,
)
from mrc_ner.mining.extract.processes import SingleProcess
from mrc_ner.mining.extract.progress import run_with_progress
from mrc_ner.mining.extract.settings import check_settings, extraction_settings
from mrc_ner.mining.extract.stats import build_network_outputs, compute_stats
from mrc_ner.mining.extract.store import OutputStore


def run_extraction(
    inputs: Sequence[str | os.PathLike],
    model: Any,
    out: str | os.PathLike,
    options: ExtractOptions | None = None,
    *,
    state: Any = None,
    console: Any = None,
    load: Callable[[Any], Any] | None = None,
) -> dict[str, Any] | None:
    """Extract entities from ``inputs`` into the directory ``out``; return the statistics.

    ``model`` is a tagger or a model directory (loaded with ``load``, by default
    :func:`~mrc_ner.inference.load_model` on the CPU, after the inputs are checked). ``state`` is an
    ``accelerate.PartialState`` (or anything with ``num_processes``, ``process_index``,
    ``is_main_process`` and ``wait_for_everyone()``); each process takes documents
    ``k % num_processes == process_index``. ``console`` (rich) shows a progress bar
    on the main process. Non-main processes return None.
    """
    t0 = time.perf_counter()
    options = options or ExtractOptions()
    options.check()
    state = state or SingleProcess()
    n, rank, main = int(state.num_processes), int(state.process_index), bool(state.is_main_process)
    out_dir = Path(out)
    files = collect_inputs(inputs, exclude=out_dir, format=options.input_format)
    scan = scan_inputs(files)
    if isinstance(model, (str, os.PathLike)):
        if load is None:
            from mrc_ner.inference import load_model

            def load(path: Any) -> Any:
                return load_model(path, device="cpu")

        tagger = load(model)
    else:
        tagger = model
    whitespace = resolve_whitespace(options.whitespace, tagger)
    settings = extraction_settings(tagger, options, whitespace, model)
    out_dir.mkdir(parents=True, exist_ok=True)

    base = OutputStore(out_dir)
    if main:
        _prepare_output(base, settings, single=n == 1)
        for note in base.notes:
            if console is not None:
                console.print(f"[yellow]repaired:[/] {escape(note)}", soft_wrap=True)
    state.wait_for_everyone()
    if not main:
        check_settings(out_dir, settings, write=False)
    store = base if n == 1 else OutputStore(out_dir / SHARDS / f"rank-{rank}")
    counts = _process_share(
        tagger, store, base, files, scan, options, whitespace, n=n, rank=rank, console=console if main else None
    )
    counts.elapsed_s = round(time.perf_counter() - t0, 3)
    counts.peak_rss_mb = peak_rss_mb()
    if n > 1:
        atomic_write_json(store.dir / RUN_SUMMARY, asdict(counts))
        state.wait_for_everyone()
        if not main:
            return None
        counts = _merge_shards(base, n)
    run = asdict(counts)
    run["elapsed_s"] = round(time.perf_counter() - t0, 3)
    run["processes"] = n
    run["documents_per_s"] = round(run["documents"] / run["elapsed_s"], 3) if run["elapsed_s"] else 0.0
    run["characters_per_s"] = round(run["characters"] / run["elapsed_s"], 1) if run["elapsed_s"] else 0.0
    run["whitespace"] = whitespace
    if base.notes:
        run["repairs"] = list(base.notes)
    stats = compute_stats(out_dir, top=options.top)
    stats["run"] = run
    stats["network"] = build_network_outputs(out_dir, options) if options.network else None
    if options.export:
        stats["export"] = str(export_documents(out_dir, files, options.export, entities=ENTITIES).relative_to(out_dir))
    atomic_write_json(out_dir / STATS, stats)
    return stats


def _prepare_output(base: OutputStore, settings: dict[str, Any], *, single: bool) -> None:
    """Main process, before any work: finish an interrupted merge, check the settings, repair.

    A single-process run also takes in the shards an interrupted multi-process run left.
    """
    merge.recover_merge(base.dir)
    check_settings(base.dir, settings, write=True)
    if not single:
        base.repair()
        return
    base.lock()
    try:
        base.repair()
        leftovers = shard_stores(base.dir)
        if leftovers:
            merge_stores(base, leftovers)
            remove_empty_shards_dir(base.dir)
    finally:
        base.close()


def _process_share(
    tagger: Any,
    store: OutputStore,
    base: OutputStore,
    files: Sequence[InputFile],
    scan: Scan,
    options: ExtractOptions,
    whitespace: str,
    *,
    n: int,
    rank: int,
    console: Any,
) -> RunCounts:
    """This process's documents (``k % n == rank``) not finished anywhere yet, into ``store``."""
    store.lock()
    try:
        if n > 1:
            (store.dir / RUN_SUMMARY).unlink(missing_ok=True)
        store.repair()
        done_ids = store.done_ids()
        if n > 1:
            done_ids |= base.done_ids()
            for other in shard_stores(base.dir):
                if other.dir != store.dir:
                    done_ids |= other.done_ids()
        mine = [i for k, i in enumerate(scan.ids) if k % n == rank]
        todo = sum(1 for i in mine if i not in done_ids)
        store.open(iob=options.iob)
        own = (lambda k: k % n == rank) if n > 1 else None
        documents = (d for d in iter_documents(files, own=own) if d.id not in done_ids)
        counts = run_with_progress(
            tagger,
            store,
            options,
            whitespace,
            documents,
            todo=todo,
            console=console,
            label=f"rank {rank}/{n}" if n > 1 else "",
        )
        counts.skipped = len(mine) - todo
        if n == 1 and not in_input_order(store):  # leftover shards were taken in before
            merge_stores(store, [])
        return counts
    finally:
        store.close()


def _merge_shards(base: OutputStore, n: int) -> RunCounts:
    """Main process, after everyone finished: the shards into ``base``; the processes' summed counts."""
    summaries = [base.dir / SHARDS / f"rank-{r}" / RUN_SUMMARY for r in range(n)]
    per_rank = [json.loads(p.read_text(encoding="utf-8")) for p in summaries if p.is_file()]
    base.lock()
    try:
        merge_stores(base, shard_stores(base.dir))
    finally:
        base.close()
    remove_empty_shards_dir(base.dir)
    return _sum_counts(per_rank)


def _sum_counts(per_rank: list[dict[str, Any]]) -> RunCounts:
    total = RunCounts()
    for r in per_rank:
        for key in ("documents", "skipped", "sentences", "characters", "entities"):
            setattr(total, key, getattr(total, key) + int(r.get(key, 0)))
        total.peak_rss_mb = max(total.peak_rss_mb, float(r.get("peak_rss_mb", 0.0)))
    report = sum_by_type(r.get("postprocess", {}) for r in per_rank)
    consistency = sum_by_type(r.get("consistency", {}) for r in per_rank)
    total.postprocess = {rule: dict(sorted(c.items())) for rule, c in report.items()}
    total.consistency = {change: dict(sorted(c.items())) for change, c in consistency.items()}
    return total
