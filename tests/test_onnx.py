"""`mrc-ner export --format onnx` for every method: onnxruntime matches torch (outputs within 1e-4, same spans)."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from conftest import build_tiny_encoder
from typer.testing import CliRunner

from mrc_ner.cli import app
from mrc_ner.corpus.model import Sentence
from mrc_ner.models import load_tagger, tagger_class

runner = CliRunner()
LABELS = ["disease", "gene", "protein"]
METHODS = ["softmax", "crf", "partbert-crf", "bilstm-crf", "mrc", "mrc-packed"]


def run(*args):
    return runner.invoke(app, [str(a) for a in args], catch_exceptions=False)


@pytest.fixture(scope="module")
def one_layer_encoder(tmp_path_factory, sample_cbp_corpus, sample_en_corpus):
    """A one-layer tiny BERT (tracing cost grows with depth; one layer shows everything)."""
    texts = [s.text for s in sample_cbp_corpus.sentences + sample_en_corpus.sentences]
    texts += [
        "Can you detect gene protein disease entities like or ? none",
        "请找出文中的基因蛋白质疾病实体，例如或。：",
    ]
    return build_tiny_encoder(tmp_path_factory.mktemp("enc1"), texts, layers=1, max_positions=64)


def make_tagger(method: str, encoder, sentences):
    kw = {"train_sentences": sentences, "query_kind": "simple"} if method.startswith("mrc") else {}
    if method == "bilstm-crf":
        kw["options"] = {"lstm_hidden": 16, "lstm_layers": 2}
    tagger = tagger_class(method).create(str(encoder), LABELS, max_length=48, overlap=8, **kw)
    gen = torch.Generator().manual_seed(1)
    with torch.no_grad():  # heads far from zero, so the taggers find entities and a wrong graph would show
        for p in tagger.head_parameters():
            p.copy_(torch.randn(p.shape, generator=gen))
    return tagger.eval()


@pytest.fixture(scope="module")
def export_for(tmp_path_factory, one_layer_encoder, sample_cbp_corpus):
    """``export_for(method)`` → (method, saved model dir, ONNX dir), exported once through the CLI."""
    cache: dict[str, tuple] = {}

    def get(method: str):
        if method not in cache:
            root = tmp_path_factory.mktemp(method)
            model = make_tagger(method, one_layer_encoder, sample_cbp_corpus.sentences).save(root / "model")
            r = run("export", "--model", model, "--format", "onnx", "--out", root / "onnx")
            assert r.exit_code == 0, r.output
            assert "model.onnx" in r.output
            cache[method] = (method, model, root / "onnx")
        return cache[method]

    return get


def probe_sentences(sample_cbp_corpus, sample_en_corpus):
    long = Sentence.from_text("".join(s.text for s in sample_cbp_corpus.sentences[:4]))  # several windows
    return sample_cbp_corpus.sentences[:12] + [long, Sentence.from_text("")] + sample_en_corpus.sentences[:4]


@pytest.mark.slow
@pytest.mark.parametrize("method", METHODS)
def test_onnx_outputs_match_torch(method, export_for, sample_cbp_corpus, sample_en_corpus):
    from mrc_ner.models.onnx_tagger import load_onnx_tagger

    _, model, onnx_dir = export_for(method)
    tagger, ort_tagger = load_tagger(model), load_onnx_tagger(onnx_dir)
    feats, _ = tagger.features(probe_sentences(sample_cbp_corpus, sample_en_corpus), with_labels=False)
    assert len({len(f) for f in feats}) > 3
    for chunk in (feats, feats[:1], feats[5:9]):  # padded batches of other shapes than the traced one, and one row
        batch = tagger.collate(chunk)
        with torch.inference_mode():
            ours = {k: v.numpy() for k, v in tagger(batch).items()}
        theirs = ort_tagger.run(batch)
        assert (
            set(theirs)
            == set(ours)
            == ({"logits"} if "crf" in method or method == "softmax" else {"start_logits", "end_logits"})
        )
        mask = batch["attention_mask"].bool().numpy()
        for k in ours:
            assert theirs[k].shape == ours[k].shape
            assert np.abs(theirs[k][mask] - ours[k][mask]).max() <= 1e-4, k
    manifest = json.loads((onnx_dir / "mrc_ner_onnx.json").read_text())
    assert manifest["method"] == method and manifest["max_difference"] <= 1e-4


@pytest.mark.slow
@pytest.mark.parametrize("method", METHODS)
def test_onnx_decoded_spans_are_identical(method, export_for, sample_cbp_corpus, sample_en_corpus):
    from mrc_ner.models.onnx_tagger import load_onnx_tagger

    _, model, onnx_dir = export_for(method)
    sents = probe_sentences(sample_cbp_corpus, sample_en_corpus)
    ours = load_tagger(model).predict(sents, batch_size=5)
    theirs = load_onnx_tagger(onnx_dir).predict(sents, batch_size=7)
    assert sum(map(len, ours)) > 0, "the test model finds nothing; the comparison would be empty"
    assert theirs == ours
    assert [[round(s.score, 4) for s in p] for p in theirs] == [[round(s.score, 4) for s in p] for p in ours]
    assert theirs[13] == []  # the empty sentence


@pytest.mark.parametrize("method", METHODS)
def test_onnx_graph_has_dynamic_batch_and_sequence_axes(method, export_for):
    import onnx

    _, _, onnx_dir = export_for(method)
    graph = onnx.load(str(onnx_dir / "model.onnx")).graph
    names = [i.name for i in graph.input]
    assert names[:3] == ["input_ids", "attention_mask", "token_type_ids"]
    assert ("query_start" in names) == (method == "mrc-packed")
    for inp in graph.input:
        dims = inp.type.tensor_type.shape.dim
        assert all(d.dim_param and not d.dim_value for d in dims), (inp.name, dims)


def read_predictions(path):
    """Every line without the entities' scores, and the scores (written to 6 places; the last can differ)."""
    rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]
    scores = [e.pop("score") for row in rows for e in row["entities"]]
    return rows, np.array(scores)


@pytest.mark.slow
@pytest.mark.parametrize("method", ["crf", "mrc-packed"])  # the CLI path is the same for every method
def test_predict_cli_runs_onnx_backend(method, export_for, tmp_path, sample_cbp_corpus):
    from mrc_ner.corpus.conll import write_conll

    _, model, onnx_dir = export_for(method)
    gold = tmp_path / "gold.bio"
    write_conll(sample_cbp_corpus.documents[:1], gold)
    r = run("predict", gold, "--model", model, "--out", tmp_path / "torch.jsonl")
    assert r.exit_code == 0, r.output
    for extra in ([], ["--backend", "onnx"]):  # auto-detected, then explicit
        r = run("predict", gold, "--model", onnx_dir, "--out", tmp_path / "onnx.jsonl", *extra)
        assert r.exit_code == 0, r.output
        (rows, scores), (want_rows, want_scores) = (
            read_predictions(tmp_path / "onnx.jsonl"),
            read_predictions(tmp_path / "torch.jsonl"),
        )
        assert rows == want_rows and len(scores) > 0
        np.testing.assert_allclose(scores, want_scores, atol=1e-4, rtol=0)
    r = run("predict", gold, "--model", onnx_dir, "--out", tmp_path / "x.jsonl", "--backend", "torch")
    assert r.exit_code == 2 and "--backend onnx" in r.output
    r = run("predict", gold, "--model", onnx_dir, "--out", tmp_path / "x.jsonl", "--quantize", "int8")
    assert r.exit_code == 2 and "--quantize" in r.output
    r = run("predict", gold, "--model", model, "--out", tmp_path / "x.jsonl", "--backend", "tensorrt")
    assert r.exit_code == 2 and "--backend" in r.output
    r = run("predict", gold, "--model", model, "--out", tmp_path / "x.jsonl", "--backend", "onnx")
    assert r.exit_code == 2 and "no model.onnx" in r.output


def test_onnx_directory_card_and_autoconfig(export_for):
    from transformers import AutoConfig

    _, _, onnx_dir = export_for("softmax")
    card = (onnx_dir / "README.md").read_text(encoding="utf-8")
    assert card.startswith("---\n") and "library_name: mrc-ner" in card and "- onnx" in card
    assert AutoConfig.from_pretrained(str(onnx_dir)).hidden_size == 32
    assert {p.name for p in onnx_dir.iterdir()} >= {
        "model.onnx",
        "heads.safetensors",
        "config.json",
        "tokenizer.json",
        "mrc_ner_onnx.json",
    }


def test_export_onnx_refuses_to_overwrite_a_model(tmp_path, export_for):
    _, model, onnx_dir = export_for("softmax")
    other = tmp_path / "other"
    other.mkdir()
    (other / "config.json").write_text((model / "config.json").read_text())
    (other / "model.safetensors").write_bytes(b"")
    r = run("export", "--model", model, "--format", "onnx", "--out", other)
    assert r.exit_code == 2 and "holds an mrc-ner model" in r.output
    r = run("export", "--model", onnx_dir, "--format", "onnx", "--out", tmp_path / "again")
    assert r.exit_code == 2 and "no model.safetensors" in r.output


def test_unpacked_bilstm_equals_the_packed_one():
    from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

    from mrc_ner.export_onnx import UnpackedBiLSTM

    torch.manual_seed(0)
    lstm = torch.nn.LSTM(6, 5, num_layers=2, bidirectional=True, batch_first=True).eval()
    x = torch.randn(4, 9, 6)
    lengths = torch.tensor([9, 3, 1, 6])
    mask = (torch.arange(9)[None, :] < lengths[:, None]).long()
    with torch.no_grad():
        packed, _ = lstm(pack_padded_sequence(x, lengths, batch_first=True, enforce_sorted=False))
        want, _ = pad_packed_sequence(packed, batch_first=True, total_length=9)
        got = UnpackedBiLSTM(lstm)(x, mask)
    torch.testing.assert_close(got, want, atol=1e-6, rtol=0)


@pytest.mark.slow
def test_onnx_speed_benchmark_smoke(tmp_path, export_for):
    import os
    import subprocess
    import sys

    from conftest import REPO, SAMPLE_CBP

    _, model, onnx_dir = export_for("mrc")
    out = tmp_path / "speed.json"
    cmd = [
        sys.executable,
        str(REPO / "bench" / "onnx_speed.py"),
        "--model",
        str(model),
        "--onnx",
        str(onnx_dir),
        "--corpus",
        str(SAMPLE_CBP),
        "--sentences",
        "12",
        "--repeats",
        "1",
        "--warmup",
        "2",
        "--threads",
        "1",
        "--json-out",
        str(out),
    ]
    proc = subprocess.run(cmd, capture_output=True, text=True, env={**os.environ, "PYTHONPATH": str(REPO)}, timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "sentences/s" in proc.stdout and "onnx/torch:" in proc.stdout
    report = json.loads(out.read_text())
    assert set(report["backends"]) == {"torch", "onnx"} and report["settings"]["sentences"] == 12
    for r in report["backends"].values():
        assert r["sentences_per_s"] > 0 and r["threads"] == 1 and r["peak_rss_mb"] > 0
    assert report["identical_sentences"] == 1.0  # the two backends find the same spans
    assert report["ratio_onnx_vs_torch"] == round(
        report["backends"]["onnx"]["sentences_per_s"] / report["backends"]["torch"]["sentences_per_s"], 3
    )
