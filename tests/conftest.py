"""Shared fixtures: the real corpora beside the repo, and tiny encoders built from data."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import pytest

from mrc_ner.errors import InputError
from mrc_ner.testing import build_tiny_encoder  # one definition, shared with the doctests

REPO = Path(__file__).resolve().parents[1]
SHARED_DATA = Path(os.environ.get("MRC_NER_SHARED_DATA", REPO.parent / "shared" / "data"))


def pytest_addoption(parser: pytest.Parser) -> None:
    """``--slow``: also run the tests marked ``slow`` (CI and the README's test command do)."""
    parser.addoption(
        "--slow",
        action="store_true",
        help="Also run the tests marked slow (real encoders, shared corpora, subprocesses).",
    )


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Without ``--slow`` the slow tests are deselected (and counted as such), never skipped."""
    if config.getoption("--slow"):
        return
    slow = [item for item in items if item.get_closest_marker("slow")]
    if slow:
        config.hook.pytest_deselected(items=slow)
        items[:] = [item for item in items if not item.get_closest_marker("slow")]


def input_error(read: Callable[[Path], object], path: Path, content: str) -> InputError:
    """Write ``content`` to ``path`` and return the InputError that ``read(path)`` raises (failing if none)."""
    path.write_text(content, encoding="utf-8")
    with pytest.raises(InputError) as e:
        read(path)
    return e.value


def random_softmax_model(root: Path, encoder: Path, labels: list[str], max_length: int = 64, **options: str) -> Path:
    """Save an untrained softmax tagger over ``encoder`` (random heads, deterministic output) to ``root/model``."""
    from mrc_ner.models import tagger_class

    model = root / "model"
    tagger_class("softmax").create(str(encoder), labels, max_length=max_length, **options).save(model)
    return model


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
    texts += [
        "Can you detect gene protein disease entities like or ? none",
        "请找出文中的基因蛋白质疾病实体，例如或。：",
        "0123456789",
        "甲乙丙丁的",
    ]
    return build_tiny_encoder(tmp_path_factory.mktemp("tiny_encoder"), texts)


@pytest.fixture(scope="session")
def e5_cache(tmp_path_factory) -> Path:
    """A private cache root with multilingual-e5-small converted once per test session (~11 s)."""
    from mrc_ner.encoding.builtin_encoders import CACHE_ENV, build_encoder

    root = tmp_path_factory.mktemp("mrc-ner-cache")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv(CACHE_ENV, str(root))
        build_encoder("multilingual-e5-small")
    return root


@pytest.fixture(scope="session")
def e5(e5_cache):
    """The converted multilingual-e5-small (LoadedEncoder) from the session cache."""
    from mrc_ner.encoding.builtin_encoders import CACHE_ENV
    from mrc_ner.encoding.encoders import load_encoder

    with pytest.MonkeyPatch.context() as mp:
        mp.setenv(CACHE_ENV, str(e5_cache))
        return load_encoder("multilingual-e5-small")


@pytest.fixture(scope="session")
def tiny_char_model(tmp_path_factory) -> Path:
    """A tiny character-level softmax model that learned four Chinese sentences (``mrc_ner.testing``)."""
    from mrc_ner.testing import tiny_model

    return tiny_model(tmp_path_factory.mktemp("tiny_models") / "char")


@pytest.fixture(scope="session")
def tiny_word_model(tmp_path_factory) -> Path:
    """A tiny word-level softmax model that learned three English sentences."""
    from mrc_ner.testing import EXAMPLES_EN, tiny_model

    return tiny_model(tmp_path_factory.mktemp("tiny_models") / "word", examples=EXAMPLES_EN, align="word")
