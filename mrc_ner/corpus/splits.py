"""Train / dev / test sentence sets from what a user names on the command line.

* ``--train`` a file or directory (one document per file), or a published fold's
  ``train_test_split.info`` (then dev and test default to that fold's documents,
  read from ``<folds>/../documents``);
* ``--dev`` a path, or a fraction such as ``0.1`` of the training documents (of the
  training sentences when the training set is a single document, e.g. NCBI train.tsv).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import partial
from pathlib import Path

from mrc_ner.corpus.documents import ReadReport
from mrc_ner.corpus.folds import dev_fraction_split, parse_split_info, split_sentences
from mrc_ner.corpus.model import Corpus, Sentence
from mrc_ner.corpus.readers import read_corpus as read_any
from mrc_ner.errors import InputError


@dataclass
class Splits:
    """Sentences for training, selection and testing (dev/test may be empty)."""

    train: list[Sentence]
    dev: list[Sentence]
    test: list[Sentence]
    description: str = ""


def _fraction(value: str) -> float | None:
    try:
        f = float(value)
    except ValueError:
        return None
    if not 0 < f < 1:
        raise InputError(f"--dev fraction must be between 0 and 1, got {value}")
    return f


def load_splits(
    train: str,
    dev: str | None = None,
    test: str | None = None,
    *,
    corpus: str | None = None,
    seed: int = 0,
    format: str = "auto",
    discontinuous: str = "error",
    report: ReadReport | None = None,
) -> Splits:
    """Resolve the three sets (see the module docstring); ``format`` etc. go to every read."""
    read_corpus = partial(read_any, format=format, discontinuous=discontinuous, report=report)
    train_path = Path(train)
    test_corpus: Corpus | None = None
    dev_corpus: Corpus | None = None
    if train_path.name.endswith(".info"):
        fold = parse_split_info(train_path)
        docs_dir = Path(corpus) if corpus else train_path.parent.parent.parent / "documents"
        full = read_corpus(docs_dir)
        train_corpus = full.subset(fold.train)
        if dev is None and fold.dev:
            dev_corpus = full.subset(fold.dev)
        if test is None and fold.test:
            test_corpus = full.subset(fold.test)
        what = f"fold {train_path} ({len(fold.train)} train, {len(fold.dev)} dev, {len(fold.test)} test documents)"
    else:
        train_corpus = read_corpus(train_path)
        what = f"train {train_path}"
    if dev is not None:
        frac = _fraction(dev)
        if frac is None:
            dev_corpus = read_corpus(dev)
        elif len(train_corpus) > 1:
            tr, dv = dev_fraction_split([d.id for d in train_corpus], frac, seed=seed)
            train_corpus, dev_corpus = train_corpus.subset(tr), train_corpus.subset(dv)
        else:
            train_corpus, dev_corpus = split_sentences(train_corpus, frac, seed=seed)
    if test is not None:
        test_corpus = read_corpus(test)
    return Splits(
        train_corpus.sentences,
        dev_corpus.sentences if dev_corpus else [],
        test_corpus.sentences if test_corpus else [],
        what,
    )
