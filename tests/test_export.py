"""`mrc-ner export --format hf`: a softmax tagger as a Hugging Face token-classification model; int8 quantization."""

from __future__ import annotations

import json

import pytest
import torch
from typer.testing import CliRunner

from mrc_ner.cli import app
from mrc_ner.corpus.model import Sentence
from mrc_ner.models import tagger_class

runner = CliRunner()
LABELS = ["disease", "gene", "protein"]


def run(*args):
    return runner.invoke(app, [str(a) for a in args], catch_exceptions=False)


@pytest.fixture(scope="module")
def softmax_dir(tmp_path_factory, tiny_encoder):
    tagger = tagger_class("softmax").create(str(tiny_encoder), LABELS, max_length=64, align_mode="word")
    with torch.no_grad():  # a head that is not near zero, so a wrong copy would show
        tagger.classifier.weight.normal_(0, 1.0)
        tagger.classifier.bias.normal_(0, 1.0)
    return tagger.save(tmp_path_factory.mktemp("softmax") / "model")


@pytest.fixture(scope="module")
def exported(tmp_path_factory, softmax_dir):
    out = tmp_path_factory.mktemp("export") / "hf"
    r = run("export", "--model", softmax_dir, "--format", "hf", "--out", out)
    assert r.exit_code == 0, r.output
    return out


def test_exported_logits_equal_the_taggers(exported, softmax_dir, sample_en_corpus, sample_cbp_corpus):
    from transformers import AutoModelForTokenClassification

    from mrc_ner.models import load_tagger

    tagger = load_tagger(softmax_dir)
    hf = AutoModelForTokenClassification.from_pretrained(str(exported)).eval()
    assert hf.config.id2label == dict(enumerate(tagger.tag_names))
    assert hf.config.label2id == {n: i for i, n in enumerate(tagger.tag_names)}
    feats, _ = tagger.features(sample_en_corpus.sentences + sample_cbp_corpus.sentences[:3], with_labels=False)
    batch = tagger.collate(feats[:8])  # padded: the attention mask matters too
    with torch.inference_mode():
        ours = tagger(batch)["logits"]
        theirs = hf(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"]).logits
    mask = batch["attention_mask"].bool()
    torch.testing.assert_close(theirs[mask], ours[mask], atol=1e-5, rtol=0)
    manifest = json.loads((exported / "mrc_ner_export.json").read_text())
    assert manifest["method"] == "softmax" and manifest["max_logit_difference"] <= 1e-5


def test_pipeline_loads_offline_and_finds_character_offsets(exported, monkeypatch):
    from transformers import pipeline

    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    ner = pipeline("token-classification", model=str(exported), aggregation_strategy="simple", device=-1)
    assert ner.tokenizer.model_max_length == 64
    text = "Germline mutations in BRCA1 cause breast cancer ."
    out = ner([text, "ovarian cancer"], batch_size=2)
    assert len(out) == 2
    labels = {"gene", "protein", "disease"}
    for sentence, ents in zip([text, "ovarian cancer"], out):
        for e in ents:
            assert e["entity_group"] in labels and 0 <= e["start"] < e["end"] <= len(sentence)


def test_export_refuses_mrc_and_crf(tmp_path, tiny_encoder, sample_cbp_corpus):
    mrc = tagger_class("mrc").create(
        str(tiny_encoder), LABELS, max_length=64, train_sentences=sample_cbp_corpus.sentences, query_kind="simple"
    )
    crf = tagger_class("crf").create(str(tiny_encoder), LABELS, max_length=64)
    for name, tagger in (("mrc", mrc), ("crf", crf)):
        src = tagger.save(tmp_path / name)
        r = run("export", "--model", src, "--out", tmp_path / f"{name}-hf")
        assert r.exit_code == 2, r.output
        assert "only softmax models" in r.output
        assert not (tmp_path / f"{name}-hf").exists()


def test_export_bad_format_and_missing_model(tmp_path, softmax_dir):
    r = run("export", "--model", softmax_dir, "--format", "tflite", "--out", tmp_path / "x")
    assert r.exit_code == 2 and "unknown export format" in r.output
    r = run("export", "--model", tmp_path / "nope", "--out", tmp_path / "y")
    assert r.exit_code == 2
    occupied = tmp_path / "occupied"
    occupied.mkdir()
    (occupied / "config.json").write_text((softmax_dir / "config.json").read_text())
    r = run("export", "--model", softmax_dir, "--out", occupied)  # never over another mrc-ner model
    assert r.exit_code == 2 and "holds an mrc-ner model" in r.output


def test_int8_quantized_tagger_predicts(tiny_encoder, sample_cbp_corpus):
    from mrc_ner.models.quantize import count_quantized, quantize_dynamic_int8

    tagger = tagger_class("mrc").create(
        str(tiny_encoder), LABELS, max_length=64, train_sentences=sample_cbp_corpus.sentences, query_kind="simple"
    )
    sents = sample_cbp_corpus.sentences[:4] + [Sentence.from_text("")]
    copy = quantize_dynamic_int8(tagger, inplace=False)
    assert count_quantized(tagger) == 0 and count_quantized(copy) > 0
    before = tagger.predict(sents)
    assert quantize_dynamic_int8(tagger) is tagger and count_quantized(tagger) == count_quantized(copy)
    after = tagger.predict(sents)
    assert len(after) == len(before) == len(sents) and after[-1] == []


@pytest.mark.slow
def test_quantize_option_of_predict_and_evaluate(tmp_path, tiny_encoder, sample_cbp_corpus):
    from mrc_ner.corpus.conll import write_conll
    from mrc_ner.models.quantize import QUANTIZE_CHOICES, load_for_inference

    tagger = tagger_class("mrc").create(
        str(tiny_encoder), LABELS, max_length=64, train_sentences=sample_cbp_corpus.sentences, query_kind="simple"
    )
    model = tagger.save(tmp_path / "m")
    gold = tmp_path / "gold.bio"
    write_conll(sample_cbp_corpus.documents[:1], gold)
    n = len(sample_cbp_corpus.documents[0].sentences)
    r = run("predict", gold, "--model", model, "--out", tmp_path / "p.jsonl", "--quantize", "int8")
    assert r.exit_code == 0, r.output
    lines = (tmp_path / "p.jsonl").read_text(encoding="utf-8").splitlines()
    assert len(lines) == n  # one output per input sentence
    r = run("evaluate", gold, "--model", model, "--quantize", "int8", "--json")
    assert r.exit_code == 0 and "micro" in json.loads(r.output)
    r = run("predict", gold, "--model", model, "--out", tmp_path / "p2.jsonl", "--quantize", "fp4")
    assert r.exit_code == 2 and "fp4" in r.output
    assert QUANTIZE_CHOICES == ("none", "int8", "bf16")
    with pytest.raises(Exception, match="CPU-only"):
        load_for_inference(model, quantize="int8", device="cuda")
    q = load_for_inference(model, quantize="int8")
    assert q.quantization == "int8" and q.head_digest() == tagger.head_digest()


@pytest.mark.slow
def test_bf16_option_runs_predict_under_bfloat16_autocast(tmp_path, tiny_encoder, sample_cbp_corpus):
    import torch

    from mrc_ner.models.quantize import load_for_inference

    tagger = tagger_class("mrc").create(
        str(tiny_encoder), LABELS, max_length=64, train_sentences=sample_cbp_corpus.sentences, query_kind="simple"
    )
    model = tagger.save(tmp_path / "m")
    sents = sample_cbp_corpus.sentences[:6]
    seen: dict[str, set] = {"float": set(), "bf16": set()}
    for kind in seen:
        q = load_for_inference(model, quantize="none" if kind == "float" else "bf16")
        hook = q.start_head.register_forward_hook(lambda m, i, o, kind=kind: seen[kind].add(o.dtype))
        spans = q.predict(sents, batch_size=4)
        hook.remove()
        assert len(spans) == len(sents)
    assert seen == {"float": {torch.float32}, "bf16": {torch.bfloat16}}
    assert q.quantization == "bf16" and q.head_digest() == tagger.head_digest()  # weights untouched: same digest
    assert q.start_head.weight.dtype == torch.float32
    gold = tmp_path / "gold.bio"
    from mrc_ner.corpus.conll import write_conll

    write_conll(sample_cbp_corpus.documents[:1], gold)
    r = run("predict", gold, "--model", model, "--out", tmp_path / "p.jsonl", "--quantize", "bf16")
    assert r.exit_code == 0, r.output
    assert len((tmp_path / "p.jsonl").read_text(encoding="utf-8").splitlines()) == len(
        sample_cbp_corpus.documents[0].sentences
    )
