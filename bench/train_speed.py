"""Training speed per method: examples/s, tokens/s, peak RSS and where a step's time goes.

Every row of ``--methods`` runs in a fresh process of its own (peak RSS is its own,
see ``_harness.py``), on the same sentences, with the same seed and torch threads:

1. the tagger is built as ``mrc-ner compare`` builds it
   (:func:`mrc_ner.experiments.compare.cell_tagger`), on the first ``--sentences`` sentences
   of ``--corpus`` (MRC queries come from them);
2. training features with labels, negative sampling (``negative_ratio``) and the
   training loop's length-bucketed shuffled batches (``length_sorted_batches``);
3. the optimizer has :func:`mrc_ner.training.build_optimizer`'s parameter groups
   (encoder / head learning rates, no decay on biases and LayerNorm), as AdamW with
   ``fused=True`` or ``False`` (``--fused/--no-fused``);
4. ``--warmup-steps`` untimed steps, then ``--steps`` timed ones. A step is what
   :func:`mrc_ner.training.train_epoch` does on CPU without accelerate's wrapping:
   collate, forward (loss), backward, gradient clipping, optimizer step, zero grad.
   Each phase is timed.

Rows use ``compare``'s syntax, so one table can hold the costs worth knowing:
``mrc`` vs ``softmax`` (the price of one query per entity type),
``softmax:freeze_embeddings=false`` (the price of training the 96M-parameter embedding
matrix), ``softmax:bf16=true`` (bfloat16 autocast of the forward pass, as ``train --bf16``), ``softmax:fused=false`` (``fused`` is a key of this benchmark only), and any
:class:`~mrc_ner.training.TrainArgs` field (``mrc:negative_ratio=0.3``,
``crf:batch_size=8``) or method option (``mrc:query=simple``).

Figures: *examples* are training features — one window of a sentence, times the
number of entity types for MRC — so examples/s alone flatters MRC; *sentences/s* is
examples/s divided by features per sentence (how fast an epoch moves through the
data) and *epoch (s)* the estimated time of one pass over all features of the
selected sentences. Tokens/s counts non-padding tokens.

    python bench/train_speed.py --methods "softmax,mrc,crf" --threads 2 --json-out bench/results/train_speed.json
    python bench/train_speed.py --tiny --encoder TINY_ENCODER_DIR --corpus data/sample_cbp    # smoke-test sizes
"""

from __future__ import annotations

import argparse
import json
import shlex
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _harness import (
    SHARED_DATA,
    default_threads,
    dump_sentences,
    fail,
    fmt,
    import_modeling,
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

BENCH_KEYS = ("fused",)  # row keys this benchmark handles itself (not compare's)
TINY = {"sentences": 20, "steps": 3, "warmup_steps": 1, "batch_size": 4, "max_length": 64}
DEFAULTS = {"sentences": 1000, "steps": 20, "warmup_steps": 2, "batch_size": 16, "max_length": 256}
PHASES = ("collate", "forward", "backward", "optimizer")


#: the settings every worker gets and the report records
RUN_SETTINGS = (
    "encoder",
    "threads",
    "seed",
    "steps",
    "warmup_steps",
    "batch_size",
    "max_length",
    "freeze_embeddings",
    "fused",
    "negative_ratio",
)


def run_settings(args: argparse.Namespace) -> dict[str, Any]:
    """The :data:`RUN_SETTINGS` of the parsed command line."""
    return {k: getattr(args, k) for k in RUN_SETTINGS}


def split_row(text: str) -> tuple[str, dict[str, Any]]:
    """``"softmax:fused=false:head_lr=0.01"`` → (``"softmax:head_lr=0.01"``, ``{"fused": False}``)."""
    name, *parts = [p.strip() for p in text.split(":")]
    keep, own = [name], {}
    for part in parts:
        key, _, raw = part.partition("=")
        if key.strip() in BENCH_KEYS:
            try:
                own[key.strip()] = json.loads(raw.strip())
            except json.JSONDecodeError:
                own[key.strip()] = raw.strip()
        else:
            keep.append(part)
    return ":".join(keep), own


# --------------------------------------------------------------------------- worker side


def make_optimizer(tagger, args, fused: bool):
    """AdamW over :func:`build_optimizer`'s parameter groups, fused or not."""
    import torch

    from mrc_ner.training import build_optimizer

    groups = [
        {"params": g["params"], "lr": g["lr"], "weight_decay": g["weight_decay"]}
        for g in build_optimizer(tagger, args).param_groups
    ]
    if fused and "fused" not in torch.optim.AdamW.__init__.__code__.co_varnames:
        return torch.optim.AdamW(groups), False  # this torch has no fused AdamW
    return torch.optim.AdamW(groups, fused=fused), fused


def worker(spec: dict[str, Any]) -> None:
    threads = set_threads(spec["threads"])
    t0 = time.perf_counter()
    import torch

    from mrc_ner.encoding.batching import length_sorted_batches
    from mrc_ner.encoding.encoders import encoder_config
    from mrc_ner.experiments.compare import FoldData, Settings, cell_tagger, parse_method
    from mrc_ner.training import TrainArgs, prepare_for_training, sample_negatives, set_seed

    import_modeling(encoder_config(spec["encoder"]).model_type)
    import_seconds = time.perf_counter() - t0
    rss_after_imports = own_peak_rss_mb()

    sentences = load_sentences(spec["sentences_file"])
    method_text, own = split_row(spec["row"])
    method = parse_method(method_text)
    base = TrainArgs(
        batch_size=spec["batch_size"],
        freeze_embeddings=spec["freeze_embeddings"],
        negative_ratio=spec["negative_ratio"],
        seed=spec["seed"],
    )
    args = replace(base, **method.train)
    fused_wanted = bool(own.get("fused", spec["fused"]))
    settings = Settings(encoder=spec["encoder"], train=args, max_length=spec["max_length"])
    fold = FoldData("bench", sentences, [], [], spec["labels"])

    t0 = time.perf_counter()
    tagger = cell_tagger(method, fold, settings)
    build_seconds = time.perf_counter() - t0
    args = replace(args, **{**tagger.train_recipe, **method.train})  # hf-softmax trains with its own recipe
    set_seed(args.seed)
    prepare_for_training(tagger, args)
    t0 = time.perf_counter()
    all_feats, _ = tagger.features(sentences, with_labels=True)
    feats = sample_negatives(all_feats, args.negative_ratio, args.seed)
    features_seconds = time.perf_counter() - t0
    batches = length_sorted_batches(
        [len(f) for f in feats], args.batch_size, shuffle=True, seed=args.seed, max_tokens=args.max_tokens
    )
    optimizer, fused = make_optimizer(tagger, args, fused_wanted)

    tagger.train()
    warmup, steps = spec["warmup_steps"], spec["steps"]
    phase = dict.fromkeys(PHASES, 0.0)
    step_times, losses = [], []
    examples = tokens = padded = 0
    for i in range(warmup + steps):
        ta = time.perf_counter()
        batch = tagger.collate([feats[j] for j in batches[i % len(batches)]])
        tb = time.perf_counter()
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=args.bf16):  # as accelerate's mixed_precision="bf16"
            loss = tagger(batch)["loss"]
        tc = time.perf_counter()
        loss.backward()
        td = time.perf_counter()
        if args.max_grad_norm:
            torch.nn.utils.clip_grad_norm_(tagger.parameters(), args.max_grad_norm)
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)
        te = time.perf_counter()
        losses.append(float(loss.detach()))
        if i < warmup:
            continue
        for name, dt in zip(PHASES, (tb - ta, tc - tb, td - tc, te - td)):
            phase[name] += dt
        step_times.append(te - ta)
        examples += int(batch["input_ids"].shape[0])
        tokens += int(batch["attention_mask"].sum())
        padded += int(batch["input_ids"].numel())
    seconds = sum(step_times)
    per_sentence = len(feats) / len(sentences)
    examples_per_s = examples / seconds
    write_result(
        spec,
        {
            "row": spec["row"],
            "method": method.method,
            "torch_threads": threads,
            "sentences": len(sentences),
            "features": len(feats),
            "features_before_sampling": len(all_feats),
            "features_per_sentence": per_sentence,
            "batches_available": len(batches),
            "trainable_parameters": sum(p.numel() for p in tagger.parameters() if p.requires_grad),
            "parameters": sum(p.numel() for p in tagger.parameters()),
            "batch_size": args.batch_size,
            "freeze_embeddings": args.freeze_embeddings,
            "negative_ratio": args.negative_ratio,
            "bf16": args.bf16,
            "fused": fused,
            "fused_requested": fused_wanted,
            "warmup_steps": warmup,
            "steps": steps,
            "seconds": seconds,
            "step_seconds_median": median(step_times),
            "examples_per_s": examples_per_s,
            "tokens_per_s": tokens / seconds,
            "padded_tokens_per_s": padded / seconds,
            "sentences_per_s": examples_per_s / per_sentence,
            "epoch_seconds_estimate": len(feats) / examples_per_s,
            "phase_seconds": phase,
            "phase_share": {k: v / seconds for k, v in phase.items()},
            "loss_first": losses[0],
            "loss_last": losses[-1],
            "import_seconds": import_seconds,
            "rss_after_imports_mb": rss_after_imports,
            "build_seconds": build_seconds,
            "features_seconds": features_seconds,
        },
    )


# --------------------------------------------------------------------------- parent side


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    from mrc_ner.encoding.encoders import DEFAULT_ENCODER

    p = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter
    )
    p.add_argument("--encoder", default=DEFAULT_ENCODER, help="Encoder: a built-in name, a hub id or a directory.")
    p.add_argument(
        "--corpus", default=str(SHARED_DATA / "cbp_gold" / "documents"), help="Training sentences (column files)."
    )
    p.add_argument(
        "--sentences",
        type=int,
        default=None,
        help=f"Use the first N non-blank sentences (default {DEFAULTS['sentences']}).",
    )
    p.add_argument(
        "--methods",
        default="softmax,mrc,crf",
        help="Comma-separated rows in compare's syntax, plus the key fused=true/false.",
    )
    p.add_argument("--steps", type=int, default=None, help=f"Timed steps per method (default {DEFAULTS['steps']}).")
    p.add_argument(
        "--warmup-steps", type=int, default=None, help=f"Untimed steps first (default {DEFAULTS['warmup_steps']})."
    )
    p.add_argument(
        "--batch-size",
        type=int,
        default=None,
        help=f"Features per step (default {DEFAULTS['batch_size']}, as mrc-ner train).",
    )
    p.add_argument(
        "--max-length",
        type=int,
        default=None,
        help=f"Encoder input length (default {DEFAULTS['max_length']}, as mrc-ner train).",
    )
    p.add_argument(
        "--freeze-embeddings",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="Freeze the word embeddings (the training default).",
    )
    p.add_argument(
        "--fused",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="Fused AdamW (what build_optimizer uses when torch has it).",
    )
    p.add_argument(
        "--negative-ratio",
        type=float,
        default=1.0,
        help="Share of entity-free features kept (1 = all, the training default).",
    )
    p.add_argument(
        "--threads", type=int, default=default_threads(), help="torch threads (default: OMP_NUM_THREADS or all cores)."
    )
    p.add_argument("--seed", type=int, default=42)
    p.add_argument("--json-out", type=Path, help="Write the figures here as JSON.")
    p.add_argument("--timeout", type=float, default=None, help="Stop a method after this many seconds.")
    p.add_argument("--tiny", action="store_true", help=f"Smoke-test sizes: {TINY}.")
    p.add_argument("--worker", help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    for k, v in (TINY if args.tiny else DEFAULTS).items():
        if getattr(args, k) is None:
            setattr(args, k, v)
    return args


def check_rows(text: str) -> list[str]:
    """The rows of ``--methods``, each validated with compare's parser (bad input: exit 2)."""
    from mrc_ner.errors import InputError
    from mrc_ner.experiments.compare import parse_method

    rows = [t.strip() for t in text.split(",") if t.strip()]
    if not rows:
        fail("--methods is empty: name at least one method")
    if len(set(rows)) != len(rows):
        fail("a row is listed twice in --methods")
    for r in rows:
        method_text, own = split_row(r)
        try:
            spec = parse_method(method_text)
        except InputError as e:
            fail(e.location_message())
        if spec.continued_mlm:
            fail(
                f"{r}: lm-mixed trains softmax after masked-LM pretraining; benchmark softmax (pretraining is `mrc-ner pretrain`)"
            )
        if "fused" in own and not isinstance(own["fused"], bool):
            fail(f"{r}: fused must be true or false")
    return rows


def table(report: dict[str, Any]):
    headers = [
        "method",
        "feats/sent",
        "examples/s",
        "tokens/s",
        "sentences/s",
        "epoch (s)",
        "× first",
        "step (s)",
        "fwd / bwd / opt %",
        "trainable",
        "peak RSS (MB)",
    ]
    rows = []
    for name, r in report["methods"].items():
        share = r["phase_share"]
        split = f"{100 * share['forward']:.0f} / {100 * share['backward']:.0f} / {100 * share['optimizer']:.0f}"
        rows.append(
            [
                name,
                fmt(r["features_per_sentence"], 2),
                fmt(r["examples_per_s"]),
                fmt(r["tokens_per_s"], 0),
                fmt(r["sentences_per_s"]),
                fmt(r["epoch_seconds_estimate"], 1),
                fmt(report["ratios"]["epoch_time_vs_first"].get(name), 2) + "×",
                fmt(r["step_seconds_median"], 3),
                split,
                f"{r['trainable_parameters'] / 1e6:.1f}M",
                fmt(r["peak_rss_mb"], 0),
            ]
        )
    s = report["settings"]
    title = (
        f"training speed — {report['machine']['cpu']}, {s['threads']} torch threads, {s['steps']} steps after {s['warmup_steps']}, "
        f"batch {s['batch_size']}, max length {s['max_length']}, encoder {s['encoder']}"
    )
    return rich_table(title, headers, rows)


def main(argv: Sequence[str] | None = None) -> dict[str, Any] | None:
    args = parse_args(argv)
    if args.worker:
        worker(read_spec(args.worker))
        return None
    from rich.console import Console

    console = Console(stderr=True, highlight=False)
    machine = machine_info(args.threads)  # before the runs: its load average says whether others competed for the cores
    rows = check_rows(args.methods)
    if not Path(args.corpus).exists():
        fail(f"{args.corpus}: no such corpus")
    if min(args.steps, args.batch_size, args.sentences) < 1 or args.warmup_steps < 0:
        fail("--steps, --batch-size and --sentences must be at least 1, --warmup-steps at least 0")
    sentences = select_sentences(args.corpus, args.sentences)
    labels = sorted({sp.label for s in sentences for sp in s.spans})
    if not labels:
        fail(f"{args.corpus}: the first {args.sentences} sentences have no labelled mention")
    results: dict[str, Any] = {}
    failed: dict[str, str] = {}  # a row that fails or times out is reported, the others still measured
    with tempfile.TemporaryDirectory(prefix="mrc-ner-train-bench-") as tmp:
        file = Path(tmp) / "sentences.json"
        dump_sentences(sentences, file)
        console.print(
            f"{len(sentences)} sentences ({sum(len(s.text) for s in sentences):,} chars), types {', '.join(labels)}"
        )
        for row in rows:
            spec = {"row": row, "sentences_file": str(file), "labels": labels, **run_settings(args)}
            console.print(f"training {row} …")
            try:
                results[row] = run_worker(
                    Path(__file__).resolve(), spec, threads=args.threads, label=row, timeout=args.timeout
                )
            except RuntimeError as e:
                if row == rows[0]:
                    fail(f"{e}\n(the first row is the baseline of every ratio)")
                failed[row] = str(e)
                console.print(f"[red]{row} failed[/red]; the other rows go on")
    first = results[rows[0]]["epoch_seconds_estimate"]
    report = {
        "benchmark": "train_speed",
        "command": shlex.join(["python", "bench/train_speed.py", *(argv if argv is not None else sys.argv[1:])]),
        "machine": machine,
        "settings": {"corpus": args.corpus, "sentences": len(sentences), "types": labels, **run_settings(args)},
        "methods": results,
        "ratios": {
            "baseline": rows[0],
            "epoch_time_vs_first": {r: results[r]["epoch_seconds_estimate"] / first for r in results},
        },
        "failed": failed,
    }
    out = Console(highlight=False)
    if not out.is_terminal:
        out = Console(highlight=False, width=180)
    out.print(table(report))
    if args.json_out:
        write_json(args.json_out, report)
        console.print(f"figures → {args.json_out}")
    if failed:
        fail("rows that failed:\n" + "\n".join(f"{row}: {why}" for row, why in failed.items()))
    return report


if __name__ == "__main__":
    main()
