"""The document formats through the CLI: predict --format / --input-format, stats, evaluate, train, extract."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pytest
from _cli import train_args
from conftest import REPO, random_softmax_model
from typer.testing import CliRunner

from mrc_ner.cli import app
from mrc_ner.corpus.documents import document_mentions
from mrc_ner.corpus.model import Span
from mrc_ner.corpus.readers import read_corpus
from mrc_ner.models.base import Tagger

runner = CliRunner()
DATA = REPO / "tests" / "data" / "formats"
INPUTS = {
    "brat": DATA / "brat",
    "pubtator": DATA / "two_docs.pubtator",
    "bioc-xml": DATA / "collection.bioc.xml",
    "bioc-json": DATA / "collection.bioc.json",
}
KNOWN = {
    "BRCA1": "gene",
    "SCN1A": "gene",
    "TP53": "gene",
    "IL-6": "gene",
    "PD-L1": "gene",
    "Dravet syndrome": "disease",
    "乳腺癌": "disease",
    "ovarian cancer": "disease",
}


def run(*args):
    return runner.invoke(app, [str(a) for a in args], catch_exceptions=False)


@pytest.fixture(scope="module")
def word_model(tmp_path_factory, tiny_encoder) -> Path:
    return random_softmax_model(
        tmp_path_factory.mktemp("fmt_model"), tiny_encoder, ["disease", "gene"], align_mode="word"
    )


@pytest.fixture()
def fake_predict(monkeypatch):
    """Tagger.predict finds the KNOWN mentions in each sentence (as whole strings)."""

    def predict(self, sentences, *, batch_size=32, progress=None):
        return [
            sorted(
                Span(m.start(), m.end(), label, 0.75)
                for mention, label in KNOWN.items()
                for m in re.finditer(re.escape(mention), s.text)
            )
            for s in sentences
        ]

    monkeypatch.setattr(Tagger, "predict", predict)


def expected(doc_text: str) -> list[tuple[int, int, str, str]]:
    """The KNOWN mentions of a document, as the fake predictor finds them (no mention crosses a sentence here)."""
    return sorted(
        (m.start(), m.end(), label, mention)
        for mention, label in KNOWN.items()
        for m in re.finditer(re.escape(mention), doc_text)
    )


def doc_mentions(doc) -> list[tuple[int, int, str, str]]:
    return [(sp.start, sp.end, sp.label, text) for sp, text in document_mentions(doc)]


OUTPUTS = {
    "brat": "pred_brat",
    "pubtator": "pred.pubtator",
    "bioc-xml": "pred.xml",
    "bioc-json": "pred.json",
    "jsonl": "pred.jsonl",
    "iob": "pred.bio",
}


@pytest.mark.parametrize("source", sorted(INPUTS))
@pytest.mark.parametrize("fmt", ["brat", "pubtator", "bioc-xml", "bioc-json"])
def test_predict_writes_document_formats_in_original_offsets(tmp_path, word_model, fake_predict, source, fmt):
    out = tmp_path / OUTPUTS[fmt]
    r = run("predict", INPUTS[source], "--model", word_model, "--out", out, "--format", fmt, "--discontinuous", "join")
    assert r.exit_code == 0, r.output
    inputs = {d.id: d for d in read_corpus(INPUTS[source], discontinuous="join")}
    outputs = {d.id: d for d in read_corpus(out, format=fmt)}
    assert set(outputs) == set(inputs)
    for did, d in inputs.items():
        got = outputs[did]
        assert doc_mentions(got) == expected(d.text)
        assert all(got.text[a:b] == t for a, b, _, t in doc_mentions(got))
        if fmt != "pubtator":  # PubTator flattens other line breaks into spaces (same offsets)
            assert got.text == d.text


@pytest.mark.parametrize("fmt", ["jsonl", "iob"])
def test_predict_sentence_formats_from_a_document_input(tmp_path, word_model, fake_predict, fmt):
    out = tmp_path / OUTPUTS[fmt]
    r = run("predict", INPUTS["pubtator"], "--model", word_model, "--out", out, "--format", fmt)
    assert r.exit_code == 0, r.output
    sents = read_corpus(INPUTS["pubtator"]).sentences
    if fmt == "jsonl":
        rows = [json.loads(x) for x in out.read_text(encoding="utf-8").splitlines()]
        assert [row["text"] for row in rows] == [s.text for s in sents]
        for row in rows:
            assert [(e["start"], e["end"], e["label"], e["text"]) for e in row["entities"]] == expected(row["text"])
    else:
        back = read_corpus(out).sentences  # word-level: the words joined by one space
        assert [s.words for s in back] == [s.words for s in sents]
        assert [[(s.mention(sp), sp.label) for sp in s.spans] for s in back] == [
            [(t, lab) for _, _, lab, t in expected(s.text)] for s in sents
        ]


def test_predict_with_the_real_model_keeps_offsets_exact(tmp_path, word_model):
    """Random predictions of the tiny model: whatever it finds spells its text at the original offsets."""
    out = tmp_path / "p.xml"
    r = run("predict", INPUTS["bioc-json"], "--model", word_model, "--out", out)  # .xml → BioC XML by suffix
    assert r.exit_code == 0, r.output
    for d in read_corpus(out):
        for a, b, _, t in doc_mentions(d):
            assert d.text[a:b] == t


def test_predict_input_format_override_and_bad_values(tmp_path, word_model, fake_predict):
    p = tmp_path / "abstracts.dat"
    p.write_bytes(INPUTS["pubtator"].read_bytes())
    r = run("predict", p, "--model", word_model, "--out", tmp_path / "o.pubtator", "--input-format", "pubtator")
    assert r.exit_code == 0, r.output
    assert [d.id for d in read_corpus(tmp_path / "o.pubtator")] == ["31415926", "27182818"]
    r = runner.invoke(
        app, ["predict", str(p), "--model", str(word_model), "--out", str(tmp_path / "o"), "--format", "html5"]
    )
    assert r.exit_code == 2 and "unknown output format 'html5'" in r.output
    r = runner.invoke(
        app, ["predict", str(INPUTS["brat"]), "--model", str(word_model), "--out", str(tmp_path / "o.jsonl")]
    )
    assert r.exit_code == 2 and "PMID-0001.ann:3: discontinuous mention T3" in r.output and "Traceback" not in r.output


@pytest.mark.parametrize("source", sorted(INPUTS))
def test_stats_on_each_format(source):
    r = run("stats", INPUTS[source], "--json", "--discontinuous", "skip")
    assert r.exit_code == 0, r.output
    stats = json.loads(r.stdout[r.stdout.index("{") :])
    corpus = read_corpus(INPUTS[source], discontinuous="skip")
    total = sum(len(s.spans) for s in corpus.sentences)
    expected_docs = {"brat": 1, "pubtator": 2, "bioc-xml": 2, "bioc-json": 2}[source]
    expected_mentions = {"brat": 5, "pubtator": 15, "bioc-xml": 10, "bioc-json": 10}[source]
    assert (
        (stats["documents"], sum(stats["mentions"].values()))
        == (len(corpus.documents), total)
        == (expected_docs, expected_mentions)
    )
    assert stats["sentences"] == len(corpus.sentences)


def test_stats_reports_skipped_discontinuous_mentions():
    r = run("stats", INPUTS["brat"], "--discontinuous", "skip")
    assert r.exit_code == 0
    assert "1 mention(s) left out" in r.output and "PMID-0001.ann:3: discontinuous T3 Disease" in r.output
    r = runner.invoke(app, ["stats", str(INPUTS["brat"])])
    assert r.exit_code == 2 and "PMID-0001.ann:3" in r.output


def test_evaluate_brat_against_brat_with_other_sentence_splits(tmp_path):
    """Gold joins two sentences that its discontinuous mention crosses … here: a prediction file of the same
    text whose mentions differ is scored per document when the sentence splits differ."""
    pred = tmp_path / "pred"
    pred.mkdir()
    shutil.copy(INPUTS["brat"] / "PMID-0001.txt", pred)
    text = (INPUTS["brat"] / "PMID-0001.txt").read_text(encoding="utf-8")
    a = text.index("(e.g.")
    b = text.index("Smith") + len("Smith")  # a mention over two sentences: the reader joins them
    (pred / "PMID-0001.ann").write_text(f"T1\tGene 8 13\tBRCA1\nT2\tGene {a} {b}\t{text[a:b]}\n", encoding="utf-8")
    r = run("evaluate", INPUTS["brat"], pred, "--json", "--discontinuous", "skip")
    assert r.exit_code == 0, r.output
    scores = json.loads(r.stdout[r.stdout.index("{") :])
    assert scores["micro"]["correct"] == 1 and scores["micro"]["predicted"] == 2 and scores["micro"]["support"] == 5


def test_train_on_brat_and_pubtator(tmp_path, tiny_encoder):
    out = tmp_path / "m"
    extra = ("--dev", INPUTS["brat"], "--discontinuous", "join")
    r = run(*train_args(INPUTS["pubtator"], tiny_encoder, out, *extra, method="softmax", max_length="32"))
    assert r.exit_code == 0, r.output
    cfg = json.loads((out / "config.json").read_text())
    assert cfg["align_mode"] == "word" and set(cfg["labels"]) >= {"Chemical", "Disease", "Gene"}


def test_extract_reads_document_formats_and_splits_english_sentences(tmp_path, word_model, fake_predict):
    out = tmp_path / "x"
    r = run("extract", INPUTS["pubtator"], "--model", word_model, "--out", out, "--no-network")
    assert r.exit_code == 0, r.output
    docs = {d.id: d for d in read_corpus(INPUTS["pubtator"])}
    rows = [json.loads(x) for x in (out / "entities.jsonl").read_text(encoding="utf-8").splitlines()]
    for row in rows:
        assert docs[row["doc"]].text[row["start"] : row["end"]] == row["text"]
    assert sorted((r["doc"], r["start"], r["end"]) for r in rows) == sorted(
        (d, a, b) for d, doc in docs.items() for a, b, _, _ in expected(doc.text)
    )
    done = [json.loads(line.split("\t", 1)[1]) for line in (out / "done.txt").read_text(encoding="utf-8").splitlines()]
    assert [d["sentences"] for d in done] == [len(doc.sentences) for doc in docs.values()]  # sentences, not lines


@pytest.mark.parametrize("fmt", ["brat", "pubtator", "bioc-xml", "bioc-json"])
def test_extract_export_in_original_offsets(tmp_path, word_model, fake_predict, fmt):
    raw = tmp_path / "raw"
    raw.mkdir()
    (raw / "note.txt").write_bytes(
        "BRCA1 and TP53 (e.g. in Fig. 2) were mutated.\r\n\r\n  Dravet syndrome, i.e. SCN1A loss, in São Paulo.\n".encode()
    )
    shutil.copy(INPUTS["pubtator"], raw / "abstracts.pubtator")
    out = tmp_path / "x"
    r = run("extract", raw, "--model", word_model, "--out", out, "--no-network", "--export", fmt)
    assert r.exit_code == 0, r.output
    rows = [json.loads(x) for x in (out / "entities.jsonl").read_text(encoding="utf-8").splitlines()]
    target = {
        "brat": out / "brat",
        "pubtator": out / "export.pubtator",
        "bioc-xml": out / "export.bioc.xml",
        "bioc-json": out / "export.bioc.json",
    }[fmt]
    assert target.name in r.output
    docs = {d.id: d for d in read_corpus(target, format=fmt)}
    assert set(docs) == {"note", "31415926", "27182818"}
    got = sorted((did, a, b, lab, t) for did, d in docs.items() for a, b, lab, t in doc_mentions(d))
    assert got == sorted((e["doc"], e["start"], e["end"], e["label"], e["text"]) for e in rows)
    assert ("note", 0, 5, "gene", "BRCA1") in got
    original = (raw / "note.txt").read_bytes().decode("utf-8")
    if fmt != "pubtator":
        assert docs["note"].text == original  # CRLF and leading spaces kept: offsets are the file's


def test_extract_export_rejects_unknown_formats(tmp_path, word_model):
    r = runner.invoke(
        app,
        [
            "extract",
            str(INPUTS["pubtator"]),
            "--model",
            str(word_model),
            "--out",
            str(tmp_path / "x"),
            "--export",
            "csv",
        ],
    )
    assert r.exit_code == 2 and "--export must be one of brat, pubtator, bioc-xml, bioc-json" in r.output
