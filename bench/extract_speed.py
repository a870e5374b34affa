"""Extraction speed: the Hugging Face token-classification pipeline vs ``mrc-ner predict``.

Same machine, same sentences, same torch thread count; each variant runs in a fresh
process of its own (so its peak RSS is its own, see ``_harness.py``):

a. ``hf-pipeline`` — ``transformers.pipeline("token-classification",
   aggregation_strategy="simple")`` on the softmax model exported with
   :func:`mrc_ner.export.export_hf`, at its best batch size among ``--batch-sizes``
   (1, 8, 32). Long inputs are strided (``stride``), not truncated, like our windows;
b. ``softmax`` — the same softmax model through :meth:`Tagger.predict`;
c. ``mrc`` — the MRC model through :meth:`Tagger.predict`;
d. ``mrc-int8`` — (c) after :func:`mrc_ner.models.quantize.quantize_dynamic_int8`
   (``--quantize int8``, the default; ``--quantize none`` skips it; ``softmax-int8`` is (b) so);
e. ``mrc-bf16`` — (c) under ``torch.autocast("cpu", dtype=torch.bfloat16)``, as
   ``--quantize bf16`` of ``mrc-ner predict`` / ``extract`` runs it (``--bf16``;
   off by default: it pays only on CPUs with fast bf16 matrix units; ``softmax-bf16`` is (b) so);
f. ``mrc-packed`` — a ``mrc-packed`` model (all type queries in one input, one encoder
   pass per window instead of one per type) through :meth:`Tagger.predict`, with
   ``--packed-model``; ``mrc-packed-int8`` and ``mrc-packed-bf16`` follow ``--quantize`` and
   ``--bf16`` as (d) and (e) do.

Method: per variant and sentence set, one warm-up pass (not timed) over the first
``--warmup`` sentences, then ``--repeats`` timed passes over all of them; the median
is reported. A timed pass goes from the sentence text to character spans
(tokenization, batching, model, decoding); loading the model is timed separately.

Sentences: the first ``--sentences`` sentences of ``--corpus`` that have 1 to
``--max-chars`` characters (longer ones are skipped, not cut, so gold mentions stay
whole), and the first ``--english-sentences`` of ``--english`` (``--english none``
skips that set). Every variant reads every set.

Quality: the strict micro F1 of each variant's predictions against the gold spans, so a
speed-up shows its cost. It is null when none of a set's gold types is one of the
model's types (a Chinese-patent model on NCBI-disease): give ``--english-softmax-model``
and ``--english-mrc-model`` to use English models on the English set.

Ratios: each variant's sentences/s divided by the pipeline's (> 1: faster).

    python bench/extract_speed.py --softmax-model SOFTMAX_DIR --mrc-model MRC_DIR --threads 2 --json-out bench/results/extract_speed.json
    python bench/extract_speed.py --tiny --softmax-model S --mrc-model M    # smoke-test sizes
"""

from __future__ import annotations

import argparse
import gc
import json
import shlex
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

BASELINE = "hf-pipeline"
LABELS = {
    "hf-pipeline": "a: HF token-classification pipeline on the exported softmax model",
    "softmax": "b: mrc-ner softmax, Tagger.predict",
    "softmax-int8": "b: mrc-ner softmax, int8 dynamic quantization",
    "softmax-bf16": "b: mrc-ner softmax under bf16 autocast",
    "mrc": "c: mrc-ner mrc, Tagger.predict",
    "mrc-int8": "d: mrc-ner mrc, Tagger.predict, int8 dynamic quantization",
    "mrc-bf16": "e: mrc-ner mrc, Tagger.predict under bf16 autocast",
    "mrc-packed": "f: mrc-ner mrc-packed (one pass for all types), Tagger.predict",
    "mrc-packed-int8": "f: mrc-ner mrc-packed, int8 dynamic quantization",
    "mrc-packed-bf16": "f: mrc-ner mrc-packed under bf16 autocast",
}
SHORT = {
    "hf-pipeline": "a hf-pipeline",
    "softmax": "b softmax",
    "softmax-int8": "b softmax-int8",
    "softmax-bf16": "b softmax-bf16",
    "mrc": "c mrc",
    "mrc-int8": "d mrc-int8",
    "mrc-bf16": "e mrc-bf16",
    "mrc-packed": "f mrc-packed",
    "mrc-packed-int8": "f mrc-packed-int8",
    "mrc-packed-bf16": "f mrc-packed-bf16",
}
TINY = {"sentences": 20, "english_sentences": 6, "repeats": 1, "warmup": 2, "batch_sizes": "1,8"}
DEFAULTS = {"sentences": 2000, "english_sentences": None, "repeats": 3, "warmup": 32, "batch_sizes": "1,8,32"}


# --------------------------------------------------------------------------- worker side


class PipelineRunner:
    """``transformers.pipeline("token-classification")`` over sentence texts."""

    def __init__(self, hf_dir: str, aggregation: str) -> None:
        from transformers import pipeline

        self.pipe = pipeline("token-classification", model=hf_dir, aggregation_strategy=aggregation, device=-1)
        tok = self.pipe.tokenizer
        manifest = Path(hf_dir) / "mrc_ner_export.json"
        overlap = json.loads(manifest.read_text(encoding="utf-8"))["overlap"] if manifest.is_file() else 64
        room = tok.model_max_length - tok.num_special_tokens_to_add()
        self.stride = max(1, min(int(overlap), room // 2))
        self.labels = {n.split("-", 1)[1] for n in self.pipe.model.config.id2label.values() if n != "O"}

    def predict(self, sentences: Sequence, batch_size: int) -> list[list]:
        texts = [s.text for s in sentences]
        outs = self.pipe(texts, batch_size=batch_size, stride=self.stride)
        return [_pipeline_spans(t, o) for t, o in zip(texts, outs)]

    def model_tokens(self, sentences: Sequence) -> tuple[int, int]:
        ids = self.pipe.tokenizer([s.text for s in sentences])["input_ids"]
        return sum(len(x) for x in ids), len(ids)


def _pipeline_spans(text: str, entities: list[dict]) -> list:
    """Pipeline entities → our spans (edges' whitespace trimmed: sentencepiece offsets can include it)."""
    from mrc_ner.corpus.model import Span

    out = []
    for e in entities:
        a, b = int(e["start"]), int(e["end"])
        while a < b and text[a].isspace():
            a += 1
        while b > a and text[b - 1].isspace():
            b -= 1
        if a < b:
            out.append(Span(a, b, e["entity_group"], float(e["score"])))
    return out


class TaggerRunner:
    """An mrc-ner tagger's :meth:`predict`, loaded as ``mrc-ner predict --quantize`` loads it (none, int8 or bf16)."""

    def __init__(self, model_dir: str, quantize: str = "none") -> None:
        from mrc_ner.models.quantize import load_for_inference

        self.tagger = load_for_inference(model_dir, quantize=quantize)
        self.labels = set(self.tagger.labels)

    def predict(self, sentences: Sequence, batch_size: int) -> list[list]:
        return self.tagger.predict(sentences, batch_size=batch_size)

    def model_tokens(self, sentences: Sequence) -> tuple[int, int]:
        feats, _ = self.tagger.features(sentences, with_labels=False)
        return sum(len(f) for f in feats), len(feats)


def preimport(variant: str, model: str) -> None:
    """Import what the variant needs, so that model loading times loading, not imports."""
    if variant == BASELINE:
        from transformers import pipeline  # noqa: F401
    else:
        import mrc_ner.models  # noqa: F401
    try:
        cfg = json.loads((Path(model) / "config.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return
    import_modeling(cfg.get("encoder_config", cfg).get("model_type", "bert"))


def make_runner(variant: str, model: str, spec: dict[str, Any]):
    if variant == BASELINE:
        return PipelineRunner(model, spec["aggregation"])
    return TaggerRunner(model, quantize=variant.rsplit("-", 1)[1] if variant.endswith(("-int8", "-bf16")) else "none")


def measure(runner, sentences: Sequence, batch_sizes: Sequence[int], repeats: int, warmup: int) -> dict[str, Any]:
    """Warm-up, then ``repeats`` timed passes per batch size; figures at the fastest batch size."""
    from mrc_ner.evaluation.metrics import score_spans

    by_bs: dict[int, list[float]] = {}
    best_bs, best_preds = None, None
    for bs in batch_sizes:
        runner.predict(sentences[: max(warmup, 2 * bs)], bs)
        times, preds = [], None
        for _ in range(repeats):
            t0 = time.perf_counter()
            preds = runner.predict(sentences, bs)
            times.append(time.perf_counter() - t0)
        by_bs[bs] = times
        if best_bs is None or median(times) < median(by_bs[best_bs]):
            best_bs, best_preds = bs, preds
    seconds = median(by_bs[best_bs])
    chars = sum(len(s.text) for s in sentences)
    tokens, inputs = runner.model_tokens(sentences)
    gold = [s.spans for s in sentences]
    gold_types = {sp.label for g in gold for sp in g}
    res: dict[str, Any] = {
        "sentences": len(sentences),
        "characters": chars,
        "batch_size": best_bs,
        "seconds": seconds,
        "runs": by_bs[best_bs],
        "by_batch_size": {str(b): median(t) for b, t in by_bs.items()},
        "sentences_per_s": len(sentences) / seconds,
        "chars_per_s": chars / seconds,
        "model_inputs": inputs,
        "model_tokens": tokens,
        "model_tokens_per_s": tokens / seconds,
        "predicted_mentions": sum(len(p) for p in best_preds),
    }
    if gold_types & runner.labels:
        micro = score_spans(gold, best_preds).micro
        res.update(micro_f1=micro.f1, precision=micro.precision, recall=micro.recall, f1_note="")
    else:
        res.update(
            micro_f1=None,
            precision=None,
            recall=None,
            f1_note=f"gold types {sorted(gold_types)} are not the model's {sorted(runner.labels)}",
        )
    return res


def worker(spec: dict[str, Any]) -> None:
    threads = set_threads(spec["threads"])
    import torch

    torch.manual_seed(0)
    variant = spec["variant"]
    runners: dict[str, Any] = {}
    sets: dict[str, Any] = {}
    load_seconds: dict[str, float] = {}
    t0 = time.perf_counter()
    preimport(variant, spec["jobs"][0]["model"])
    import_seconds = time.perf_counter() - t0
    rss_after_imports = own_peak_rss_mb()
    for job in spec["jobs"]:
        if job["model"] not in runners:
            runners.clear()
            gc.collect()
            t0 = time.perf_counter()
            runners[job["model"]] = make_runner(variant, job["model"], spec)
            load_seconds[job["model"]] = time.perf_counter() - t0
        runner = runners[job["model"]]
        batch_sizes = spec["batch_sizes"] if variant == BASELINE else [spec["predict_batch_size"]]
        sets[job["set"]] = measure(
            runner, load_sentences(job["sentences_file"]), batch_sizes, spec["repeats"], spec["warmup"]
        )
        sets[job["set"]]["model"] = job["model"]
    write_result(
        spec,
        {
            "variant": variant,
            "torch_threads": threads,
            "quantized_engine": torch.backends.quantized.engine if variant.endswith("-int8") else None,
            "import_seconds": import_seconds,
            "rss_after_imports_mb": rss_after_imports,
            "load_seconds": max(load_seconds.values()),
            "sets": sets,
        },
    )


# --------------------------------------------------------------------------- parent side


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter
    )
    p.add_argument("--softmax-model", help="Trained mrc-ner softmax model directory (exported for the pipeline too).")
    p.add_argument("--mrc-model", help="Trained mrc-ner MRC model directory.")
    p.add_argument(
        "--packed-model", help="Trained mrc-ner mrc-packed model directory: adds variant f (and its int8 / bf16 forms)."
    )
    p.add_argument(
        "--hf-model",
        help="An export of --softmax-model (mrc-ner export --format hf) for the pipeline; default: export it now.",
    )
    p.add_argument("--english-softmax-model", help="Softmax model for the English set (default: --softmax-model).")
    p.add_argument("--english-mrc-model", help="MRC model for the English set (default: --mrc-model).")
    p.add_argument("--english-packed-model", help="mrc-packed model for the English set (default: --packed-model).")
    p.add_argument(
        "--corpus", default=str(SHARED_DATA / "cbp_gold" / "documents"), help="The main sentence set (column files)."
    )
    p.add_argument(
        "--english",
        default=str(SHARED_DATA / "bioner" / "NCBI-disease" / "test.tsv"),
        help="The English set, or 'none'.",
    )
    p.add_argument(
        "--sentences", type=int, default=None, help=f"Sentences from --corpus (default {DEFAULTS['sentences']})."
    )
    p.add_argument(
        "--english-sentences", type=int, default=None, help="Sentences from --english (default: --sentences)."
    )
    p.add_argument("--max-chars", type=int, default=500, help="Skip sentences longer than this (characters).")
    p.add_argument(
        "--threads",
        type=int,
        default=default_threads(),
        help="torch threads in every variant (default: OMP_NUM_THREADS or all cores).",
    )
    p.add_argument(
        "--repeats",
        type=int,
        default=None,
        help=f"Timed passes per variant; the median is reported (default {DEFAULTS['repeats']}).",
    )
    p.add_argument(
        "--warmup",
        type=int,
        default=None,
        help=f"Sentences in the untimed warm-up pass (default {DEFAULTS['warmup']}).",
    )
    p.add_argument(
        "--batch-sizes",
        default=None,
        help=f"Pipeline batch sizes to try; the fastest is reported (default {DEFAULTS['batch_sizes']}).",
    )
    p.add_argument("--predict-batch-size", type=int, default=32, help="Tagger.predict batch size (features per batch).")
    p.add_argument("--aggregation", default="simple", help="The pipeline's aggregation_strategy.")
    p.add_argument(
        "--quantize",
        choices=("int8", "none"),
        default="int8",
        help="Add the int8 forms: softmax-int8, d (mrc-int8) and mrc-packed-int8 with --packed-model (none: skip them).",
    )
    p.add_argument(
        "--bf16",
        action="store_true",
        help="Add the bf16 autocast forms: softmax-bf16, e (mrc-bf16) and mrc-packed-bf16 with --packed-model.",
    )
    p.add_argument(
        "--variants",
        help="Run only these variants (comma-separated names, e.g. hf-pipeline,softmax,softmax-bf16); the pipeline is the baseline of every ratio.",
    )
    p.add_argument("--json-out", type=Path, help="Write the figures here as JSON.")
    p.add_argument("--timeout", type=float, default=None, help="Stop a variant after this many seconds.")
    p.add_argument("--tiny", action="store_true", help=f"Smoke-test sizes: {TINY}.")
    p.add_argument("--worker", help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    for k, v in (TINY if args.tiny else DEFAULTS).items():
        if getattr(args, k) is None:
            setattr(args, k, v)
    if args.english_sentences is None:
        args.english_sentences = args.sentences
    return args


def build_sets(args, tmp: Path) -> dict[str, dict[str, Any]]:
    sets = {}
    wanted = [("cbp", args.corpus, args.sentences, args.softmax_model, args.mrc_model, args.packed_model)]
    if args.english and args.english.lower() != "none":
        wanted.append(
            (
                "english",
                args.english,
                args.english_sentences,
                args.english_softmax_model or args.softmax_model,
                args.english_mrc_model or args.mrc_model,
                args.english_packed_model or args.packed_model,
            )
        )
    for name, path, n, softmax, mrc, packed in wanted:
        if not Path(path).exists():
            fail(f"{path}: no such corpus")
        sents = select_sentences(path, n, args.max_chars)
        if not sents:
            fail(f"{path}: no sentence of 1 to {args.max_chars} characters")
        file = tmp / f"{name}.json"
        dump_sentences(sents, file)
        sets[name] = {
            "source": str(path),
            "sentences": len(sents),
            "characters": sum(len(s.text) for s in sents),
            "file": str(file),
            "softmax_model": softmax,
            "mrc_model": mrc,
            "packed_model": packed,
        }
    return sets


def variant_names(*, quantize: str, bf16: bool, packed: bool, only: str | None = None) -> list[str]:
    """The variants to run, in table order: a, b and its forms, c, d, e, then f and its forms.

    ``only`` (comma-separated names) keeps a subset, in table order; an unknown name is an error.

    >>> variant_names(quantize="int8", bf16=True, packed=False)
    ['hf-pipeline', 'softmax', 'softmax-int8', 'softmax-bf16', 'mrc', 'mrc-int8', 'mrc-bf16']
    >>> variant_names(quantize="none", bf16=True, packed=True, only="softmax-bf16,hf-pipeline")
    ['hf-pipeline', 'softmax-bf16']
    """
    forms = [""] + (["-int8"] if quantize == "int8" else []) + (["-bf16"] if bf16 else [])
    names = [BASELINE] + [f"softmax{f}" for f in forms] + [f"mrc{f}" for f in forms]
    names += [f"mrc-packed{f}" for f in forms] if packed else []
    if only is None:
        return names
    wanted = [w.strip() for w in only.split(",") if w.strip()]
    unknown = [w for w in wanted if w not in names]
    if unknown or not wanted:
        raise ValueError(
            f"--variants {only!r}: choose among {', '.join(names)} (--quantize, --bf16 and --packed-model add forms)"
        )
    return [n for n in names if n in wanted]


def model_of(variant: str, set_info: dict[str, Any], hf_dirs: dict[str, str]) -> str:
    """The model directory a variant reads for one sentence set."""
    if variant == BASELINE:
        return hf_dirs[set_info["softmax_model"]]
    if variant.startswith("softmax"):
        return set_info["softmax_model"]
    return set_info["packed_model"] if variant.startswith("mrc-packed") else set_info["mrc_model"]


def export_for_pipeline(softmax_models: Sequence[str], tmp: Path, given: dict[str, str]) -> dict[str, str]:
    """Each distinct softmax model as a Hugging Face directory: ``given`` ones as they are, the others exported once."""
    out = dict(given)
    todo = [m for m in dict.fromkeys(softmax_models) if m not in out]
    if not todo:
        return out
    from mrc_ner.errors import InputError
    from mrc_ner.export import export_model

    for i, m in enumerate(todo):
        try:
            out[m] = str(export_model(m, tmp / f"hf-{i}").path)
        except InputError as e:
            fail(e.location_message())
    gc.collect()
    return out


def ratios(variants: dict[str, Any]) -> dict[str, dict[str, float]]:
    """Per set: each variant's sentences/s over the pipeline's."""
    base = variants.get(BASELINE)
    out: dict[str, dict[str, float]] = {}
    if base is None:
        return out
    for set_name, b in base["sets"].items():
        out[set_name] = {
            f"{v}/{BASELINE}": r["sets"][set_name]["sentences_per_s"] / b["sentences_per_s"]
            for v, r in variants.items()
            if v != BASELINE and set_name in r["sets"]
        }
    return out


def table(report: dict[str, Any]):
    headers = [
        "variant",
        "set",
        "batch",
        "sentences/s",
        "chars/s",
        "tokens/s",
        "× pipeline",
        "micro F1",
        "peak RSS (MB)",
        "load (s)",
    ]
    rows = []
    for v, r in report["variants"].items():
        for set_name, s in r["sets"].items():
            ratio = 1.0 if v == BASELINE else report["ratios"].get(set_name, {}).get(f"{v}/{BASELINE}")
            f1 = "—" if s["micro_f1"] is None else f"{100 * s['micro_f1']:.2f}"
            rows.append(
                [
                    SHORT[v],
                    set_name,
                    str(s["batch_size"]),
                    fmt(s["sentences_per_s"]),
                    fmt(s["chars_per_s"], 0),
                    fmt(s["model_tokens_per_s"], 0),
                    fmt(ratio, 2) + "×" if ratio is not None else "—",
                    f1,
                    fmt(r["peak_rss_mb"], 0),
                    fmt(r["load_seconds"], 1),
                ]
            )
    m = report["machine"]
    title = f"extraction speed — {m['cpu']}, {report['settings']['threads']} torch threads, median of {report['settings']['repeats']}"
    return rich_table(title, headers, rows)


def main(argv: Sequence[str] | None = None) -> dict[str, Any] | None:
    args = parse_args(argv)
    if args.worker:
        worker(read_spec(args.worker))
        return None
    if not args.softmax_model or not args.mrc_model:
        fail("--softmax-model and --mrc-model are required")
    for m in (
        args.softmax_model,
        args.mrc_model,
        args.packed_model,
        args.english_softmax_model,
        args.english_mrc_model,
        args.english_packed_model,
        args.hf_model,
    ):
        if m and not (Path(m) / "config.json").is_file():
            fail(f"{m}: not a model directory (no config.json)")
    from rich.console import Console

    console = Console(stderr=True, highlight=False)
    machine = machine_info(args.threads)  # before the runs: its load average says whether others competed for the cores
    try:
        batch_sizes = [int(b) for b in str(args.batch_sizes).split(",") if b.strip()]
    except ValueError:
        fail(f"--batch-sizes {args.batch_sizes!r}: expected comma-separated integers")
    if (
        not batch_sizes
        or min(batch_sizes + [args.repeats, args.sentences, args.predict_batch_size, args.max_chars]) < 1
        or args.warmup < 0
    ):
        fail(
            "--batch-sizes, --repeats, --sentences, --predict-batch-size and --max-chars must be at least 1, --warmup at least 0"
        )
    if args.english_packed_model and not args.packed_model:
        fail("--english-packed-model needs --packed-model")
    try:
        variants = variant_names(
            quantize=args.quantize, bf16=args.bf16, packed=bool(args.packed_model), only=args.variants
        )
    except ValueError as e:
        fail(str(e))
    results: dict[str, Any] = {}
    with tempfile.TemporaryDirectory(prefix="mrc-ner-extract-bench-") as tmp_name:
        tmp = Path(tmp_name)
        sets = build_sets(args, tmp)
        console.print(
            "sets: " + ", ".join(f"{k} {v['sentences']} sentences / {v['characters']:,} chars" for k, v in sets.items())
        )
        given = {args.softmax_model: args.hf_model} if args.hf_model else {}
        hf_dirs = export_for_pipeline([s["softmax_model"] for s in sets.values()], tmp, given)
        for v in variants:
            jobs = []
            for name, s in sets.items():
                jobs.append({"set": name, "model": model_of(v, s, hf_dirs), "sentences_file": s["file"]})
            spec = {
                "variant": v,
                "threads": args.threads,
                "repeats": args.repeats,
                "warmup": args.warmup,
                "batch_sizes": batch_sizes,
                "predict_batch_size": args.predict_batch_size,
                "aggregation": args.aggregation,
                "jobs": jobs,
            }
            console.print(f"running {LABELS[v]} …")
            try:
                results[v] = run_worker(
                    Path(__file__).resolve(), spec, threads=args.threads, label=v, timeout=args.timeout
                )
            except RuntimeError as e:
                fail(str(e))
            if v == BASELINE:  # an export made here lives in tmp: name its source instead
                for name, s in results[v]["sets"].items():
                    if not args.hf_model or sets[name]["softmax_model"] != args.softmax_model:
                        s["model"] = f"{sets[name]['softmax_model']} (exported)"
    report = {
        "benchmark": "extract_speed",
        "command": shlex.join(["python", "bench/extract_speed.py", *(argv if argv is not None else sys.argv[1:])]),
        "machine": machine,
        "settings": {
            "threads": args.threads,
            "repeats": args.repeats,
            "warmup": args.warmup,
            "pipeline_batch_sizes": batch_sizes,
            "predict_batch_size": args.predict_batch_size,
            "aggregation": args.aggregation,
            "max_chars": args.max_chars,
            "quantize": args.quantize,
            "bf16": args.bf16,
            "hf_model": args.hf_model,
            "packed_model": args.packed_model,
            "variants": variants,
        },
        "sets": {k: {kk: vv for kk, vv in v.items() if kk != "file"} for k, v in sets.items()},
        "variants": {v: {"label": LABELS[v], **r} for v, r in results.items()},
    }
    report["ratios"] = ratios(report["variants"])
    out = Console(highlight=False)
    if not out.is_terminal:
        out = Console(highlight=False, width=160)
    out.print(table(report))
    if args.json_out:
        write_json(args.json_out, report)
        console.print(f"figures → {args.json_out}")
    return report


if __name__ == "__main__":
    main()
