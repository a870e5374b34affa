"""What only MRC can do, measured: joint training over partly annotated corpora, and a new type.

Two experiments (issue 15), each a table of test F1 (P / R) and the training time:

``joint``
    Each corpus of ``--corpora`` (default NCBI-disease, BC2GM, BC5CDR-disease) annotates
    its own types. Rows:

    * ``single-mrc`` — one MRC model per corpus, scored on that corpus's test set;
    * ``joint-mrc`` — one MRC model on the union of the training sets, each sentence
      asked only its corpus's types (``Sentence.annotated_types``);
    * ``union-softmax`` — softmax on the same union, the naive way (missing types = ``O``);
    * ``single-softmax`` (optional) — one softmax model per corpus.

    Every test set is scored on its own corpus's types only.

``new-type``
    A base MRC model trained on ``--base`` (default NCBI-disease: Disease) is asked for
    a type it never saw (``--new-type`` of ``--new``, default BC2GM's GENE), on the new
    corpus's test set. Rows, for each size ``n`` of ``--sizes`` (default 50, 200):

    * ``zero-shot`` — the base model with a free-text ``--query`` (at the base model's
      dev-chosen threshold; the best threshold of a sweep on the *test* set is reported
      beside it as an oracle, marked as such);
    * ``mrc-init-from`` — the base model fine-tuned on the first ``n`` training sentences
      of the new corpus (``train --init-from``: it keeps the base type; its retention on
      the base test set is reported too);
    * ``softmax`` — softmax trained from scratch on the same ``n`` sentences;
    * ``mrc-scratch`` (optional) — MRC from scratch on the same ``n`` sentences.

Budget options (``--max-train``, ``--max-dev``, ``--max-test``, ``--epochs``,
``--max-steps``, ``--curve-epochs``) keep it within a CPU budget; the figures are only
comparable between rows of one run. Results are written after every cell to
``--json-out`` (default ``benchmarks/mrc_capabilities_<experiment>.json``) and a rerun
with the same file skips finished cells (``--fresh`` starts over).

    python bench/mrc_capabilities.py joint --max-train 2000 --max-test 1000 --epochs 2 --threads 2
    python bench/mrc_capabilities.py new-type --sizes 50,200 --max-test 1000 --threads 2
    python bench/mrc_capabilities.py joint --encoder TINY_DIR --max-train 40 --max-steps 5   # smoke test
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _harness import REPO, SHARED_DATA, fail, machine_info, rich_table, write_json

BIONER = SHARED_DATA / "bioner"
DEFAULT_QUERY = "Can you find the genes and gene products mentioned in the text?"


# --------------------------------------------------------------------------- data
def take(path: Path, n: int | None) -> list:
    """The first ``n`` non-blank sentences of a corpus file (all with None)."""
    from mrc_ner.corpus.readers import read_corpus

    sents = [s for s in read_corpus(path).sentences if s.text.strip()]
    return sents if n is None else sents[:n]


def corpus_sets(name: str, args) -> dict[str, list]:
    """train / dev / test sentences of one bioner corpus, within the budget."""
    root = Path(args.data) / name
    if not (root / "train.tsv").is_file():
        fail(f"{root}/train.tsv not found (--data is the folder holding the bioner corpora)")
    return {
        "train": take(root / "train.tsv", args.max_train),
        "dev": take(root / "devel.tsv", args.max_dev) if args.max_dev else [],
        "test": take(root / "test.tsv", args.max_test),
    }


def mark(sentences: Sequence, types: Sequence[str]) -> list:
    """Copies of the sentences recording ``types`` as their annotated types."""
    out = []
    for s in sentences:
        c = s.with_spans(s.spans)
        c.annotated_types = frozenset(types)
        out.append(c)
    return out


# --------------------------------------------------------------------------- training
def train_args(args, *, epochs: int | None = None, out_dir: Path | None = None):
    from mrc_ner.training import TrainArgs

    return TrainArgs(
        epochs=epochs or args.epochs,
        batch_size=args.batch_size,
        max_steps=args.max_steps,
        seed=args.seed,
        negative_ratio=args.negative_ratio,
        out_dir=str(out_dir) if out_dir else None,
        patience=args.epochs + 1,
    )


def new_tagger(method: str, train: Sequence, args, *, init_from: Path | None = None):
    """A tagger as ``mrc-ner train`` builds it (its types are those of ``train``; ``init_from``: a trained model's)."""
    from mrc_ner.models.building import build_tagger

    train = list(train)
    return build_tagger(
        method,
        args.encoder,
        sorted({sp.label for s in train for sp in s.spans}),
        train,
        align="auto",
        max_length=args.max_length,
        overlap=64,
        query_options={"query_kind": args.query_kind},
        seed=args.seed,
        init_from=init_from,
    )


def fit(tagger, train: Sequence, dev: Sequence, args, work: Path, name: str, *, epochs: int | None = None) -> float:
    """Train in place (best dev epoch kept); returns the seconds spent."""
    t0 = time.perf_counter()
    tagger.fit(
        list(train),
        list(dev) or None,
        train_args(args, epochs=epochs, out_dir=work / name),
        progress=False,
        log=lambda m: print(f"    {m}", file=sys.stderr),
    )
    return time.perf_counter() - t0


def score(tagger, test: Sequence, **settings) -> dict[str, Any]:
    """Micro P/R/F1 (each sentence on its annotated types) and the seconds spent."""
    t0 = time.perf_counter()
    micro = tagger.evaluate(list(test), **settings).micro
    return {
        "precision": micro.precision,
        "recall": micro.recall,
        "f1": micro.f1,
        "support": micro.support,
        "predicted": micro.predicted,
        "test_seconds": round(time.perf_counter() - t0, 2),
    }


class Results:
    """Cells of one experiment, kept in a JSON file after every cell (a rerun skips finished cells)."""

    def __init__(self, path: Path, config: dict[str, Any], fresh: bool) -> None:
        self.path, self.config = path, config
        old = json.loads(path.read_text(encoding="utf-8")) if path.is_file() and not fresh else {}
        self.cells: dict[str, Any] = old.get("cells", {}) if old.get("config") == config else {}

    def cell(self, key: str, compute: Callable[[], dict[str, Any]]) -> dict[str, Any]:
        if key not in self.cells:
            print(f"  {key} …", file=sys.stderr)
            self.cells[key] = compute()
            self.save()
        return self.cells[key]

    def save(self) -> None:
        write_json(
            self.path, {"config": self.config, "machine": machine_info(self.config["threads"]), "cells": self.cells}
        )


# --------------------------------------------------------------------------- joint
def run_joint(args, work: Path, results: Results) -> list[list[str]]:
    from mrc_ner.corpus.joint import corpus_types

    names = [c.strip() for c in args.corpora.split(",") if c.strip()]
    data = {n: corpus_sets(n, args) for n in names}
    types = {n: corpus_types(d["train"], d["dev"], d["test"]) for n, d in data.items()}
    marked = {n: {k: mark(v, types[n]) for k, v in d.items()} for n, d in data.items()}
    union_train = [s for n in names for s in marked[n]["train"]]
    union_dev = [s for n in names for s in marked[n]["dev"]]
    rows_wanted = [r.strip() for r in args.rows.split(",") if r.strip()]

    def union_cell(method: str) -> dict[str, Any]:
        tagger = new_tagger(method, union_train, args)
        seconds = fit(tagger, union_train, union_dev, args, work, f"union-{method}")
        return {
            "train_seconds": round(seconds, 1),
            "tests": {n: score(tagger, marked[n]["test"]) for n in names},
            "threshold": tagger.options.get("threshold"),
        }

    def single_cell(method: str, n: str) -> dict[str, Any]:
        d = data[n]
        tagger = new_tagger(method, d["train"], args)
        seconds = fit(tagger, d["train"], d["dev"], args, work, f"{n}-{method}")
        return {
            "train_seconds": round(seconds, 1),
            "tests": {n: score(tagger, d["test"])},
            "threshold": tagger.options.get("threshold"),
        }

    table = []
    for row in rows_wanted:
        if row in ("joint-mrc", "union-softmax"):
            method = "mrc" if row == "joint-mrc" else "softmax"
            cell = results.cell(row, lambda method=method: union_cell(method))
            tests, seconds = cell["tests"], cell["train_seconds"]
        elif row in ("single-mrc", "single-softmax"):
            method = row.split("-")[1]
            cells = {n: results.cell(f"{row}/{n}", lambda method=method, n=n: single_cell(method, n)) for n in names}
            tests = {n: cells[n]["tests"][n] for n in names}
            seconds = sum(c["train_seconds"] for c in cells.values())
        else:
            fail(f"unknown joint row {row!r}; choose joint-mrc, single-mrc, union-softmax, single-softmax")
        table.append([row] + [_f1(tests.get(n)) for n in names] + [f"{seconds:,.0f}"])
    return [["row"] + [f"{n} ({', '.join(types[n])})" for n in names] + ["train s"]] + table


def _f1(r: dict[str, Any] | None) -> str:
    if not r:
        return "—"
    return f"{100 * r['f1']:.2f} ({100 * r['precision']:.1f} / {100 * r['recall']:.1f})"


# --------------------------------------------------------------------------- new type
def run_new_type(args, work: Path, results: Results) -> list[list[str]]:
    from mrc_ner.corpus.joint import corpus_types
    from mrc_ner.models import load_tagger

    base, new = corpus_sets(args.base, args), corpus_sets(args.new, args)
    new_type = args.new_type
    base_types = corpus_types(base["train"], base["dev"], base["test"])
    if new_type in base_types:
        fail(f"--new-type {new_type} is already a type of the base corpus {args.base}")
    new_test = [s.with_spans([sp for sp in s.spans if sp.label == new_type]) for s in new["test"]]
    if not any(s.spans for s in new_test):
        fail(f"no {new_type} mention in the first {len(new_test)} test sentences of {args.new}")
    base_dir = work / "base-mrc"
    sizes = [int(x) for x in args.sizes.split(",") if x.strip()]
    pool = take(Path(args.data) / args.new / "train.tsv", max(sizes))
    rows_wanted = [r.strip() for r in args.rows.split(",") if r.strip()]

    def base_cell() -> dict[str, Any]:
        tagger = new_tagger("mrc", base["train"], args)
        seconds = fit(tagger, base["train"], base["dev"], args, work, "base-mrc")
        tagger.save(base_dir)
        return {
            "train_seconds": round(seconds, 1),
            "base_test": score(tagger, base["test"]),
            "threshold": tagger.options["threshold"],
        }

    base_info = results.cell("base", base_cell)
    if not (base_dir / "config.json").is_file():  # the cell is cached but the model is gone: train it again
        del results.cells["base"]
        base_info = results.cell("base", base_cell)

    def zero_shot() -> dict[str, Any]:
        tagger = load_tagger(base_dir)
        settings = {"types": [new_type], "queries": {new_type: args.query}}
        out = score(tagger, new_test, **settings)
        sweep = tagger.threshold_sweep(new_test, **settings)
        best = max(sweep, key=lambda r: r["f1"])
        return {
            **out,
            "threshold": tagger.options["threshold"],
            "oracle_threshold": best["threshold"],
            "oracle_f1": best["f1"],
            "sweep": sweep,
        }

    def init_from(n: int) -> dict[str, Any]:
        train = mark(pool[:n], [new_type])
        tagger = new_tagger("mrc", train, args, init_from=base_dir)
        seconds = fit(tagger, train, [], args, work, f"init-{n}", epochs=args.curve_epochs)
        return {
            "train_seconds": round(seconds, 1),
            "new_test": score(tagger, new_test, types=[new_type]),
            "base_test": score(tagger, base["test"], types=base_types),
            "labels": tagger.labels,
        }

    def scratch(method: str, n: int) -> dict[str, Any]:
        train = pool[:n]
        tagger = new_tagger(method, train, args)
        seconds = fit(tagger, train, [], args, work, f"{method}-{n}", epochs=args.curve_epochs)
        return {"train_seconds": round(seconds, 1), "new_test": score(tagger, new_test)}

    table = [
        [
            "base mrc",
            args.base,
            "—",
            _f1(base_info["base_test"]) + f" [{args.base}]",
            f"{base_info['train_seconds']:,.0f}",
        ]
    ]
    if "zero-shot" in rows_wanted:
        z = results.cell("zero-shot", zero_shot)
        table.append(
            [
                "zero-shot",
                f"query {args.query!r}",
                "0",
                _f1(z) + f"; oracle threshold {z['oracle_threshold']}: {100 * z['oracle_f1']:.2f}",
                "0",
            ]
        )
    for n in sizes:
        for row in rows_wanted:
            if row == "zero-shot":
                continue
            if row == "mrc-init-from":
                c = results.cell(f"mrc-init-from/{n}", lambda n=n: init_from(n))
                table.append(
                    [
                        row,
                        f"{args.base} → {new_type}",
                        str(n),
                        _f1(c["new_test"]) + f"; {args.base} kept: {100 * c['base_test']['f1']:.2f}",
                        f"{c['train_seconds']:,.0f}",
                    ]
                )
            elif row in ("softmax", "mrc-scratch"):
                method = "softmax" if row == "softmax" else "mrc"
                c = results.cell(f"{row}/{n}", lambda n=n, method=method: scratch(method, n))
                table.append([row, "from the encoder", str(n), _f1(c["new_test"]), f"{c['train_seconds']:,.0f}"])
            else:
                fail(f"unknown new-type row {row!r}; choose zero-shot, mrc-init-from, softmax, mrc-scratch")
    return [
        ["row", "starts from", f"{new_type} sents", f"F1 (P / R) on {args.new} test, {new_type} only", "train s"]
    ] + table


# --------------------------------------------------------------------------- main
def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter
    )
    p.add_argument("experiment", choices=("joint", "new-type"))
    p.add_argument("--data", default=str(BIONER), help="Folder of the bioner corpora (each with train/devel/test.tsv).")
    p.add_argument("--encoder", default="multilingual-e5-small")
    p.add_argument("--corpora", default="NCBI-disease,BC2GM,BC5CDR-disease", help="joint: the corpora.")
    p.add_argument(
        "--rows",
        default=None,
        help="joint: joint-mrc,single-mrc,union-softmax[,single-softmax]; new-type: zero-shot,mrc-init-from,softmax[,mrc-scratch].",
    )
    p.add_argument("--base", default="NCBI-disease", help="new-type: the base corpus.")
    p.add_argument("--new", default="BC2GM", help="new-type: the corpus of the new type.")
    p.add_argument("--new-type", default="GENE")
    p.add_argument("--query", default=DEFAULT_QUERY, help="new-type: the free-text question for the zero-shot row.")
    p.add_argument("--sizes", default="50,200", help="new-type: training sentences of the new type.")
    p.add_argument("--max-train", type=int, default=None, help="Training sentences per corpus (default all).")
    p.add_argument(
        "--max-dev",
        type=int,
        default=500,
        help="Dev sentences per corpus (0: no dev, the last epoch is kept and the threshold stays 0.5).",
    )
    p.add_argument("--max-test", type=int, default=None, help="Test sentences per corpus (default all).")
    p.add_argument("--epochs", type=int, default=3)
    p.add_argument("--curve-epochs", type=int, default=10, help="new-type: epochs on the 50 / 200 sentences.")
    p.add_argument(
        "--max-steps", type=int, default=None, help="Stop each training run after this many optimizer steps."
    )
    p.add_argument("--batch-size", type=int, default=16)
    p.add_argument("--max-length", type=int, default=256)
    p.add_argument("--negative-ratio", type=float, default=1.0)
    p.add_argument("--query-kind", default="examples")
    p.add_argument("--seed", type=int, default=42)
    p.add_argument("--threads", type=int, default=None)
    p.add_argument(
        "--work", default=None, help="Where the models go (default: a temporary folder, removed at the end)."
    )
    p.add_argument("--json-out", default=None)
    p.add_argument("--fresh", action="store_true", help="Ignore finished cells in --json-out.")
    args = p.parse_args(argv)
    if args.rows is None:
        args.rows = (
            "single-mrc,joint-mrc,union-softmax" if args.experiment == "joint" else "zero-shot,mrc-init-from,softmax"
        )
    return args


def main(argv: Sequence[str] | None = None) -> None:
    import torch
    from rich.console import Console

    from mrc_ner.errors import InputError

    args = parse_args(argv)
    threads = args.threads or torch.get_num_threads()
    torch.set_num_threads(threads)
    json_out = Path(args.json_out or REPO / "benchmarks" / f"mrc_capabilities_{args.experiment.replace('-', '_')}.json")
    config = {k: v for k, v in vars(args).items() if k not in ("work", "json_out", "fresh")} | {"threads": threads}
    results = Results(json_out, config, args.fresh)
    with tempfile.TemporaryDirectory(prefix="mrc-capabilities-") as tmp:
        work = Path(args.work) if args.work else Path(tmp)
        try:
            rows = run_joint(args, work, results) if args.experiment == "joint" else run_new_type(args, work, results)
        except InputError as e:
            fail(e.location_message())
    console = Console(highlight=False)
    title = (
        "joint training over partly annotated corpora: test F1 (P / R), each test set on its own types"
        if args.experiment == "joint"
        else f"a new type: {args.new_type} on {args.new} test"
    )
    console.print(rich_table(title, rows[0], rows[1:]))
    console.print(f"results in {json_out}")


if __name__ == "__main__":
    main()
