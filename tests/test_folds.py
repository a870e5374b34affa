"""Folds: the published cbp splits, a proper k-fold, dev splits by document and by sentence."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mrc_ner.corpus.folds import (
    Fold,
    dev_fraction_split,
    kfold,
    parse_folds_spec,
    parse_split_info,
    published_doc_id,
    read_published_folds,
    split_sentences,
)
from mrc_ner.corpus.model import Corpus, Document, Sentence, Span
from mrc_ner.errors import InputError

HG12 = "HG-12-2017-08-04-CN107012206A"


@pytest.fixture(scope="module")
def cbp_ids(cbp_documents: Path) -> list[str]:
    """Document ids as read_conll gives them (file stems), without parsing 21 files."""
    return sorted(p.name.split(".")[0] for p in cbp_documents.glob("*.bio"))


@pytest.fixture(scope="module")
def published(cbp_documents: Path) -> list[Fold]:
    return read_published_folds(cbp_documents.parent / "folds")


# --- published folds ---------------------------------------------------------------


def test_published_folds_load(published: list[Fold], cbp_ids: list[str]) -> None:
    assert [f.name for f in published] == ["0", "1", "2", "3", "4"]
    for f in published:
        assert (len(f.train), len(f.dev), len(f.test)) == (18, 1, 2)
        assert len(set(f.ids)) == 21, "train/dev/test of one fold are disjoint"
        assert set(f.ids) == set(cbp_ids), "every id is a corpus document"


def test_published_fold0_contents(published: list[Fold]) -> None:
    f0 = published[0]
    assert f0.train[0] == "10_2015-12-30-CN105209881A"
    assert f0.test == ["11_2016-07-06-CN105738526A", "8_2018-11-23-CN108866199A"]
    assert f0.dev == ["HG-9-2017-04-12-CN104017020B"]


def test_published_folds_are_not_a_partition(published: list[Fold]) -> None:
    """Per the data README: HG-12 is tested in folds 1 and 4; only 9 patents are ever tested."""
    assert [f.name for f in published if HG12 in f.test] == ["1", "4"]
    assert len({d for f in published for d in f.test}) == 9


def test_published_ids_match_read_conll(published: list[Fold], cbp_documents: Path) -> None:
    from mrc_ner.corpus.conll import read_conll

    doc = read_conll(cbp_documents / "11_2016-07-06-CN105738526A.bio")[0]
    assert doc.id in published[0].test


def test_parse_folds_spec_published(cbp_ids: list[str], cbp_documents: Path) -> None:
    folds = parse_folds_spec("published", doc_ids=cbp_ids, corpus_dir=cbp_documents)
    assert len(folds) == 5
    again = parse_folds_spec(f"published={cbp_documents.parent / 'folds'}", doc_ids=cbp_ids)
    assert again == folds


def test_parse_folds_spec_published_unknown_doc(cbp_ids: list[str], cbp_documents: Path) -> None:
    with pytest.raises(InputError, match=r"fold 0 names document\(s\) not in the corpus: 10_2015"):
        parse_folds_spec("published", doc_ids=cbp_ids[1:], folds_dir=cbp_documents.parent / "folds")


def test_parse_folds_spec_k(cbp_ids: list[str]) -> None:
    folds = parse_folds_spec("k=3", doc_ids=cbp_ids, seed=4)
    assert folds == kfold(cbp_ids, k=3, seed=4)
    for bad in ("k=x", "kk=3", "published"):
        with pytest.raises(InputError):
            parse_folds_spec(bad, doc_ids=cbp_ids)


def test_published_doc_id() -> None:
    assert published_doc_id("HG-1-2017-12-22-CN107496939A-plain.txt.anns") == "HG-1-2017-12-22-CN107496939A"
    assert published_doc_id("x.bio") == "x"
    assert published_doc_id("plain") == "plain"


# --- malformed split files ------------------------------------------------------


def _info(tmp_path: Path, text: str) -> Path:
    p = tmp_path / "0" / "train_test_split.info"
    p.parent.mkdir(parents=True, exist_ok=True)
    p.write_text(text, encoding="utf-8")
    return p


GOOD = "Train files:\na-plain.txt.anns\nb-plain.txt.anns\n=====\nTest files:\nc-plain.txt.anns\n=====\nDev files:\nd-plain.txt.anns"


def test_parse_split_info_good(tmp_path: Path) -> None:
    fold = parse_split_info(_info(tmp_path, GOOD))
    assert fold == Fold("0", train=["a", "b"], dev=["d"], test=["c"])


@pytest.mark.parametrize(
    "text, line, needle",
    [
        ("a-plain.txt.anns\n" + GOOD, 1, "before any"),
        (GOOD + "\nTrain files:\nx", 10, "appears twice"),
        (GOOD.replace("c-plain", "a-plain"), 6, "'a' listed twice (first on line 2)"),
        (GOOD.replace("Dev files:", "Valid files:"), 8, "'Valid files:'"),
        (GOOD.replace("b-plain.txt.anns", "b plain.txt"), 3, "'b plain.txt'"),
    ],
)
def test_parse_split_info_malformed(tmp_path: Path, text: str, line: int, needle: str) -> None:
    path = _info(tmp_path, text)
    with pytest.raises(InputError) as e:
        parse_split_info(path)
    assert e.value.line == line
    assert str(e.value).startswith(f"{path}:{line}: ")
    assert needle in str(e.value)


def test_parse_split_info_missing_section(tmp_path: Path) -> None:
    with pytest.raises(InputError, match=r"missing section.*Dev files:"):
        parse_split_info(_info(tmp_path, GOOD.split("=====\nDev")[0]))


def test_read_published_folds_errors(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="folds directory not found"):
        read_published_folds(tmp_path / "nope")
    with pytest.raises(InputError, match=r"no <k>/train_test_split.info"):
        read_published_folds(tmp_path)


def test_read_published_folds_numeric_order(tmp_path: Path) -> None:
    for k in ("10", "2", "1"):
        p = tmp_path / k / "train_test_split.info"
        p.parent.mkdir()
        p.write_text(GOOD, encoding="utf-8")
    assert [f.name for f in read_published_folds(tmp_path)] == ["1", "2", "10"]


# --- k-fold -----------------------------------------------------------------------


def _assert_partition(folds: list[Fold], ids: list[str], k: int) -> None:
    assert len(folds) == k
    tested = [d for f in folds for d in f.test]
    assert sorted(tested) == sorted(ids), "every document tested exactly once"
    sizes = [len(f.test) for f in folds]
    assert max(sizes) - min(sizes) <= 1
    for f in folds:
        assert not (set(f.train) & set(f.dev) or set(f.train) & set(f.test) or set(f.dev) & set(f.test))
        assert sorted(f.ids) == sorted(ids)
        assert f.train, "a fold always trains on something"


def test_kfold_cbp(cbp_ids: list[str]) -> None:
    folds = kfold(cbp_ids, k=5, seed=0)
    _assert_partition(folds, cbp_ids, 5)
    assert all(len(f.dev) == 1 for f in folds)
    assert [f.name for f in folds] == ["k5-0", "k5-1", "k5-2", "k5-3", "k5-4"]
    assert kfold(cbp_ids, k=5, seed=0) == folds, "deterministic per seed"
    assert kfold(cbp_ids, k=5, seed=1) != folds


@settings(max_examples=60, deadline=None)
@given(n=st.integers(2, 30), data=st.data())
def test_kfold_is_a_partition(n: int, data: st.DataObject) -> None:
    ids = [f"doc{i}" for i in range(n)]
    k = data.draw(st.integers(2, n))
    seed = data.draw(st.integers(0, 2**32))
    min_rest = n - (n + k - 1) // k  # documents outside the largest test part
    dev = data.draw(st.one_of(st.integers(0, max(0, min_rest - 1)), st.floats(0.01, 0.5)))
    try:
        folds = kfold(ids, k=k, seed=seed, dev_docs=dev)
    except InputError as e:
        assert "leaves no training documents" in str(e)
        return
    _assert_partition(folds, ids, k)
    if isinstance(dev, int):
        assert all(len(f.dev) == dev for f in folds)
    assert folds == kfold(ids, k=k, seed=seed, dev_docs=dev)


def test_kfold_dev_fraction() -> None:
    folds = kfold([str(i) for i in range(20)], k=4, dev_docs=0.2)
    assert [len(f.dev) for f in folds] == [3, 3, 3, 3]  # round(0.2 * 15)


@pytest.mark.parametrize(
    "kwargs, needle",
    [
        ({"k": 1}, "k ≥ 2"),
        ({"k": 4}, "cannot make 4 folds from 3"),
        ({"k": 3, "dev_docs": 2}, "leaves no training"),
        ({"k": 2, "dev_docs": -1}, "dev size"),
        ({"k": 2, "dev_docs": 1.5}, "dev size"),
    ],
)
def test_kfold_bad_options(kwargs: dict, needle: str) -> None:
    with pytest.raises(InputError, match=needle):
        kfold(["a", "b", "c"], **kwargs)


def test_kfold_duplicate_ids() -> None:
    with pytest.raises(InputError, match=r"duplicate document id.*: a"):
        kfold(["a", "b", "a"], k=2)


# --- dev splits -------------------------------------------------------------------


def test_dev_fraction_split(cbp_ids: list[str]) -> None:
    train, dev = dev_fraction_split(cbp_ids, 0.1, seed=3)
    assert len(dev) == 2 and len(train) == 19
    assert sorted(train + dev) == sorted(cbp_ids)
    assert train == [d for d in cbp_ids if d in train], "original order kept"
    assert dev_fraction_split(cbp_ids, 0.1, seed=3) == (train, dev)
    assert dev_fraction_split(["a", "b"], 0.01) in ((["a"], ["b"]), (["b"], ["a"]))
    with pytest.raises(InputError, match="split sentences instead"):
        dev_fraction_split(["only"], 0.1)
    with pytest.raises(InputError, match=r"\(0, 1\)"):
        dev_fraction_split(cbp_ids, 1.0)


def _corpus(n_docs: int, n_sents: int) -> Corpus:
    docs = []
    for d in range(n_docs):
        sents = [Sentence.from_text(f"句子{d}{i}", [Span(0, 2, "gene")], id=f"d{d}:{i}") for i in range(n_sents)]
        docs.append(Document(f"d{d}", sents))
    return Corpus(docs, name="toy")


def test_split_sentences_single_document() -> None:
    corpus = _corpus(1, 50)
    before = [(s.id, s.offset) for s in corpus.sentences]
    train, dev = split_sentences(corpus, 0.1, seed=0)
    assert len(dev.sentences) == 5 and len(train.sentences) == 45
    ids = [s.id for s in train.sentences] + [s.id for s in dev.sentences]
    assert sorted(ids) == sorted(s.id for s in corpus.sentences)
    assert [s.id for s in train.sentences] == [s.id for s in corpus.sentences if s.id in set(ids[:45])], "order kept"
    assert [d.id for d in dev] == ["d0"]
    assert [(s.id, s.offset) for s in corpus.sentences] == before, "the input corpus is untouched"
    for c in (train, dev):
        doc = c.documents[0]
        assert all(doc.text[s.offset : s.offset + len(s.text)] == s.text for s in doc.sentences)
    again = split_sentences(corpus, 0.1, seed=0)
    assert [s.id for s in again[1].sentences] == [s.id for s in dev.sentences]


def test_split_sentences_several_documents() -> None:
    train, dev = split_sentences(_corpus(3, 4), 0.25, seed=2)
    assert len(dev.sentences) == 3 and len(train.sentences) == 9
    assert train.name == "toy[train]" and dev.name == "toy[dev]"


def test_split_sentences_errors() -> None:
    with pytest.raises(InputError, match="1 sentence"):
        split_sentences(_corpus(1, 1), 0.5)
    with pytest.raises(InputError):
        split_sentences(_corpus(1, 5), 0)
