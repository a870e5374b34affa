"""Peak memory of ``mrc-ner extract`` against corpus size: is it flat?

Each corpus size runs in a fresh process (peak RSS is its own, see ``_harness.py``)
that calls :func:`mrc_ner.mining.extract.run_extraction` — what ``mrc-ner extract``
does — on a JSONL corpus of N sentences: the sentences of ``--corpus`` repeated in
order, ``--doc-sentences`` per document. A thread samples the worker's resident set
(``VmRSS``) every ``--sample-every`` seconds, so the table shows when the peak was
reached, not only how high it was.

The named baseline is the smallest size of the same run: ``× smallest`` is each
size's peak RSS over that one. Flat memory means ratios near 1.0 however large N
gets. ``model RSS`` is the process right after loading the model: what no
extraction can go below.

    python bench/extract_memory.py --model runs/mrc_cbp_fold0 --sizes 500,2000 --threads 2 --json-out bench/results/extract_memory.json
    python bench/extract_memory.py --model TINY_MODEL_DIR --sizes 1000,10000,100000    # bookkeeping only: a tiny model
"""

from __future__ import annotations

import argparse
import json
import shlex
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _harness import (
    SHARED_DATA,
    default_threads,
    fail,
    fmt,
    machine_info,
    read_spec,
    rich_table,
    run_worker,
    set_threads,
    write_json,
    write_result,
)


def _vm_rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


class RssSampler(threading.Thread):
    """Samples this process's resident set every ``every`` seconds until stopped."""

    def __init__(self, every: float) -> None:
        super().__init__(daemon=True)
        self.every, self.samples, self._halt = every, [], threading.Event()
        self.t0 = time.perf_counter()

    def run(self) -> None:
        while not self._halt.is_set():
            self.samples.append((round(time.perf_counter() - self.t0, 1), round(_vm_rss_mb(), 1)))
            self._halt.wait(self.every)

    def stop(self) -> list[tuple[float, float]]:
        self._halt.set()
        self.join()
        return self.samples


def write_corpus(texts: list[str], n: int, per_doc: int, path: Path) -> int:
    """A JSONL corpus of ``n`` sentences (``texts`` cycled), one sentence per line of each document; its characters."""
    chars = 0
    with path.open("w", encoding="utf-8") as fh:
        for d in range(0, n, per_doc):
            lines = [texts[(d + k) % len(texts)] for k in range(min(per_doc, n - d))]
            chars += sum(map(len, lines))
            fh.write(json.dumps({"id": f"doc{d // per_doc}", "text": "\n".join(lines)}, ensure_ascii=False) + "\n")
    return chars


# --------------------------------------------------------------------------- worker side


def worker(spec_path: str) -> None:
    spec = read_spec(spec_path)
    threads = set_threads(spec["threads"])
    sampler = RssSampler(spec["sample_every"])
    sampler.start()
    if spec.get("mmap_threshold") is not None:  # what `mrc-ner extract --flat-memory` does
        from mrc_ner.memory import set_mmap_threshold

        set_mmap_threshold(spec["mmap_threshold"])
    from mrc_ner.mining.extract import ExtractOptions, run_extraction
    from mrc_ner.models.quantize import load_for_inference

    rss_imports = _vm_rss_mb()
    tagger = load_for_inference(spec["model"], quantize=spec["quantize"])
    rss_model = _vm_rss_mb()
    options = ExtractOptions(
        batch_size=spec["batch_size"], buffer_sentences=spec["buffer_sentences"], network=spec.get("network", False)
    )
    with tempfile.TemporaryDirectory(prefix="mrc-ner-extract-memory-") as tmp:
        t0 = time.perf_counter()
        stats = run_extraction([spec["corpus_file"]], tagger, Path(tmp) / "out", options)
        seconds = time.perf_counter() - t0
    samples = sampler.stop()
    run = stats["run"]
    peak_at = max(samples, key=lambda s: s[1]) if samples else (0.0, 0.0)
    write_result(
        spec,
        {
            "sentences": run["sentences"],
            "characters": run["characters"],
            "entities": run["entities"],
            "seconds": seconds,
            "network": options.network,
            "sentences_per_s": run["sentences"] / seconds if seconds else 0.0,
            "torch_threads": threads,
            "rss_after_imports_mb": round(rss_imports, 1),
            "rss_after_model_mb": round(rss_model, 1),
            "sampled_peak_mb": peak_at[1],
            "sampled_peak_at_s": peak_at[0],
            "samples": samples,
        },
    )


# --------------------------------------------------------------------------- parent side


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter
    )
    p.add_argument("--model", help="A trained mrc-ner model directory.")
    p.add_argument(
        "--corpus",
        default=str(SHARED_DATA / "cbp_gold" / "documents"),
        help="Sentences to repeat (column files; default cbp_gold).",
    )
    p.add_argument(
        "--sizes", default="500,2000", help="Comma-separated corpus sizes in sentences; the smallest is the baseline."
    )
    p.add_argument("--doc-sentences", type=int, default=50, help="Sentences per document (default 50).")
    p.add_argument(
        "--max-chars", type=int, default=500, help="Use corpus sentences of at most this many characters (default 500)."
    )
    p.add_argument("--batch-size", type=int, default=32, help="extract --batch-size (default 32).")
    p.add_argument("--buffer-sentences", type=int, default=2000, help="extract --buffer-sentences (default 2000).")
    p.add_argument("--quantize", default="none", help="none, int8 or bf16 (as mrc-ner extract --quantize).")
    p.add_argument(
        "--mmap-threshold",
        type=int,
        default=None,
        help="Fix glibc's mmap threshold at this many bytes in the worker, as `mrc-ner extract --flat-memory` does (default: glibc's dynamic threshold, as --no-flat-memory).",
    )
    p.add_argument(
        "--network",
        action="store_true",
        help="Also count gene co-occurrences and write the network, as `mrc-ner extract` does by default (default: entities only).",
    )
    p.add_argument(
        "--threads", type=int, default=default_threads(), help="torch threads (default: OMP_NUM_THREADS or all cores)."
    )
    p.add_argument("--sample-every", type=float, default=1.0, help="Seconds between RSS samples (default 1).")
    p.add_argument("--timeout", type=float, default=None, help="Stop a size after this many seconds.")
    p.add_argument("--json-out", help="Write the figures here as JSON.")
    p.add_argument("--worker", help=argparse.SUPPRESS)
    return p.parse_args(argv)


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    if args.worker:
        worker(args.worker)
        return
    if not args.model or not Path(args.model, "config.json").is_file():
        fail(f"--model must be a trained model directory, got {args.model!r}")
    try:
        sizes = sorted({int(x) for x in args.sizes.split(",") if x.strip()})
    except ValueError:
        fail(f"--sizes must be comma-separated integers, got {args.sizes!r}")
    if not sizes or sizes[0] < 1:
        fail(f"--sizes needs at least one positive size, got {args.sizes!r}")
    from _harness import select_sentences

    texts = [s.text for s in select_sentences(args.corpus, 10**9, args.max_chars)]
    if not texts:
        fail(f"no sentences in {args.corpus}")
    machine = machine_info(args.threads)
    rows: dict[str, Any] = {}
    with tempfile.TemporaryDirectory(prefix="mrc-ner-extract-memory-") as tmp:
        for n in sizes:
            corpus_file = Path(tmp) / f"corpus-{n}.jsonl"
            chars = write_corpus(texts, n, args.doc_sentences, corpus_file)
            print(f"extracting {n:,} sentences ({chars:,} characters) …", file=sys.stderr, flush=True)
            spec = {
                "model": str(args.model),
                "corpus_file": str(corpus_file),
                "threads": args.threads,
                "batch_size": args.batch_size,
                "buffer_sentences": args.buffer_sentences,
                "quantize": args.quantize,
                "sample_every": args.sample_every,
                "mmap_threshold": args.mmap_threshold,
                "network": args.network,
            }
            rows[str(n)] = run_worker(
                Path(__file__), spec, threads=args.threads, label=f"{n} sentences", timeout=args.timeout
            )
            if rows[str(n)]["sentences"] != n:
                fail(f"{n} sentences in, {rows[str(n)]['sentences']} out: extraction lost sentences")
    base = rows[str(sizes[0])]["peak_rss_mb"]
    for r in rows.values():
        r["x_smallest"] = r["peak_rss_mb"] / base if base else None
    report = {
        "benchmark": "extract_memory",
        "command": "python " + " ".join(shlex.quote(a) for a in sys.argv),
        "machine": machine,
        "settings": {k: v for k, v in vars(args).items() if k not in ("worker", "json_out")},
        "sizes": rows,
        "baseline": f"{sizes[0]} sentences",
    }
    table = rich_table(
        f"extract peak memory — {machine['cpu']}, {args.threads} torch threads, batch {args.batch_size}, buffer {args.buffer_sentences} sentences, network {'on' if args.network else 'off'}, model {args.model}",
        [
            "sentences",
            "characters",
            "sentences/s",
            "model RSS (MB)",
            "peak RSS (MB)",
            "peak reached at (s)",
            "× smallest",
        ],
        [
            [
                f"{int(n):,}",
                f"{r['characters']:,}",
                fmt(r["sentences_per_s"]),
                fmt(r["rss_after_model_mb"], 0),
                fmt(r["peak_rss_mb"], 0),
                f"{fmt(r['sampled_peak_at_s'], 0)} of {fmt(r['seconds'], 0)}",
                f"{r['x_smallest']:.2f}×",
            ]
            for n, r in rows.items()
        ],
    )
    from rich.console import Console

    Console(width=200).print(table)
    if args.json_out:
        write_json(args.json_out, report)
        print(f"figures → {args.json_out}")


if __name__ == "__main__":
    main()
