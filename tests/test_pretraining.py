"""Continued masked-LM pretraining on a tiny BERT built here: reading text, units and
masking, the MLM head, training, the saved encoder, determinism and the CLI."""

from __future__ import annotations

import json
import random
from collections import Counter
from pathlib import Path

import pytest
import torch
from typer.testing import CliRunner

from mrc_ner.cli import app
from mrc_ner.encoding.alignment import char_vocab
from mrc_ner.encoding.encoders import load_encoder
from mrc_ner.errors import InputError
from mrc_ner.training.pretraining import (
    IGNORE,
    PRETRAIN_MANIFEST,
    MaskedLMObjective,
    Masker,
    MlmExample,
    PretrainSettings,
    TextLine,
    build_masked_lm,
    encode_lines,
    heldout_loss,
    pretrain,
    read_text_file,
    read_texts,
    split_heldout,
    text_lines,
)

ZH = [
    "本发明涉及一种检测基因突变的试剂盒。",
    "阿司匹林可以抑制环氧合酶的活性。",
    "乳腺癌是女性最常见的恶性肿瘤之一。",
    "该抗体与蛋白结合并抑制肿瘤生长。",
]
EN = [
    "BRCA1 mutations cause breast cancer .",
    "TP53 binds DNA and regulates transcription .",
    "aspirin inhibits cyclooxygenase activity in platelets .",
    "the antibody binds the tumour protein .",
]
runner = CliRunner()


# --------------------------------------------------------------------------- fixtures


def _tiny_bert(path: Path, *, with_head: bool = False) -> Path:
    """A 2-layer BERT and a WordPiece vocabulary built from the sentences above."""
    from transformers import BertConfig, BertForMaskedLM, BertModel, BertTokenizerFast

    words = sorted({w.lower() for s in EN for w in s.split()})
    pieces = sorted({f"##{c}" for w in words for c in w[1:]})
    chars = sorted({c for s in ZH for c in s} | {c for w in words for c in w})
    vocab = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", *chars, *[w for w in words if w not in chars], *pieces]
    vocab = list(dict.fromkeys(vocab))
    path.mkdir(parents=True, exist_ok=True)
    (path / "vocab.txt").write_text("\n".join(vocab) + "\n", encoding="utf-8")
    BertTokenizerFast(str(path / "vocab.txt")).save_pretrained(path)
    torch.manual_seed(0)
    config = BertConfig(
        vocab_size=len(vocab),
        hidden_size=32,
        num_hidden_layers=2,
        num_attention_heads=2,
        intermediate_size=64,
        max_position_embeddings=64,
    )
    (BertForMaskedLM if with_head else BertModel)(config).save_pretrained(path)
    return path


@pytest.fixture(scope="module")
def tiny(tmp_path_factory) -> Path:
    return _tiny_bert(tmp_path_factory.mktemp("tiny-bert"))


@pytest.fixture(scope="module")
def tokenizer(tiny):
    return load_encoder(tiny).tokenizer


@pytest.fixture()
def text_file(tmp_path) -> Path:
    f = tmp_path / "raw.txt"
    f.write_text("\n".join((ZH + EN) * 5) + "\n", encoding="utf-8")
    return f


@pytest.fixture()
def repeated_file(tmp_path) -> Path:
    """Two sentences, twenty times: a corpus a tiny model can learn in 30 steps."""
    f = tmp_path / "repeated.txt"
    f.write_text("\n".join([ZH[0], EN[0]] * 20) + "\n", encoding="utf-8")
    return f


def _weights(directory: Path) -> dict[str, torch.Tensor]:
    from safetensors.torch import load_file

    return load_file(str(directory / "model.safetensors"))


FAST = dict(batch_size=4, lr=2e-3, max_length=32, warmup_ratio=0.0, eval_fraction=0.1)


# --------------------------------------------------------------------------- reading text


def test_text_lines_clean_cjk_and_split_words():
    lines = text_lines("\ufeff本发明 涉及　BRCA1  基因\r\n\r\n  TP53  binds\tDNA.\u200b \u2028阿司匹林")
    assert [(x.text, x.char_level) for x in lines] == [
        ("本发明涉及BRCA1基因", True),
        ("TP53 binds DNA.", False),
        ("阿司匹林", True),
    ]
    assert lines[1].words == ("TP53", "binds", "DNA", ".")


def test_long_cjk_line_splits_at_punctuation():
    lines = text_lines("甲乙丙。丁戊己。庚", max_chars=4)
    assert [x.text for x in lines] == ["甲乙丙。", "丁戊己。", "庚"]


def test_blank_text_file_is_an_input_error(tmp_path):
    f = tmp_path / "blank.txt"
    f.write_text(" \n\u3000\n\n", encoding="utf-8")
    with pytest.raises(InputError, match="empty or blank") as e:
        read_text_file(f)
    assert e.value.path == str(f)


def test_read_texts_takes_text_and_corpus_files(tmp_path, text_file):
    col = tmp_path / "doc.bio"
    col.write_text("".join(f"{c} O\n" for c in "甲乙丙") + "\n", encoding="utf-8")
    lines, files = read_texts([text_file], [col])
    assert files == [text_file, col]
    assert lines[-1] == TextLine("甲乙丙", True)
    assert len(lines) == 41
    with pytest.raises(InputError, match="no input"):
        read_texts([], [])


def test_split_heldout_is_seeded():
    lines = [TextLine(str(i), False, (str(i),)) for i in range(100)]
    train, held = split_heldout(lines, 0.05, seed=1)
    assert len(held) == 5 and len(train) == 95 and not set(held) & set(train)
    assert split_heldout(lines, 0.05, seed=1) == (train, held)
    assert split_heldout(lines[:1], 0.05, seed=1) == (lines[:1], [])


# --------------------------------------------------------------------------- units


def test_character_lines_use_charvocab_one_token_per_character(tokenizer):
    (ex,) = encode_lines([TextLine(ZH[0], True)], tokenizer, max_length=64)
    cv = char_vocab(tokenizer)
    assert ex.mode == "char"
    assert ex.input_ids == (tokenizer.cls_token_id, *[cv.lookup(c) for c in ZH[0]], tokenizer.sep_token_id)
    assert ex.units == tuple((i,) for i in range(1, len(ZH[0]) + 1))


def test_word_lines_group_sub_tokens_into_words(tokenizer):
    line = text_lines("cancers binds DNA")[0]  # cancers = cancer ##s
    (ex,) = encode_lines([line], tokenizer, max_length=64)
    assert ex.mode == "word"
    pieces = tokenizer.convert_ids_to_tokens(list(ex.input_ids))
    assert pieces[0] == "[CLS]" and pieces[-1] == "[SEP]"
    words = ["".join(pieces[p].removeprefix("##") for p in unit) for unit in ex.units]
    assert words == ["cancers", "binds", "dna"]
    assert len(ex.units[0]) > 1  # a word of several sub-tokens is one unit


def test_align_modes(tokenizer):
    zh, en = TextLine(ZH[1], True), text_lines(EN[0])[0]
    assert [x.mode for x in encode_lines([zh, en], tokenizer, align="auto")] == ["char", "word"]
    assert [x.mode for x in encode_lines([zh, en], tokenizer, align="char")] == ["char", "char"]
    assert [x.mode for x in encode_lines([zh, en], tokenizer, align="subword")] == ["subword", "word"]
    chars = encode_lines([en], tokenizer, align="char")[0]
    assert len(chars.input_ids) == len(EN[0]) + 2


def test_long_lines_become_chunks_without_splitting_words(tokenizer):
    line = text_lines(" ".join(EN * 3))[0]
    whole = encode_lines([line], tokenizer, max_length=512)[0]
    chunks = encode_lines([line], tokenizer, max_length=16)
    assert len(chunks) > 2 and all(len(c) <= 16 for c in chunks)
    body = [t for c in chunks for t in c.input_ids[1:-1]]
    assert body == list(whole.input_ids[1:-1])
    assert sum(len(c.units) for c in chunks) == len(whole.units)
    zh = encode_lines([TextLine("".join(ZH), True)], tokenizer, max_length=10)
    assert [len(c) for c in zh][:-1] == [10] * (len(zh) - 1)


def test_unknown_characters_are_never_masked(tokenizer):
    (ex,) = encode_lines([TextLine("哌本发", True)], tokenizer, max_length=64)
    assert ex.input_ids[1] == tokenizer.unk_token_id
    assert ex.units == ((2,), (3,))


# --------------------------------------------------------------------------- masking


def _examples(tokenizer, n: int = 400) -> list[MlmExample]:
    rng = random.Random(0)
    lines = [
        TextLine("".join(rng.choices(list("本发明涉及一种检测基因突变的试剂盒"), k=40)), True) for _ in range(n // 2)
    ]
    lines += text_lines("\n".join(" ".join(rng.choices(" ".join(EN).split(), k=30)) for _ in range(n // 2)))
    return encode_lines(lines, tokenizer, max_length=64)


def test_masking_rates_and_whole_units(tokenizer):
    masker = Masker.for_tokenizer(tokenizer)
    rng = random.Random(42)
    chosen = units = 0
    treatment: Counter = Counter()
    for ex in _examples(tokenizer):
        ids, labels = masker(ex, rng)
        assert labels[0] == IGNORE and labels[-1] == IGNORE  # never the special tokens
        picked = 0
        for unit in ex.units:
            labelled = [labels[p] != IGNORE for p in unit]
            assert all(labelled) or not any(labelled)  # whole character / whole word
            if not any(labelled):
                assert all(ids[p] == ex.input_ids[p] for p in unit)
                continue
            picked += 1
            assert all(labels[p] == ex.input_ids[p] for p in unit)
            kinds = {
                "mask" if ids[p] == masker.mask_id else "keep" if ids[p] == ex.input_ids[p] else "random" for p in unit
            }
            if len(kinds) == 1 or kinds == {"random", "keep"}:  # a random draw may hit the original token
                treatment["mask" if kinds == {"mask"} else "keep" if kinds == {"keep"} else "random"] += 1
            assert "mask" not in kinds or kinds == {"mask"}
        assert picked == max(1, round(0.15 * len(ex.units)))
        chosen += picked
        units += len(ex.units)
        replaced = [ids[p] for p, lab in enumerate(labels) if lab != IGNORE and ids[p] not in (lab, masker.mask_id)]
        assert not set(replaced) & masker.special_ids  # random replacements are never special tokens
    assert 0.14 < chosen / units < 0.16
    total = sum(treatment.values())
    assert abs(treatment["mask"] / total - 0.8) < 0.03
    assert abs(treatment["random"] / total - 0.1) < 0.03
    assert abs(treatment["keep"] / total - 0.1) < 0.03


def test_masking_is_deterministic(tokenizer):
    masker = Masker.for_tokenizer(tokenizer)
    exs = _examples(tokenizer, 20)
    a = [masker(ex, random.Random(7)) for ex in exs]
    b = [masker(ex, random.Random(7)) for ex in exs]
    c = [masker(ex, random.Random(8)) for ex in exs]
    assert a == b and a != c


# --------------------------------------------------------------------------- the model


def test_new_head_is_tied_to_the_word_embeddings(tiny):
    enc = load_encoder(tiny)
    mlm, head = build_masked_lm(enc)
    assert not head.shipped and head.tied and head.model_class == "BertForMaskedLM"
    assert mlm.bert is enc.model  # the encoder that gets saved is the one trained
    assert mlm.cls.predictions.decoder.weight is enc.model.embeddings.word_embeddings.weight
    assert not any(p.requires_grad for p in enc.model.pooler.parameters())


def test_new_head_starts_as_identity_and_unigram(tiny, tokenizer):
    from mrc_ner.training.pretraining import init_new_head

    enc = load_encoder(tiny)
    mlm, _ = build_masked_lm(enc)
    exs = encode_lines([TextLine("本本本发", True)], tokenizer)
    init_new_head(mlm, exs)
    assert torch.equal(mlm.cls.predictions.transform.dense.weight, torch.eye(32))
    bias = mlm.cls.predictions.bias.detach().double()
    cv = char_vocab(tokenizer)
    smoothed = 4 + 0.01 * len(bias)  # add-0.01 smoothing over the vocabulary
    assert bias.exp()[cv.lookup("本")].item() == pytest.approx(3.01 / smoothed, rel=1e-4)
    assert bias.exp()[cv.lookup("发")].item() == pytest.approx(1.01 / smoothed, rel=1e-4)
    assert bias.exp().sum().item() == pytest.approx(1.0)
    assert mlm.cls.predictions.decoder.weight is enc.model.embeddings.word_embeddings.weight  # still tied


def test_shipped_head_is_used(tmp_path):
    from transformers import BertForMaskedLM

    directory = _tiny_bert(tmp_path / "with-head", with_head=True)
    enc = load_encoder(directory)
    mlm, head = build_masked_lm(enc)
    assert head.shipped and head.tied
    saved = BertForMaskedLM.from_pretrained(directory)
    assert torch.equal(mlm.cls.predictions.transform.dense.weight, saved.cls.predictions.transform.dense.weight)


def test_masked_position_logits_are_exact(tiny, tokenizer):
    enc = load_encoder(tiny)
    mlm, _ = build_masked_lm(enc)
    objective = MaskedLMObjective(mlm).eval()
    exs = _examples(tokenizer, 8)
    from mrc_ner.training.pretraining import collate_masked

    batch = collate_masked(exs, Masker.for_tokenizer(tokenizer), random.Random(0), pad_id=0)
    with torch.no_grad():
        ours = objective(batch)["loss"]
        full = mlm(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"], labels=batch["labels"]).loss
    assert torch.allclose(ours, full, atol=1e-5)


# --------------------------------------------------------------------------- training and output


@pytest.mark.slow
def test_loss_decreases_and_output_loads(tiny, repeated_file, tmp_path):
    out = tmp_path / "adapted"
    settings = PretrainSettings(
        max_steps=30, batch_size=8, lr=1e-2, head_lr=1e-2, max_length=32, warmup_ratio=0.0, eval_fraction=0.1
    )
    result = pretrain(tiny, out, texts=[repeated_file], settings=settings)
    assert result.steps == 30 and result.epochs_run == 6  # 36 training lines / 8 per batch: 5 steps per pass
    assert sum(result.first_losses[:5]) / 5 > sum(result.last_losses[-5:]) / 5 + 0.8
    assert result.heldout["loss_after"] < result.heldout["loss_before"] - 0.8

    enc = load_encoder(out)
    assert type(enc.model).__name__ == "BertModel"
    assert enc.tokenizer.get_vocab() == load_encoder(tiny).tokenizer.get_vocab()
    before, after = _weights(tiny), _weights(out)
    assert set(before) == set(after)
    assert not torch.equal(
        before["encoder.layer.0.attention.self.query.weight"], after["encoder.layer.0.attention.self.query.weight"]
    )
    assert not torch.equal(before["embeddings.word_embeddings.weight"], after["embeddings.word_embeddings.weight"])
    assert torch.equal(before["pooler.dense.weight"], after["pooler.dense.weight"])  # no MLM gradient reaches it

    manifest = json.loads((out / PRETRAIN_MANIFEST).read_text(encoding="utf-8"))
    assert manifest["steps"] == 30 and manifest["files"] == [str(repeated_file)]
    assert manifest["settings"]["max_steps"] == 30 and manifest["settings"]["seed"] == 42
    assert manifest["head"] == {
        "model_class": "BertForMaskedLM",
        "shipped": False,
        "tied": True,
        "decoder_frozen": False,
        "masked_only_logits": True,
        "init": "identity dense, log-unigram bias",
        "lr": 1e-2,
    }
    assert manifest["heldout"]["loss_before"] > manifest["heldout"]["loss_after"]
    assert manifest["final_loss"] == pytest.approx(sum(result.last_losses) / len(result.last_losses), abs=1e-3)
    assert not list(tmp_path.glob(".adapted.*"))  # no temporary directory left behind
    assert all(f.stat().st_mode & 0o044 == 0o044 for f in out.iterdir())  # readable by others, like the cache


@pytest.mark.slow
def test_same_seed_same_weights(tiny, text_file, tmp_path):
    settings = dict(max_steps=6, **FAST)
    for name, seed in (("a", 3), ("b", 3), ("c", 4)):
        pretrain(tiny, tmp_path / name, texts=[text_file], settings=PretrainSettings(seed=seed, **settings))
    a, b, c = (_weights(tmp_path / n) for n in "abc")
    assert all(torch.equal(a[k], b[k]) for k in a)
    assert not all(torch.equal(a[k], c[k]) for k in a)


@pytest.mark.slow
def test_freeze_embeddings_freezes_the_tied_decoder_and_says_so(tiny, text_file, tmp_path):
    messages: list[str] = []
    out = tmp_path / "frozen"
    pretrain(
        tiny,
        out,
        texts=[text_file],
        settings=PretrainSettings(max_steps=5, freeze_embeddings=True, **FAST),
        log=messages.append,
    )
    before, after = _weights(tiny), _weights(out)
    assert torch.equal(before["embeddings.word_embeddings.weight"], after["embeddings.word_embeddings.weight"])
    assert not torch.equal(before["encoder.layer.1.output.dense.weight"], after["encoder.layer.1.output.dense.weight"])
    assert any("decoder is tied" in m and "frozen" in m for m in messages)
    assert json.loads((out / PRETRAIN_MANIFEST).read_text(encoding="utf-8"))["head"]["decoder_frozen"] is True


def test_existing_output_is_refused_before_training(tiny, text_file, tmp_path):
    out = tmp_path / "taken"
    out.mkdir()
    (out / "keep.txt").write_text("x")
    with pytest.raises(InputError, match="--overwrite"):
        pretrain(tiny, out, texts=[text_file], settings=PretrainSettings(max_steps=1, **FAST))
    pretrain(tiny, out, texts=[text_file], settings=PretrainSettings(max_steps=1, **FAST), overwrite=True)
    assert not (out / "keep.txt").exists() and (out / "model.safetensors").is_file()


def test_heldout_masks_are_fixed(tiny, tokenizer):
    enc = load_encoder(tiny)
    objective = MaskedLMObjective(build_masked_lm(enc)[0])
    exs = _examples(tokenizer, 10)
    masker = Masker.for_tokenizer(tokenizer)
    assert heldout_loss(objective, exs, masker, pad_id=0, seed=1) == heldout_loss(
        objective, exs, masker, pad_id=0, seed=1
    )
    assert heldout_loss(objective, [], masker, pad_id=0) == (None, 0)


# --------------------------------------------------------------------------- CLI


@pytest.mark.slow
def test_cli_end_to_end(tiny, text_file, tmp_path, monkeypatch):
    monkeypatch.setenv("COLUMNS", "200")
    col = tmp_path / "doc.bio"
    col.write_text(
        "".join(f"{c} O\n" for c in ZH[0]) + "\n" + "".join(f"{c} O\n" for c in ZH[1]) + "\n", encoding="utf-8"
    )
    out = tmp_path / "cli-out"
    result = runner.invoke(
        app,
        [
            "pretrain",
            "--text",
            str(text_file),
            "--corpus",
            str(col),
            "--encoder",
            str(tiny),
            "--out",
            str(out),
            "--max-steps",
            "4",
            "--batch-size",
            "4",
            "--max-length",
            "32",
            "--lr",
            "1e-3",
            "--seed",
            "1",
        ],
    )
    assert result.exit_code == 0, result.output
    assert "held-out MLM loss before" in result.output and "held-out MLM loss after" in result.output
    assert "saved the encoder" in result.output
    assert "step 4/4: loss" in result.output  # no terminal: progress as log lines
    manifest = json.loads((out / PRETRAIN_MANIFEST).read_text(encoding="utf-8"))
    assert manifest["files"] == [str(text_file), str(col)] and manifest["steps"] == 4
    assert manifest["lines"]["total"] == 42
    assert load_encoder(out).model.config.hidden_size == 32


def test_cli_empty_text_file_is_one_error_line(tiny, tmp_path):
    empty = tmp_path / "empty.txt"
    empty.write_text("", encoding="utf-8")
    result = runner.invoke(
        app, ["pretrain", "--text", str(empty), "--encoder", str(tiny), "--out", str(tmp_path / "o")]
    )
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output
    lines = [ln for ln in result.stderr.splitlines() if ln.strip()]
    assert len(lines) == 1 and lines[0].startswith("error:") and str(empty) in lines[0], result.stderr
    assert not (tmp_path / "o").exists()


def test_cli_without_input_is_one_error_line(tiny, tmp_path):
    result = runner.invoke(app, ["pretrain", "--encoder", str(tiny), "--out", str(tmp_path / "o")])
    assert result.exit_code == 2
    assert [ln for ln in result.stderr.splitlines() if ln.strip()] == [
        "error: no input: give plain text (--text) and/or corpus files (--corpus)"
    ]
