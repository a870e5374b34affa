"""Shared fixtures: the real corpora beside the repo, and tiny encoders built from data."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SHARED_DATA = Path(os.environ.get("MRC_NER_SHARED_DATA", REPO.parent / "shared" / "data"))


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """``../shared/data``. Missing data is a failure, never a skip: CI must not pass by skipping."""
    if not (SHARED_DATA / "cbp_gold" / "documents").is_dir():
        pytest.fail(f"real corpora not found at {SHARED_DATA} (set MRC_NER_SHARED_DATA or put shared/ beside the repo)")
    return SHARED_DATA


@pytest.fixture(scope="session")
def cbp_documents(shared_data: Path) -> Path:
    """The directory of the 21 cbp_gold patents."""
    return shared_data / "cbp_gold" / "documents"


@pytest.fixture(scope="session")
def ncbi_dir(shared_data: Path) -> Path:
    """NCBI-disease train/devel/test column files."""
    return shared_data / "bioner" / "NCBI-disease"


def build_tiny_encoder(path: Path, texts: list[str], *, hidden: int = 32, layers: int = 2, max_positions: int = 128, seed: int = 0) -> Path:
    """A tiny BERT (random weights) with a WordPiece vocab made from ``texts``.

    The vocab holds every character (bare and ``##``-prefixed) and every
    whitespace-separated word, so character and word alignment both work.
    """
    import torch
    from transformers import BertConfig, BertModel, BertTokenizerFast

    path.mkdir(parents=True, exist_ok=True)
    chars = sorted({c for t in texts for c in t if not c.isspace()})
    words = sorted({w for t in texts for w in t.split() if len(w) > 1})
    vocab = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"] + chars + [f"##{c}" for c in chars] + [w for w in words if w not in chars]
    vocab = list(dict.fromkeys(vocab))
    (path / "vocab.txt").write_text("\n".join(vocab) + "\n", encoding="utf-8")
    # positional: transformers 5 calls the argument `vocab` and ignores `vocab_file=`
    BertTokenizerFast(str(path / "vocab.txt"), do_lower_case=False, tokenize_chinese_chars=True, model_max_length=max_positions).save_pretrained(str(path))
    torch.manual_seed(seed)
    config = BertConfig(vocab_size=len(vocab), hidden_size=hidden, num_hidden_layers=layers, num_attention_heads=2, intermediate_size=hidden * 2, max_position_embeddings=max_positions)
    BertModel(config).save_pretrained(str(path))
    return path


SAMPLE_CBP = REPO / "data" / "sample_cbp"
SAMPLE_EN = REPO / "data" / "sample_en.tsv"


@pytest.fixture(scope="session")
def sample_cbp_corpus():
    """The small Chinese patent sample shipped in data/."""
    from mrc_ner.corpus import read_corpus

    return read_corpus(SAMPLE_CBP)


@pytest.fixture(scope="session")
def sample_en_corpus():
    """The small English sample shipped in data/."""
    from mrc_ner.corpus import read_corpus

    return read_corpus(SAMPLE_EN)


@pytest.fixture(scope="session")
def tiny_encoder(tmp_path_factory, sample_cbp_corpus, sample_en_corpus) -> Path:
    """A tiny random BERT whose vocab covers the data/ samples (Chinese and English)."""
    texts = [s.text for s in sample_cbp_corpus.sentences + sample_en_corpus.sentences]
    texts += ["Can you detect gene protein disease entities like or ? none", "请找出文中的基因蛋白质疾病实体，例如或。：", "0123456789", "甲乙丙丁的"]
    return build_tiny_encoder(tmp_path_factory.mktemp("tiny_encoder"), texts)


@pytest.fixture(scope="session")
def e5_cache(tmp_path_factory) -> Path:
    """A private cache root with multilingual-e5-small converted once per test session (~11 s)."""
    from mrc_ner.encoding.encoders import CACHE_ENV, build_encoder

    root = tmp_path_factory.mktemp("mrc-ner-cache")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv(CACHE_ENV, str(root))
        build_encoder("multilingual-e5-small")
    return root


@pytest.fixture(scope="session")
def e5(e5_cache):
    """The converted multilingual-e5-small (LoadedEncoder) from the session cache."""
    from mrc_ner.encoding.encoders import CACHE_ENV, load_encoder

    with pytest.MonkeyPatch.context() as mp:
        mp.setenv(CACHE_ENV, str(e5_cache))
        return load_encoder("multilingual-e5-small")
