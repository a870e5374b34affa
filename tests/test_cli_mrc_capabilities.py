"""CLI of the MRC capabilities: joint training, --init-from onto a new type, --types/--query, --nested, --threshold, --sweep."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from _cli import train_args
from conftest import REPO
from typer.testing import CliRunner

from mrc_ner.cli import app

runner = CliRunner()
NESTED = REPO / "tests" / "data" / "nested_genia.jsonl"

DISEASE = [
    ("Germline mutations predispose women to breast cancer .", [("breast", "cancer")]),
    ("Patients with ovarian cancer were studied .", [("ovarian", "cancer")]),
    ("The risk of colon cancer is high .", [("colon", "cancer")]),
    ("BRCA1 carriers often develop breast cancer .", [("breast", "cancer")]),
]
GENE = [
    ("BRCA1 is mutated in many families .", [("BRCA1",)]),
    ("Loss of TP53 was observed in breast cancer .", [("TP53",)]),
    ("We sequenced BRCA2 and TP53 .", [("BRCA2",), ("TP53",)]),
    ("Expression of MYC was high .", [("MYC",)]),
]


def run(*args):
    return runner.invoke(app, [str(a) for a in args], catch_exceptions=False)


def write_tsv(path: Path, rows, label: str) -> Path:
    lines = []
    for text, mentions in rows:
        words = text.split()
        tags = ["O"] * len(words)
        for m in mentions:
            i = next(k for k in range(len(words)) if words[k : k + len(m)] == list(m))
            tags[i] = f"B-{label}"
            for k in range(i + 1, i + len(m)):
                tags[k] = f"I-{label}"
        lines += [f"{w}\t{t}" for w, t in zip(words, tags)] + [""]
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def corpora(tmp_path_factory):
    root = tmp_path_factory.mktemp("corpora")
    return write_tsv(root / "disease" / "train.tsv", DISEASE, "Disease"), write_tsv(
        root / "gene" / "train.tsv", GENE, "Gene"
    )


SMALL_MRC = ("--query-kind", "simple", "--batch-size", "4")  # with train_args' one epoch and 48 tokens


@pytest.mark.parametrize("method", ["mrc", "mrc-packed"])
def test_joint_training_scores_each_corpus_on_its_own_types(tmp_path, tiny_encoder, corpora, method):
    disease, gene = corpora
    out = tmp_path / "joint"
    extra = ("--train", gene, "--dev", "0.25", "--test", disease, "--test", gene, *SMALL_MRC)
    r = run(*train_args(disease, tiny_encoder, out, *extra, method=method))
    assert r.exit_code == 0, r.output
    cfg = json.loads((out / "config.json").read_text())
    assert cfg["labels"] == ["Disease", "Gene"] and 0 < cfg["options"]["threshold"] < 1
    summary = json.loads((out / "run_summary.json").read_text())
    assert summary["types"] == {"disease": ["Disease"], "gene": ["Gene"]}
    assert set(summary["tests"]) == {"disease", "gene"}
    assert set(summary["tests"]["disease"]["per_type"]) <= {
        "Disease"
    }  # a gene predicted in NCBI-like text is not scored
    assert set(summary["tests"]["gene"]["per_type"]) <= {"Gene"}
    calibration = json.loads((out / "calibration.json").read_text())
    assert calibration["threshold"] == cfg["options"]["threshold"] and len(calibration["sweep"]) == 19


def test_joint_training_needs_one_test_per_train(tmp_path, tiny_encoder, corpora):
    disease, gene = corpora
    r = runner.invoke(
        app,
        [
            "train",
            "--train",
            str(disease),
            "--train",
            str(gene),
            "--test",
            str(disease),
            "--encoder",
            str(tiny_encoder),
            "--out",
            str(tmp_path / "o"),
        ],
    )
    assert r.exit_code == 2 and "once per --train" in r.output


def test_softmax_naive_union_trains_on_both(tmp_path, tiny_encoder, corpora):
    disease, gene = corpora
    out = tmp_path / "union"
    r = run(
        *train_args(disease, tiny_encoder, out, "--train", gene, "--test", disease, "--test", gene, method="softmax")
    )
    assert r.exit_code == 0, r.output
    assert json.loads((out / "config.json").read_text())["labels"] == ["Disease", "Gene"]
    r = run(
        "predict",
        SAMPLE_TXT(tmp_path),
        "--model",
        out,
        "--out",
        tmp_path / "p.jsonl",
        "--query",
        'Chemical="Which chemicals?"',
    )
    assert r.exit_code == 2 and "need an MRC model" in r.output


def SAMPLE_TXT(tmp_path: Path) -> Path:
    p = tmp_path / "in.txt"
    p.write_text("BRCA1 is mutated in breast cancer .\nTP53 loss .\n", encoding="utf-8")
    return p


def test_init_from_adds_a_new_type_and_predict_chooses_types(tmp_path, tiny_encoder, corpora):
    disease, gene = corpora
    first = tmp_path / "disease_only"
    r = run(*train_args(disease, tiny_encoder, first, *SMALL_MRC, "--max-steps", "1"))
    assert r.exit_code == 0, r.output
    assert json.loads((first / "config.json").read_text())["labels"] == ["Disease"]
    # zero-shot: ask the disease model for genes with a free-text question
    pred = tmp_path / "zero.jsonl"
    r = run(
        "predict",
        SAMPLE_TXT(tmp_path),
        "--model",
        first,
        "--out",
        pred,
        "--types",
        "Gene",
        "--query",
        'Gene="Which genes are mentioned?"',
        "--threshold",
        "0.01",
    )
    assert r.exit_code == 0, r.output
    rows = [json.loads(x) for x in pred.read_text().splitlines()]
    assert len(rows) == 2 and all(e["label"] == "Gene" for row in rows for e in row["entities"])
    assert any(row["entities"] for row in rows)  # threshold 0.01: the untrained heads fire somewhere
    r = run("predict", SAMPLE_TXT(tmp_path), "--model", first, "--out", pred, "--types", "Gene")
    assert r.exit_code == 2 and "not trained" in r.output
    # fine-tune onto the new type: the model keeps Disease and learns Gene
    second = tmp_path / "disease_gene"
    r = run(*train_args(gene, tiny_encoder, second, "--init-from", first, *SMALL_MRC, "--max-steps", "1"))
    assert r.exit_code == 0, r.output
    assert "kept from --init-from: Disease" in r.output
    cfg = json.loads((second / "config.json").read_text())
    old = json.loads((first / "config.json").read_text())
    assert (
        cfg["labels"] == ["Disease", "Gene"]
        and cfg["options"]["queries"]["Disease"] == old["options"]["queries"]["Disease"]
    )
    r = run(
        "predict", SAMPLE_TXT(tmp_path), "--model", second, "--out", pred, "--types", "Disease", "--threshold", "0.01"
    )
    assert r.exit_code == 0, r.output
    assert all(e["label"] == "Disease" for x in pred.read_text().splitlines() for e in json.loads(x)["entities"])


def test_threshold_sweep_and_nested_from_the_cli(tmp_path, tiny_encoder, corpora):
    disease, _ = corpora
    out = tmp_path / "m"
    r = run(*train_args(disease, tiny_encoder, out, *SMALL_MRC, "--max-steps", "1", "--no-calibrate"))
    assert r.exit_code == 0, r.output
    assert json.loads((out / "config.json").read_text())["options"]["threshold"] == 0.5
    r = run("evaluate", disease, "--model", out, "--sweep", "--json")
    assert r.exit_code == 0, r.output
    data = json.loads(r.output)
    rows = data["sweep"]
    assert data["saved_threshold"] == 0.5 and [x["threshold"] for x in rows][:2] == [0.05, 0.1]
    predicted = [x["predicted"] for x in rows]
    assert predicted == sorted(predicted, reverse=True)  # flat decoding: fewer mentions as the threshold rises
    r = run("evaluate", disease, "--model", out, "--sweep")
    assert r.exit_code == 0 and "threshold" in r.output
    low = run("evaluate", disease, "--model", out, "--json", "--threshold", "0.05", "--nested")
    assert low.exit_code == 0, low.output
    high = run("evaluate", disease, "--model", out, "--json", "--threshold", "0.95")
    assert json.loads(low.output)["micro"]["predicted"] >= json.loads(high.output)["micro"]["predicted"]
    r = run("evaluate", disease, disease, "--sweep")
    assert r.exit_code == 2 and "need --model" in r.output


def test_extract_takes_types_and_queries(tmp_path, tiny_encoder, corpora):
    disease, _ = corpora
    out = tmp_path / "m"
    r = run(*train_args(disease, tiny_encoder, out, *SMALL_MRC, "--max-steps", "1"))
    assert r.exit_code == 0, r.output
    ext = tmp_path / "ext"
    extract = ("extract", SAMPLE_TXT(tmp_path), "--model", out, "--out", ext, "--no-network", "--min-length", "1")
    r = run(*extract, "--types", "Gene", "--query", "Gene=Which genes?", "--threshold", "0.01")
    assert r.exit_code == 0, r.output
    ents = [json.loads(x) for x in (ext / "entities.jsonl").read_text().splitlines()]
    assert ents and {e["label"] for e in ents} == {"Gene"}
    r = run(*extract, "--types", "Disease")
    assert r.exit_code == 2 and "prediction differ" in r.output  # a resumed extract never mixes settings
    r = run("predict", SAMPLE_TXT(tmp_path), "--model", out, "--out", tmp_path / "p.bio", "--nested")
    assert r.exit_code == 2 and "JSONL" in r.output


def test_tiny_mrc_learns_nested_spans(tmp_path):
    """A tiny MRC model trained on the GENIA-style nested set outputs overlapping spans with --nested."""
    from conftest import build_tiny_encoder

    from mrc_ner.corpus import read_corpus
    from mrc_ner.evaluation import score_spans
    from mrc_ner.models import tagger_class
    from mrc_ner.training import TrainArgs

    sents = [word_sentence(s.text, spans=s.spans, id=s.id) for s in read_corpus(NESTED).sentences]
    assert any(a.overlaps(b) for s in sents for a in s.spans for b in s.spans if a != b)
    enc = build_tiny_encoder(
        tmp_path / "enc", [s.text for s in sents] + ["Can you detect DNA protein other_name entities like or ? none"]
    )
    t = tagger_class("mrc").create(
        str(enc),
        ["DNA", "other_name", "protein"],
        train_sentences=sents,
        query_kind="simple",
        max_length=64,
        align_mode="word",
    )
    t.fit(
        sents,
        None,
        TrainArgs(epochs=20, batch_size=8, head_lr=3e-2, encoder_lr=3e-3, seed=0, warmup_ratio=0.0),
        progress=False,
    )
    gold = [s.spans for s in sents]
    flat, nested = t.predict(sents), t.predict(sents, nested=True)
    assert not any(a.overlaps(b) for spans in flat for a in spans for b in spans if a != b)
    assert any(a.overlaps(b) for spans in nested for a in spans for b in spans if a != b)
    assert score_spans(gold, nested).micro.correct > score_spans(gold, flat).micro.correct


def word_sentence(*a, **k):
    from mrc_ner.corpus.model import word_sentence as ws

    return ws(*a, **k)


def test_compare_union_fold_runs_mrc_and_naive_softmax(tmp_path, tiny_encoder, corpora):
    """`compare --folds A,,A+B,,B`: one fold over both corpora; every row scored per corpus on its own types."""
    disease, gene = corpora
    out = tmp_path / "cmp"
    r = run(
        "compare",
        "--folds",
        f"{disease},,{disease}+{gene},,{gene}",
        "--methods",
        "mrc,softmax",
        "--encoder",
        tiny_encoder,
        "--out",
        out,
        "--epochs",
        "1",
        "--max-steps",
        "2",
        "--max-length",
        "48",
        "--query-kind",
        "simple",
        "--batch-size",
        "4",
    )
    assert r.exit_code == 0, r.output
    for method in ("mrc", "softmax"):
        result = json.loads((out / "cells" / "union" / method / "result.json").read_text())
        assert set(result["corpora"]) == {"disease", "gene"}
        assert set(result["corpora"]["disease"]["per_type"]) <= {"Disease"}
        assert set(result["corpora"]["gene"]["per_type"]) <= {"Gene"}
        assert (
            result["corpora"]["disease"]["micro"]["support"] == 4 and result["corpora"]["gene"]["micro"]["support"] == 5
        )
