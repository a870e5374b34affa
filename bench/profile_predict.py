"""Where prediction time goes: phases of ``Tagger.predict`` and the top operators of the forward pass.

One process, one model, the first ``--sentences`` sentences of ``--corpus``:

1. phases, by wrapping the tagger's own methods: ``features`` (tokenization, alignment,
   windows, query insertion), ``forward`` (the network), ``decode`` (window merging,
   nearest-match pairing, flat resolution, offsets) and the rest of ``predict``
   (collation, batching, copying outputs) — the share of each in wall time;
2. ``torch.profiler`` over the same call: self CPU time per operator, top ``--top``.

A warm-up call on a few sentences comes first and is not counted.

    python bench/profile_predict.py --model runs/mrc_cbp_fold0 --sentences 300 --threads 2 --json-out runs/bench/profile_mrc.json
"""

from __future__ import annotations

import argparse
import shlex
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _harness import (
    SHARED_DATA,
    default_threads,
    fail,
    machine_info,
    rich_table,
    select_sentences,
    set_threads,
    write_json,
)


class PhaseTimer:
    """Accumulates wall time of wrapped callables by phase name."""

    def __init__(self) -> None:
        self.seconds: dict[str, float] = {}

    def wrap(self, name: str, fn):
        def timed(*args, **kwargs):
            t0 = time.perf_counter()
            try:
                return fn(*args, **kwargs)
            finally:
                self.seconds[name] = self.seconds.get(name, 0.0) + time.perf_counter() - t0

        return timed


def profile(tagger, sentences, *, batch_size: int, top: int) -> dict:
    """Phase shares and the top operators of one ``predict`` call."""
    from torch.profiler import ProfilerActivity
    from torch.profiler import profile as torch_profile

    timer = PhaseTimer()
    tagger.features = timer.wrap("features", tagger.features)
    tagger.forward = timer.wrap("forward", tagger.forward)
    tagger.decode_sentence = timer.wrap("decode", tagger.decode_sentence)
    t0 = time.perf_counter()
    tagger.predict(sentences, batch_size=batch_size)
    total = time.perf_counter() - t0
    phases = dict(timer.seconds)
    phases["other (collate, batching, copies)"] = max(0.0, total - sum(phases.values()))
    with torch_profile(activities=[ProfilerActivity.CPU]) as prof:
        tagger.predict(sentences, batch_size=batch_size)
    events = sorted(prof.key_averages(), key=lambda e: e.self_cpu_time_total, reverse=True)
    all_self = sum(e.self_cpu_time_total for e in events) or 1.0
    ops = [
        {
            "op": e.key,
            "self_cpu_s": e.self_cpu_time_total / 1e6,
            "share": e.self_cpu_time_total / all_self,
            "calls": e.count,
        }
        for e in events[:top]
    ]
    return {"total_s": total, "phases_s": phases, "phase_share": {k: v / total for k, v in phases.items()}, "ops": ops}


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--model", required=True, help="A trained mrc-ner model directory.")
    p.add_argument(
        "--corpus",
        default=str(SHARED_DATA / "cbp_gold" / "documents"),
        help="Sentences (column files; default cbp_gold).",
    )
    p.add_argument("--sentences", type=int, default=300, help="How many sentences (default 300).")
    p.add_argument("--max-chars", type=int, default=500, help="Skip longer sentences (default 500, as extract_speed).")
    p.add_argument("--batch-size", type=int, default=32)
    p.add_argument("--quantize", default="none", help="none or int8.")
    p.add_argument("--threads", type=int, default=default_threads())
    p.add_argument("--top", type=int, default=12, help="Operators listed (default 12).")
    p.add_argument("--json-out", help="Write the figures here as JSON.")
    args = p.parse_args(argv)
    if not Path(args.model, "config.json").is_file():
        fail(f"--model must be a trained model directory, got {args.model!r}")
    threads = set_threads(args.threads)
    from mrc_ner.models.quantize import load_for_inference

    tagger = load_for_inference(args.model, quantize=args.quantize)
    sentences = select_sentences(args.corpus, args.sentences, args.max_chars)
    tagger.predict(sentences[:8], batch_size=args.batch_size)  # warm-up
    result = profile(tagger, sentences, batch_size=args.batch_size, top=args.top)
    machine = machine_info(threads)
    from rich.console import Console

    console = Console(width=160)
    console.print(
        rich_table(
            f"predict phases — {tagger.method}, {len(sentences)} sentences, {threads} threads, {result['total_s']:.1f} s",
            ["phase", "seconds", "share"],
            [[k, f"{v:.2f}", f"{result['phase_share'][k]:.1%}"] for k, v in result["phases_s"].items()],
        )
    )
    console.print(
        rich_table(
            "top operators (self CPU time, profiled pass)",
            ["operator", "calls", "self CPU (s)", "share"],
            [[o["op"], str(o["calls"]), f"{o['self_cpu_s']:.2f}", f"{o['share']:.1%}"] for o in result["ops"]],
        )
    )
    if args.json_out:
        write_json(
            args.json_out,
            {
                "benchmark": "profile_predict",
                "command": "python " + " ".join(shlex.quote(a) for a in sys.argv),
                "machine": machine,
                "method": tagger.method,
                "sentences": len(sentences),
                **result,
            },
        )
        print(f"figures → {args.json_out}")


if __name__ == "__main__":
    main()
