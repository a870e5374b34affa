"""Prediction speed: torch (``Tagger.predict``) vs onnxruntime (``--backend onnx``) on one model.

Same machine, same sentences, same thread count; each backend runs in a fresh process
of its own (so its peak RSS is its own, see ``_harness.py``):

a. ``torch`` — the saved model through :meth:`Tagger.predict`;
b. ``onnx`` — its ``mrc-ner export --format onnx`` through
   :class:`~mrc_ner.models.onnx_tagger.OnnxTagger` (the same features, windows and
   decoding; only the encoder and heads run in onnxruntime, with ``--threads``
   intra-op threads).

Method: per backend, one untimed warm-up pass over the first ``--warmup`` sentences,
then ``--repeats`` timed passes over all of them; the median is reported. A timed pass
goes from the sentences to character spans; loading is timed separately.

Sentences: the first ``--sentences`` sentences of ``--corpus`` with 1 to
``--max-chars`` characters. Quality: strict micro F1 of each backend against the gold
spans, and the share of sentences on which the two backends' spans are identical.

Ratio: onnx sentences/s divided by torch sentences/s, measured in the same run (> 1: onnx faster).

    python bench/onnx_speed.py --model MODEL_DIR --threads 2 --json-out bench/results/onnx_speed.json
    python bench/onnx_speed.py --model MODEL_DIR --onnx ONNX_DIR --corpus data/sample_cbp --sentences 50
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _harness import (
    SHARED_DATA,
    default_threads,
    dump_sentences,
    fail,
    load_sentences,
    machine_info,
    median,
    own_peak_rss_mb,
    read_spec,
    rich_table,
    run_worker,
    select_sentences,
    set_threads,
    write_json,
    write_result,
)

SCRIPT = Path(__file__).resolve()
BACKENDS = ("torch", "onnx")


def worker(spec: dict[str, Any]) -> None:
    """One backend in this process: load, warm up, time ``repeats`` passes, score."""
    threads = set_threads(int(spec["threads"]))
    from mrc_ner.evaluation import score_spans

    sentences = load_sentences(spec["sentences_path"])
    rss_imports = own_peak_rss_mb()
    t0 = time.perf_counter()
    if spec["backend"] == "onnx":
        from mrc_ner.models.onnx_tagger import load_onnx_tagger

        tagger = load_onnx_tagger(spec["model"], threads=threads)
    else:
        from mrc_ner.models import load_tagger

        tagger = load_tagger(spec["model"])
    load_s = time.perf_counter() - t0
    bs = int(spec["batch_size"])
    tagger.predict(sentences[: int(spec["warmup"])], batch_size=bs)
    times, preds = [], []
    for _ in range(int(spec["repeats"])):
        t0 = time.perf_counter()
        preds = tagger.predict(sentences, batch_size=bs)
        times.append(time.perf_counter() - t0)
    seconds = median(times)
    f1 = score_spans([s.spans for s in sentences], preds).micro.f1
    write_result(
        spec,
        {
            "backend": spec["backend"],
            "load_s": round(load_s, 3),
            "runs_s": [round(t, 4) for t in times],
            "seconds": round(seconds, 4),
            "sentences_per_s": round(len(sentences) / seconds, 2),
            "chars_per_s": round(sum(len(s.text) for s in sentences) / seconds, 1),
            "micro_f1": round(f1, 4),
            "threads": threads,
            "rss_after_imports_mb": rss_imports,
            "spans": [[[sp.start, sp.end, sp.label] for sp in p] for p in preds],
        },
    )


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter
    )
    p.add_argument("--model", help="Trained mrc-ner model directory (any method).")
    p.add_argument(
        "--onnx",
        help="Its `mrc-ner export --format onnx` directory (default: export it now, into a temporary directory).",
    )
    p.add_argument(
        "--corpus", default=str(SHARED_DATA / "cbp_gold" / "documents"), help="Column file(s) or JSONL with gold spans."
    )
    p.add_argument("--sentences", type=int, default=500, help="Sentences from --corpus.")
    p.add_argument("--max-chars", type=int, default=500, help="Skip sentences longer than this (characters).")
    p.add_argument(
        "--threads",
        type=int,
        default=default_threads(),
        help="torch / onnxruntime intra-op threads (default: OMP_NUM_THREADS or all cores).",
    )
    p.add_argument("--repeats", type=int, default=3, help="Timed passes per backend; the median is reported.")
    p.add_argument("--warmup", type=int, default=32, help="Sentences in the untimed warm-up pass.")
    p.add_argument("--batch-size", type=int, default=32, help="Features per batch (both backends).")
    p.add_argument("--json-out", type=Path, help="Write the figures here as JSON.")
    p.add_argument("--timeout", type=float, default=None, help="Stop a backend after this many seconds.")
    p.add_argument("--worker", help=argparse.SUPPRESS)
    return p.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> dict[str, Any] | None:
    """Run both backends, print the table, return (and optionally write) the report."""
    args = parse_args(argv)
    if args.worker:
        worker(read_spec(args.worker))
        return None
    if not args.model or not (Path(args.model) / "config.json").is_file():
        fail(f"--model must be a trained mrc-ner model directory, got {args.model!r}")
    sentences = select_sentences(args.corpus, args.sentences, args.max_chars)
    if not sentences:
        fail(f"no sentences of 1 to {args.max_chars} characters in {args.corpus}")
    with tempfile.TemporaryDirectory(prefix="onnx-speed-") as tmp:
        onnx_dir = args.onnx
        export_s = None
        if onnx_dir is None:
            from mrc_ner.export import export_model

            t0 = time.perf_counter()
            onnx_dir = str(export_model(args.model, Path(tmp) / "onnx", format="onnx").path)
            export_s = round(time.perf_counter() - t0, 1)
        sent_path = Path(tmp) / "sentences.json"
        dump_sentences(sentences, sent_path)
        results = {}
        for backend in BACKENDS:
            spec = {
                "backend": backend,
                "model": args.model if backend == "torch" else onnx_dir,
                "sentences_path": str(sent_path),
                "threads": args.threads,
                "repeats": args.repeats,
                "warmup": args.warmup,
                "batch_size": args.batch_size,
            }
            results[backend] = run_worker(SCRIPT, spec, threads=args.threads, label=backend, timeout=args.timeout)
    spans = {b: results[b].pop("spans") for b in BACKENDS}
    same = sum(a == b for a, b in zip(spans["torch"], spans["onnx"])) / len(sentences)
    report = {
        "machine": machine_info(args.threads),
        "settings": {
            "model": args.model,
            "onnx": args.onnx or f"exported in this run ({export_s} s)",
            "corpus": args.corpus,
            "sentences": len(sentences),
            "chars": sum(len(s.text) for s in sentences),
            "repeats": args.repeats,
            "batch_size": args.batch_size,
        },
        "backends": results,
        "identical_sentences": round(same, 4),
        "ratio_onnx_vs_torch": round(results["onnx"]["sentences_per_s"] / results["torch"]["sentences_per_s"], 3),
        "command": "python bench/onnx_speed.py " + " ".join(sys.argv[1:] if argv is None else list(argv)),
    }
    from rich.console import Console

    rows = [
        [
            b,
            f"{r['sentences_per_s']:.1f}",
            f"{r['chars_per_s']:.0f}",
            f"{r['load_s']:.1f}",
            f"{r['micro_f1']:.4f}",
            f"{r['peak_rss_mb']:.0f}",
            f"{r['sentences_per_s'] / results['torch']['sentences_per_s']:.2f}x",
        ]
        for b, r in results.items()
    ]
    Console(highlight=False).print(
        rich_table(
            f"{len(sentences)} sentences, {args.threads} threads",
            ["backend", "sentences/s", "chars/s", "load s", "micro F1", "peak RSS MB", "vs torch"],
            rows,
        )
    )
    print(f"onnx/torch: {report['ratio_onnx_vs_torch']:.2f}x; identical spans on {100 * same:.1f}% of sentences")
    if args.json_out:
        write_json(args.json_out, report)
    return report


if __name__ == "__main__":
    main()
