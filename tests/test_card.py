"""Saved model directories: Hugging Face card metadata and an encoder config AutoConfig can read."""

from __future__ import annotations

import json

import yaml

from mrc_ner.models import load_tagger, tagger_class

LABELS = ["disease", "gene", "protein"]
SCORES = {"micro": {"precision": 0.8123456, "recall": 0.7, "f1": 0.752, "support": 10, "predicted": 9, "correct": 7}}


def front_matter(card: str) -> dict:
    assert card.startswith("---\n")
    return yaml.safe_load(card.split("---\n")[1])


def test_card_front_matter_carries_hub_metadata(tmp_path, tiny_encoder, sample_cbp_corpus):
    mrc = tagger_class("mrc").create(
        str(tiny_encoder), LABELS, max_length=64, train_sentences=sample_cbp_corpus.sentences, query_kind="simple"
    )
    d = mrc.save(tmp_path / "mrc", extra_files={"dev_scores.json": SCORES, "training_args.json": {"epochs": 1}})
    meta = front_matter((d / "README.md").read_text(encoding="utf-8"))
    assert meta["library_name"] == "mrc-ner" and meta["language"] == ["zh"] and meta["license"] == "other"
    assert {"mrc-ner", "mrc", "token-classification"} <= set(meta["tags"]) and meta["metrics"] == [
        "precision",
        "recall",
        "f1",
    ]
    results = meta["model-index"][0]["results"][0]
    assert {m["type"]: m["value"] for m in results["metrics"]} == {"precision": 0.8123, "recall": 0.7, "f1": 0.752}
    # and the hub's own parser reads it
    from huggingface_hub import ModelCard

    card = ModelCard.load(d / "README.md")
    assert card.data.library_name == "mrc-ner"
    assert [(r.metric_type, r.metric_value) for r in card.data.eval_results] == [
        ("precision", 0.8123),
        ("recall", 0.7),
        ("f1", 0.752),
    ]


def test_card_without_scores_and_word_level_language(tmp_path, tiny_encoder):
    d = tagger_class("softmax").create(str(tiny_encoder), LABELS, max_length=64, align_mode="word").save(tmp_path / "s")
    meta = front_matter((d / "README.md").read_text(encoding="utf-8"))
    assert meta["language"] == ["en"] and "model-index" not in meta and "softmax" in meta["tags"]
    auto = (
        tagger_class("softmax").create(str(tiny_encoder), LABELS, max_length=64, align_mode="auto").save(tmp_path / "a")
    )
    assert "language" not in front_matter((auto / "README.md").read_text(encoding="utf-8"))  # unknown: left out


def test_autoconfig_reads_the_encoder_part_and_load_still_works(tmp_path, tiny_encoder):
    from transformers import AutoConfig, AutoModel

    tagger = tagger_class("crf").create(str(tiny_encoder), LABELS, max_length=64)
    d = tagger.save(tmp_path / "crf")
    cfg = AutoConfig.from_pretrained(str(d))
    enc = tagger.encoder.config
    assert type(cfg) is type(enc) and cfg.model_type == "bert"
    for key in ("hidden_size", "num_hidden_layers", "num_attention_heads", "vocab_size", "max_position_embeddings"):
        assert getattr(cfg, key) == getattr(enc, key), key
    assert AutoModel.from_config(cfg).config.hidden_size == enc.hidden_size  # a usable encoder config
    saved = json.loads((d / "config.json").read_text())
    assert (
        saved["method"] == "crf"
        and saved["max_length"] == 64
        and saved["encoder_config"]["hidden_size"] == enc.hidden_size
    )
    assert list(saved)[: len(tagger.config_dict())] == list(tagger.config_dict())  # ours first, then the encoder's
    back = load_tagger(d)
    assert back.method == "crf" and back.labels == LABELS and back.max_length == 64
    assert back.config_dict() == tagger.config_dict()
