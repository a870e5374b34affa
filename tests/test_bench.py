"""Smoke tests of the benchmark scripts: they run end to end and write well-formed figures.

Tiny encoder, a few sentences, one repeat. Benchmarks never assert timings: only that
every variant ran, in a process of its own, and produced positive rates.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from types import SimpleNamespace

import pytest
from conftest import REPO, SAMPLE_CBP, SAMPLE_EN

LABELS = ["disease", "gene", "protein"]
SCORED_VARIANTS = (  # every extract_speed variant but the hf-pipeline reference
    "softmax",
    "softmax-int8",
    "softmax-bf16",
    "mrc",
    "mrc-int8",
    "mrc-bf16",
    "mrc-packed",
    "mrc-packed-int8",
    "mrc-packed-bf16",
)


def run_script(name: str, *args) -> subprocess.CompletedProcess:
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    cmd = [sys.executable, str(REPO / "bench" / name), *[str(a) for a in args]]
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env, cwd=REPO, timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return proc


def run_report(name: str, out, *args) -> tuple[str, dict]:
    """Run a benchmark script on one thread with ``--json-out out``: its stdout and the report it wrote."""
    proc = run_script(name, *args, "--threads", 1, "--json-out", out)
    return proc.stdout, json.loads(out.read_text())


@pytest.fixture(scope="module")
def models(tmp_path_factory, tiny_encoder, sample_cbp_corpus):
    from mrc_ner.models import tagger_class

    root = tmp_path_factory.mktemp("bench-models")
    softmax = tagger_class("softmax").create(str(tiny_encoder), LABELS, max_length=64).save(root / "softmax")
    mrc = (
        tagger_class("mrc")
        .create(
            str(tiny_encoder), LABELS, max_length=64, train_sentences=sample_cbp_corpus.sentences, query_kind="simple"
        )
        .save(root / "mrc")
    )
    packed = (
        tagger_class("mrc-packed")
        .create(
            str(tiny_encoder), LABELS, max_length=96, train_sentences=sample_cbp_corpus.sentences, query_kind="simple"
        )
        .save(root / "packed")
    )
    return softmax, mrc, packed


def test_extract_speed_smoke(tmp_path, models):
    from mrc_ner.export import export_model

    softmax, mrc, packed = models
    hf = export_model(softmax, tmp_path / "hf").path  # given, so the script's parent need not load torch
    given = ("--softmax-model", softmax, "--mrc-model", mrc, "--packed-model", packed, "--hf-model", hf)
    inputs = ("--corpus", SAMPLE_CBP, "--english", SAMPLE_EN)
    stdout, report = run_report("extract_speed.py", tmp_path / "extract.json", "--tiny", *given, *inputs, "--bf16")
    assert "sentences/s" in stdout
    assert set(report) >= {"machine", "settings", "sets", "variants", "ratios", "command"}
    assert report["machine"]["torch_threads"] == 1 and report["machine"]["torch"]
    assert report["sets"]["cbp"]["sentences"] == 20 and report["sets"]["english"]["sentences"] == 6
    assert set(report["variants"]) == {"hf-pipeline", *SCORED_VARIANTS}
    for v in report["variants"].values():
        assert v["peak_rss_mb"] >= v["rss_after_imports_mb"] > 0 and v["torch_threads"] == 1
        for set_name in ("cbp", "english"):
            s = v["sets"][set_name]
            assert s["sentences_per_s"] > 0 and s["chars_per_s"] > 0 and s["model_tokens_per_s"] > 0
            assert len(s["runs"]) == 1 and s["batch_size"] >= 1
    assert set(report["variants"]["hf-pipeline"]["sets"]["cbp"]["by_batch_size"]) == {"1", "8"}
    assert report["variants"]["mrc-packed"]["sets"]["cbp"]["model"] == str(packed)
    assert report["variants"]["softmax-bf16"]["sets"]["cbp"]["model"] == str(softmax)
    for v in SCORED_VARIANTS:
        assert 0 <= report["variants"][v]["sets"]["cbp"]["micro_f1"] <= 1  # same types as the gold: scored
        assert report["variants"][v]["sets"]["english"]["micro_f1"] is None  # gold "Disease" is not a model type
        assert report["ratios"]["cbp"][f"{v}/hf-pipeline"] > 0


def test_extract_speed_variant_selection():
    import doctest
    import importlib.util

    spec = importlib.util.spec_from_file_location("extract_speed_bench", REPO / "bench" / "extract_speed.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    result = doctest.testmod(mod)
    assert result.attempted >= 2 and result.failed == 0
    with pytest.raises(ValueError, match="mrc-packed"):
        mod.variant_names(quantize="none", bf16=False, packed=False, only="mrc-packed")  # needs --packed-model


def test_name_shapes_sorts_mentions_by_shape() -> None:
    import doctest
    import importlib.util

    sys.path.insert(0, str(REPO / "bench"))  # the script imports its neighbours
    spec = importlib.util.spec_from_file_location("name_shapes_bench", REPO / "bench" / "name_shapes.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    assert doctest.testmod(mod).attempted >= 1 and doctest.testmod(mod).failed == 0
    assert mod.shape_of("IL-6") == "capitals" and mod.shape_of("Wilms tumour") == "2-3 words"


def test_train_speed_smoke(tmp_path, tiny_encoder):
    rows = ["mrc", "crf", "softmax:fused=false"]
    args = ("--tiny", "--encoder", tiny_encoder, "--corpus", SAMPLE_CBP, "--methods", ",".join(rows))
    _, report = run_report("train_speed.py", tmp_path / "train.json", *args)
    assert set(report) >= {"machine", "settings", "methods", "ratios", "command"}
    assert list(report["methods"]) == rows and report["ratios"]["baseline"] == "mrc"
    for r in report["methods"].values():
        assert r["steps"] == 3 and r["examples_per_s"] > 0 and r["tokens_per_s"] > 0 and r["sentences_per_s"] > 0
        assert r["peak_rss_mb"] > 0 and r["epoch_seconds_estimate"] > 0
        assert abs(sum(r["phase_share"].values()) - 1) < 1e-6
    assert (
        report["methods"]["mrc"]["features_per_sentence"] > report["methods"]["crf"]["features_per_sentence"]
    )  # one query per type
    assert report["methods"]["crf"]["fused"] is True and report["methods"]["softmax:fused=false"]["fused"] is False


def test_train_speed_rejects_bad_rows(tiny_encoder):
    proc = subprocess.run(
        [
            sys.executable,
            str(REPO / "bench" / "train_speed.py"),
            "--tiny",
            "--encoder",
            str(tiny_encoder),
            "--corpus",
            str(SAMPLE_CBP),
            "--methods",
            "nope",
        ],
        capture_output=True,
        text=True,
        cwd=REPO,
        timeout=120,
    )
    assert proc.returncode == 2 and "unknown method" in proc.stderr


def test_train_speed_reports_the_other_rows_when_one_fails(tmp_path, tiny_encoder):
    rows = ["softmax", "mrc:query=nope", "crf"]  # the middle row fails inside its worker, building its tagger
    out = tmp_path / "train.json"
    cmd = [sys.executable, str(REPO / "bench" / "train_speed.py"), "--tiny", "--encoder", str(tiny_encoder)]
    cmd += ["--corpus", str(SAMPLE_CBP), "--methods", ",".join(rows), "--threads", "1", "--json-out", str(out)]
    proc = subprocess.run(cmd, capture_output=True, text=True, cwd=REPO, timeout=600)
    assert proc.returncode == 2 and "unknown query kind 'nope'" in proc.stderr
    report = json.loads(out.read_text())
    assert list(report["methods"]) == ["softmax", "crf"] and list(report["failed"]) == [rows[1]]
    assert "| crf " in proc.stdout.replace("│", "|")


def test_extract_memory_smoke(tmp_path, models):
    softmax, _, _ = models
    sizes = ("--sizes", "40,12", "--doc-sentences", 5, "--buffer-sentences", 8, "--sample-every", 0.2)
    args = ("--model", softmax, "--corpus", SAMPLE_CBP, *sizes, "--network")
    stdout, report = run_report("extract_memory.py", tmp_path / "memory.json", *args)
    assert "peak RSS" in stdout
    assert report["baseline"] == "12 sentences" and list(report["sizes"]) == ["12", "40"]
    for n, r in report["sizes"].items():
        assert r["sentences"] == int(n) and r["characters"] > 0 and r["samples"] and r["network"] is True
        assert r["peak_rss_mb"] >= r["rss_after_model_mb"] > 0 and r["x_smallest"] > 0
    assert report["sizes"]["12"]["x_smallest"] == 1.0


@pytest.mark.parametrize("which", [1, 2], ids=["mrc", "mrc-packed"])
def test_mrc_misses_accounts_for_every_gold_mention(tmp_path, models, which):
    """Every gold mention gets one outcome, and ``found`` is exactly the evaluator's correct count."""
    from mrc_ner.corpus.readers import read_corpus
    from mrc_ner.evaluation import score_spans
    from mrc_ner.models import load_tagger

    model = models[which]
    _, report = run_report("mrc_misses.py", tmp_path / "misses.json", "--model", model, "--test", SAMPLE_CBP)
    tagger = load_tagger(model)
    tagger.options["threshold"] = report["threshold"]
    test = read_corpus(SAMPLE_CBP).sentences
    scores = score_spans([s.spans for s in test], tagger.predict(test)).to_dict()
    assert report["predicted"] == scores["micro"]["predicted"]
    for label, t in report["per_type"].items():
        assert sum(t["outcomes"].values()) == t["mentions"] == scores["per_type"][label]["support"]
        assert t["outcomes"]["found"] == scores["per_type"][label]["correct"]
        assert 0 <= t["both_edges_above_floor"] <= t["mentions"]


def test_mrc_misses_sorts_one_mention_by_its_edges() -> None:
    sys.path.insert(0, str(REPO / "bench"))
    from mrc_misses import outcome

    probs = {"start_probs": [0.9, 0.2, 0.1], "end_probs": [0.1, 0.3, 0.8], "threshold": 0.5}
    found = {"decoded_same_type": False, "decoded_other_type": False}
    assert outcome(first=0, last=2, **probs, **found) == "edges fire, pairing lost"
    assert outcome(first=0, last=1, **probs, **found) == "start only"
    assert outcome(first=1, last=2, **probs, **found) == "end only"
    assert outcome(first=1, last=1, **probs, **found) == "neither"
    assert outcome(first=None, last=2, **probs, **found) == "not on unit edges"
    assert outcome(first=0, last=2, **probs, decoded_same_type=True, decoded_other_type=False) == "found"
    assert outcome(first=1, last=1, **probs, decoded_same_type=False, decoded_other_type=True) == "other type"
    assert outcome(first=0, last=2, start_probs=None, end_probs=None, threshold=0.5, **found) == "neither"


def test_mrc_misses_tally_counts_found_other_type_and_the_ceiling() -> None:
    """tally() on a stand-in tagger whose heads and decoding are fixed by hand."""
    import numpy as np

    sys.path.insert(0, str(REPO / "bench"))
    from mrc_misses import tally

    from mrc_ner.corpus.model import Sentence, Span

    text = "aa bb cc dd"  # units: aa bb cc dd
    gold = [Span(0, 2, "gene"), Span(3, 5, "gene"), Span(6, 8, "gene"), Span(9, 11, "protein")]
    sentence = Sentence(text=text, tokens=[(0, 2), (3, 5), (6, 8), (9, 11)], spans=gold, id="s")

    aligned = SimpleNamespace(units=[(0, 2), (3, 5), (6, 8), (9, 11)])

    class Tagger:
        def run_features(self, sentences, batch_size):
            return [aligned], [[]]

        def decode_outputs(self, aligned, outputs):
            return {"gene": (np.array([0.9, 0.9, 0.04, 0.9]), np.array([0.9, 0.2, 0.9, 0.1]))}

        def decode_probabilities(self, aligned, probs, threshold):
            return [Span(0, 2, "gene"), Span(9, 11, "gene")]

    report = tally(Tagger(), [sentence], threshold=0.5, floor=0.05)
    assert report["predicted"] == 2
    genes = report["per_type"]["gene"]
    assert genes["mentions"] == 3
    assert {k: v for k, v in genes["outcomes"].items() if v} == {"found": 1, "start only": 1, "end only": 1}
    assert genes["both_edges_above_floor"] == 2  # "cc" starts at 0.04
    assert report["per_type"]["protein"]["outcomes"]["other type"] == 1  # "dd" decoded as a gene
    assert report["per_type"]["protein"]["both_edges_above_floor"] == 0  # protein was not asked


def test_profile_predict_smoke(tmp_path, models):
    _, mrc, _ = models
    args = ("--model", mrc, "--corpus", SAMPLE_CBP, "--sentences", 10, "--top", 5)
    stdout, report = run_report("profile_predict.py", tmp_path / "profile.json", *args)
    assert "predict phases" in stdout
    assert report["sentences"] == 10 and report["method"] == "mrc" and len(report["ops"]) == 5
    assert set(report["phases_s"]) == {"features", "forward", "decode", "other (collate, batching, copies)"}
    assert abs(sum(report["phase_share"].values()) - 1.0) < 1e-6 and report["phases_s"]["forward"] > 0


def test_tables_rebuilds_committed_records() -> None:
    """bench/tables.py prints the BENCHMARKS.md tables from the committed records, to the digit."""
    runs = run_script("tables.py", REPO / "benchmarks" / "ncbi_slice300").stdout
    row = next(line for line in runs.splitlines() if line.startswith("| mrc_prior |"))
    assert row.endswith("| 2.90 | 15.27 |")
    cells = run_script("tables.py", REPO / "benchmarks" / "cbp_k5_e1").stdout
    row = next(line for line in cells.splitlines() if line.startswith("| softmax:align=mixed | 42.55"))
    assert "| 10.49 | 20.79 | 10.49 |" in row  # micro, macro, pooled micro F1


def test_tables_reads_only_the_asked_folds() -> None:
    """--runs: the report covers those folds' cells only (one fold here, so its row is that cell's score)."""
    out = run_script("tables.py", REPO / "benchmarks" / "cbp_k5_hf3", "--runs", "k5-2").stdout
    row = next(line for line in out.splitlines() if line.startswith("| hf-softmax | 47.18"))
    assert "| 32.16 |" in row and "| k5-1 |" not in out and "| k5-2 |" in out
    both = run_script("tables.py", REPO / "benchmarks" / "cbp_k5_hf3", "--runs", "k5-1,k5-2").stdout
    assert "| 36.38 ± 5.98 |" in next(line for line in both.splitlines() if line.startswith("| hf-softmax |"))
    proc = subprocess.run(
        [sys.executable, str(REPO / "bench" / "tables.py"), str(REPO / "benchmarks" / "cbp_k5_hf3"), "--runs", "k5-9"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode != 0 and "for runs k5-9" in proc.stderr


def test_tables_refuses_an_empty_set(tmp_path) -> None:
    proc = subprocess.run(
        [sys.executable, str(REPO / "bench" / "tables.py"), str(tmp_path)], capture_output=True, text=True, timeout=120
    )
    assert proc.returncode != 0 and "no run directories and no compare cells" in proc.stderr


def test_summary_reads_several_sets_and_marks_the_budget(tmp_path) -> None:
    """bench/summary.py: one row per set and method, mean ± std over seeds, pooled counts, how each run ended."""
    out = run_script(
        "summary.py", REPO / "benchmarks" / "ncbi_e5_conv", REPO / "benchmarks" / "bc2gm_minilm_conv"
    ).stdout
    rows = {tuple(cell.strip() for cell in line.split("|")[1:4]): line for line in out.splitlines()}
    mrc = rows[("ncbi_e5_conv", "multilingual-e5-small", "mrc")].replace("**", "")
    assert "| 3 | 85.26 ± 1.64 | 87.33 / 83.30 / 85.27 | 5 2 8 | ≤ 8 epochs: stopped 2, cap 1 |" in mrc
    softmax = rows[("bc2gm_minilm_conv", "all-minilm-l6-v2", "softmax")]
    # best epoch 7 of 8, patience 2: it reached the limit one epoch after its best, before patience ran out
    assert "| 1 | 72.67 | 69.75 / 75.86 / 72.67 | 7 | ≤ 8 epochs: past best 1 |" in softmax
    assert "| 1 | **76.41** |" in rows[("bc2gm_minilm_conv", "all-minilm-l6-v2", "mrc")]  # the set's best mean
    proc = subprocess.run(
        [sys.executable, str(REPO / "bench" / "summary.py"), str(tmp_path)], capture_output=True, text=True, timeout=120
    )
    assert proc.returncode != 0 and "no compare cells" in proc.stderr


def test_sets_joined_by_plus_take_the_first_sets_cells(tmp_path) -> None:
    """A+B: A's cells, then B's for the folds and methods A lacks; the label names both; a missing set fails."""

    cell = "mrc-packed_align=mixed.json"
    (tmp_path / "retrained" / "k5-1").mkdir(parents=True)
    for name in (cell, cell.replace(".json", ".train_log.jsonl")):
        shutil.copy(REPO / "benchmarks" / "cbp_k5_conv8" / "k5-1" / name, tmp_path / "retrained" / "k5-1" / name)
    joined = f"{tmp_path / 'retrained'}+{REPO / 'benchmarks' / 'cbp_k5_conv'}"
    rows = {
        tuple(c.strip() for c in line.split("|")[1:4]): line
        for line in run_script("summary.py", joined).stdout.splitlines()
    }
    packed = rows[("retrained+cbp_k5_conv", "multilingual-e5-small", "mrc-packed:align=mixed")]
    assert (
        "| 5 | **45.78 ± 13.11** |" in packed
        and "| 4 6 5 5 4 | ≤ 5/8 epochs: stopped 1, past best 2, cap 2 |" in packed
    )
    assert "| 5 | 37.89 ± 10.55 |" in rows[("retrained+cbp_k5_conv", "multilingual-e5-small", "softmax:align=char")]
    report = run_script("tables.py", joined).stdout
    assert "| mrc-packed:align=mixed | 58.87 ± 26.06 |" in report
    proc = subprocess.run(
        [sys.executable, str(REPO / "bench" / "summary.py"), f"{joined}+{tmp_path / 'absent'}"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 2 and "absent: no such set of records" in proc.stderr


def test_collect_cells_copies_finished_cells_only(tmp_path) -> None:
    """Finished cells' records (no weights) land in benchmarks/<set>/<fold>/, and tables.py reads them back."""
    committed = REPO / "benchmarks" / "cbp_k5_e1" / "k5-0" / "softmax_align=mixed.json"
    done = tmp_path / "run" / "cells" / "k5-0" / "softmax"
    done.mkdir(parents=True)
    (done / "result.json").write_bytes(committed.read_bytes())
    (done / "train_log.jsonl").write_text('{"epoch": 1}\n', encoding="utf-8")
    (done / "test_predictions.jsonl").write_text('{"id": "s1", "spans": []}\n', encoding="utf-8")
    (done / "model.safetensors").write_bytes(b"weights")
    half = tmp_path / "run" / "cells" / "k5-1" / "softmax"
    half.mkdir(parents=True)
    (half / "settings.json").write_text("{}", encoding="utf-8")
    dest = tmp_path / "set"
    run_script("collect_cells.py", tmp_path / "run", dest)
    assert sorted(p.relative_to(dest).as_posix() for p in dest.rglob("*") if p.is_file()) == [
        "k5-0/softmax.json",
        "k5-0/softmax.test_predictions.jsonl",
        "k5-0/softmax.train_log.jsonl",
    ]
    assert "| 10.49 (2975 s) |" in run_script("tables.py", dest).stdout


@pytest.mark.slow
def test_cell_memory_adds_records_to_old_cells_and_refuses_a_wrong_model(tmp_path, tiny_encoder) -> None:
    """An old cell (no memory, no spans) gets the same records a new cell writes; a mismatch writes nothing."""
    from mrc_ner.experiments import compare as cmp
    from mrc_ner.training import TrainArgs

    out = tmp_path / "run"
    folds = cmp.load_folds("k=3", SAMPLE_CBP, only=["k3-1"])
    settings = cmp.Settings(
        encoder=str(tiny_encoder), train=TrainArgs(epochs=1, max_steps=2, batch_size=8), max_length=32, overlap=4
    )
    cmp.run_comparison(folds, cmp.parse_methods("softmax"), settings, out)
    cell = cmp.cell_dir(out, "k3-1", "softmax")
    new = json.loads((cell / "result.json").read_text(encoding="utf-8"))
    spans = (cell / cmp.PREDICTIONS_NAME).read_text(encoding="utf-8")
    old = {k: v for k, v in new.items() if k != "memory"}
    (cell / "result.json").write_text(json.dumps(old), encoding="utf-8")
    (cell / cmp.PREDICTIONS_NAME).unlink()
    args = ("--corpus", SAMPLE_CBP, "--folds", "k=3", "--threads", "1")
    assert "memory and test spans added" in run_script("cell_memory.py", out, *args).stdout
    assert json.loads((cell / "result.json").read_text(encoding="utf-8")) == new
    assert (cell / cmp.PREDICTIONS_NAME).read_text(encoding="utf-8") == spans
    assert "already recorded" in run_script("cell_memory.py", out, *args).stdout
    wrong = {**old, "scores": {**old["scores"], "micro": {**old["scores"]["micro"], "f1": 0.123}}}
    (cell / "result.json").write_text(json.dumps(wrong), encoding="utf-8")
    proc = subprocess.run(
        [sys.executable, str(REPO / "bench" / "cell_memory.py"), out, *map(str, args)],
        capture_output=True,
        text=True,
        cwd=REPO,
    )
    assert proc.returncode != 0 and "recorded; not the model or fold" in proc.stderr
    assert "memory" not in json.loads((cell / "result.json").read_text(encoding="utf-8"))


@pytest.mark.slow
def test_restored_cells_let_compare_continue_elsewhere(tmp_path, tiny_encoder, monkeypatch) -> None:
    """collect_cells → restore_cells into a fresh --out: compare trains nothing again, reports the same, still checks settings."""
    from dataclasses import replace

    from mrc_ner.errors import InputError
    from mrc_ner.experiments import compare as cmp
    from mrc_ner.models.base import Tagger
    from mrc_ner.training import TrainArgs

    folds = cmp.load_folds("k=3", SAMPLE_CBP, only=["k3-2"])
    methods = cmp.parse_methods("softmax,crf")
    settings = cmp.Settings(
        encoder=str(tiny_encoder), train=TrainArgs(epochs=1, max_steps=2, batch_size=8), max_length=32, overlap=4
    )
    first = cmp.run_comparison(folds, methods, settings, tmp_path / "here", seeds=[42, 7])
    run_script("collect_cells.py", tmp_path / "here", tmp_path / "set")
    # the committed spans explain every gold mention, one category each, pooled per method
    breakdown = tmp_path / "breakdown.json"
    table = run_script(
        "error_breakdown.py", tmp_path / "set", "--corpus", SAMPLE_CBP, "--folds", "k=3", "--json-out", breakdown
    ).stdout
    assert "| softmax | " in table and "| crf | " in table
    pooled = json.loads(breakdown.read_text(encoding="utf-8"))
    assert pooled["softmax"]["folds"] == ["k3-2", "k3-2.seed7"]  # a seed's run is read against its fold
    for row in first.rows:
        for label, b in pooled[row.name]["breakdown"].items():
            assert b["correct"] == row.pooled.per_type[label].correct
            assert b["mentions"] == sum(
                b[k] for k in ("correct", "wrong_type", "boundary", "boundary_and_type", "missed")
            )
    # the same spans by memory and mention shape: every gold mention once, the found ones are the strict matches
    shapes = tmp_path / "shapes.json"
    table = run_script(
        "name_shapes.py", tmp_path / "set", "--corpus", SAMPLE_CBP, "--folds", "k=3", "--json-out", shapes
    ).stdout
    assert "| names | shape | mentions | crf: found / boundary / missed |" in table
    counts = json.loads(shapes.read_text(encoding="utf-8"))
    for row in first.rows:
        mine = counts[row.name]
        assert sum(mine.values()) == sum(b["mentions"] for b in pooled[row.name]["breakdown"].values())
        found = sum(n for key, n in mine.items() if key.endswith("/found"))
        assert found == sum(t.correct for t in row.pooled.per_type.values())
        assert {key.split("/")[0] for key in mine} <= {"seen", "new"}
    one_seed = tmp_path / "shapes-42.json"
    run_script(
        "name_shapes.py",
        tmp_path / "set",
        "--corpus",
        SAMPLE_CBP,
        "--folds",
        "k=3",
        "--runs",
        "k3-2",
        "--json-out",
        one_seed,
    )
    for method, mine in json.loads(one_seed.read_text(encoding="utf-8")).items():
        assert 2 * sum(mine.values()) == sum(counts[method].values())  # one of the two seeds' runs
    # the same spans rescored after the document-level rules: unchanged as predicted, one row per variant
    consistency = tmp_path / "consistency.json"
    table = run_script(
        "consistency.py", tmp_path / "set", "--corpus", SAMPLE_CBP, "--folds", "k=3", "--json-out", consistency
    ).stdout
    assert table.count("| softmax | ") == 4 and "| crf | retype + propagate |" in table
    variants = json.loads(consistency.read_text(encoding="utf-8"))
    for row in first.rows:
        mine = variants[row.name]
        assert mine["folds"] == ["k3-2", "k3-2.seed7"]
        assert mine["variants"]["as predicted"]["pooled"]["micro"] == row.pooled.micro.to_dict()
        assert mine["variants"]["as predicted"]["changes"] == [{}, {}]
        assert set(mine["variants"]["propagate"]["changes"][0]) == {"retyped", "added"}
    # the same spans tested pairwise: between methods, and one method between two sets (here identical)
    fold_args = ("--corpus", SAMPLE_CBP, "--folds", "k=3")
    table = run_script("significance.py", tmp_path / "set", *fold_args).stdout
    assert re.search(r"\| (softmax − crf|crf − softmax) \| 2 \| ", table)
    shutil.copytree(tmp_path / "set", tmp_path / "again")
    table = run_script(
        "significance.py", tmp_path / "set", tmp_path / "again", *fold_args, "--methods", "softmax", "--runs", "k3-2"
    ).stdout
    assert "| softmax (set) − softmax (again) | 1 | 0 | " in table and "| +0.00 [0.00, 0.00] |" in table
    elsewhere = tmp_path / "elsewhere"
    out = run_script("restore_cells.py", tmp_path / "set", elsewhere).stdout
    assert out.count("restored ") == 4
    assert "kept " in run_script("restore_cells.py", tmp_path / "set", elsewhere).stdout  # never overwritten
    cell = cmp.cell_dir(elsewhere, "k3-2", "softmax")
    assert sorted(p.name for p in cell.iterdir()) == [
        "result.json",
        "settings.json",
        "test_predictions.jsonl",
        "train_log.jsonl",
    ]

    def no_training(self, *a, **kw):
        raise AssertionError("a restored cell was trained again")

    monkeypatch.setattr(Tagger, "fit", no_training)
    again = cmp.run_comparison(folds, methods, settings, elsewhere, seeds=[42, 7])
    assert cmp.markdown(again) == cmp.markdown(first)
    with pytest.raises(InputError, match="other settings"):
        cmp.run_comparison(folds, methods, replace(settings, max_length=64), elsewhere)


def test_factors_marks_time_ratios_that_compare_machines(tmp_path) -> None:
    """The training-time ratio is plain only when every pair of cells recorded one CPU and thread count."""
    root = tmp_path / "sets"
    base_name, changed_name = (
        "softmax:align=char:attention_dropout=0",
        "softmax:align=char:attention_dropout=0:schedule=constant",
    )
    for fold in ("k5-0", "k5-1"):
        (root / "s" / fold).mkdir(parents=True)
        for name in (base_name, changed_name):
            slug = name.replace(":", "_")
            shutil.copy(REPO / "benchmarks" / "cbp_k5_e1" / fold / f"{slug}.json", root / "s" / fold / f"{slug}.json")
    factors = tmp_path / "factors.json"
    factors.write_text(
        json.dumps(
            {"rows": [{"factor": "f", "budget": "1", "base": ["s", base_name], "changed": ["s", changed_name]}]}
        ),
        encoding="utf-8",
    )

    def ratio_cell(machines: dict[tuple[str, str], dict | None]) -> str:
        for (fold, name), machine in machines.items():
            path = root / "s" / fold / f"{name.replace(':', '_')}.json"
            cell = json.loads(path.read_text(encoding="utf-8"))
            cell.pop("machine", None)
            if machine is not None:
                cell["machine"] = machine
            path.write_text(json.dumps(cell), encoding="utf-8")
        return run_script("factors.py", factors, "--root", root).stdout.splitlines()[2].rstrip(" |").rsplit("| ", 1)[1]

    one, other = {"cpu": "A", "torch_threads": 2}, {"cpu": "B", "torch_threads": 2}
    everywhere = {(f, n): one for f in ("k5-0", "k5-1") for n in (base_name, changed_name)}
    assert re.fullmatch(r"\d+\.\d\d", ratio_cell(everywhere))
    assert ratio_cell({**everywhere, ("k5-1", changed_name): None}).endswith("*")
    assert ratio_cell({**everywhere, ("k5-1", changed_name): other}).endswith("†")
    assert ratio_cell({**everywhere, ("k5-0", base_name): {**one, "torch_threads": 1}}).endswith("†")


def test_factors_pairs_two_rows_over_their_common_folds(tmp_path) -> None:
    """bench/factors.py: per factor, both rows' mean ± std, the paired difference and t-test, pooled F1; bad rows fail by name."""
    factors = tmp_path / "factors.json"

    def write_factors(*rows: tuple[str, str, list[str], list[str]]) -> None:
        keys = ("factor", "budget", "base", "changed")
        factors.write_text(json.dumps({"rows": [dict(zip(keys, row)) for row in rows]}), encoding="utf-8")

    write_factors(
        (
            "epochs",
            "1 → ≤ 5 epochs",
            ["cbp_k5_e1", "softmax:align=char:attention_dropout=0"],
            ["cbp_k5_conv", "softmax:align=char"],
        ),
        (
            "cap",
            "≤ 5 → ≤ 8 epochs",
            ["cbp_k5_conv", "mrc-packed:align=mixed"],
            ["cbp_k5_conv8", "mrc-packed:align=mixed"],
        ),
    )
    lines = run_script("factors.py", factors).stdout.splitlines()
    assert len(lines) == 4 and lines[0].startswith("| factor |")
    # five folds; 1-epoch test micro F1 16.56 26.18 7.49 27.77 28.47 against 24.92 49.91 29.52 39.48 45.62
    assert (
        "| 5 · 1 → ≤ 5 epochs | 21.30 ± 9.09 | 37.89 ± 10.55 | +16.60 ± 6.57 (0.005) | 5 of 5 | 18.03 → 35.55 |"
        in lines[2]
    )
    # only the three folds retrained to 8 epochs are paired, and the loss keeps its true minus sign
    assert (
        "| 3 · ≤ 5 → ≤ 8 epochs | 50.13 ± 14.45 | 49.33 ± 14.36 | −0.80 ± 4.88 (0.804) | 2 of 3 | 47.24 → 46.57 |"
        in lines[3]
    )
    write_factors(("x", "1", ["cbp_k5_e1", "hf-softmax"], ["cbp_k5_e1", "nope"]))
    proc = subprocess.run(
        [sys.executable, str(REPO / "bench" / "factors.py"), str(factors)], capture_output=True, text=True, timeout=120
    )
    assert proc.returncode != 0 and "row 1 (x): no committed cells of 'nope' in cbp_k5_e1" in proc.stderr
