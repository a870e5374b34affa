"""Several partly annotated corpora as one training set (``--train A --train B …``).

Biomedical corpora each annotate one or two types (NCBI-disease: diseases; BC2GM:
genes). Joined, every sentence records the types *its* corpus annotates in
``Sentence.annotated_types``: an MRC model asks it only those queries (``mrc-packed``
masks the other heads' loss), and a test sentence is scored only on them. A
sequence labeller ignores the mark, which is the naive union (missing types = ``O``).

A corpus's types are the types of its train, dev and test sentences together.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mrc_ner.corpus.model import Sentence
from mrc_ner.corpus.splits import load_splits
from mrc_ner.errors import InputError


@dataclass
class JointSplits:
    """Train and dev sentences of all corpora together; each corpus's test set apart."""

    train: list[Sentence]
    dev: list[Sentence]
    tests: list[tuple[str, list[Sentence]]]
    types: dict[str, list[str]]
    description: str = ""

    @property
    def test(self) -> list[Sentence]:
        """Every test sentence, in corpus order."""
        return [s for _, t in self.tests for s in t]


def corpus_types(*sets: Sequence[Sentence]) -> list[str]:
    """The sorted entity types occurring in the given sentence sets."""
    return sorted({sp.label for sents in sets for s in sents for sp in s.spans})


def mark_annotated(sentences: Sequence[Sentence], types: Sequence[str]) -> None:
    """Record ``types`` as the annotated types of every sentence that has no record yet."""
    frozen = frozenset(types)
    for s in sentences:
        if s.annotated_types is None:
            s.annotated_types = frozen


def corpus_name(path: str) -> str:
    """A short name for a corpus path: ``…/NCBI-disease/train.tsv`` → ``NCBI-disease``.

    >>> corpus_name("data/NCBI-disease/train.tsv"), corpus_name("data/cbp_gold/documents")
    ('NCBI-disease', 'documents')
    """
    p = Path(path)
    if p.suffix and p.parent.name:
        return p.parent.name
    return p.name or str(p)


def _per_corpus(values: Sequence[str], n: int, option: str) -> list[str | None]:
    if not values:
        return [None] * n
    if len(values) == 1 and n > 1:
        try:
            float(values[0])
        except ValueError:
            raise InputError(
                f"{option} was given once for {n} --train corpora: give it once per --train, in the same order (or a fraction for all)"
            ) from None
        return [values[0]] * n
    if len(values) != n:
        raise InputError(
            f"{option} was given {len(values)} times for {n} --train corpora: give it once per --train, in the same order"
        )
    return list(values)


def load_joint_splits(
    trains: Sequence[str],
    devs: Sequence[str] = (),
    tests: Sequence[str] = (),
    *,
    corpus: str | None = None,
    seed: int = 0,
    **read: Any,
) -> JointSplits:
    """Load one corpus per ``--train`` (with its ``--dev``/``--test``) and join them.

    With one corpus the sentences stay unmarked (every type annotated). With several,
    each sentence gets its corpus's types as ``annotated_types``. A single ``--dev``
    fraction applies to every corpus.
    """
    if not trains:
        raise InputError("no --train given")
    n = len(trains)
    dev_list, test_list = _per_corpus(devs, n, "--dev"), _per_corpus(tests, n, "--test")
    names: list[str] = []
    for t in trains:
        name = corpus_name(t)
        names.append(name if name not in names else f"{name}#{len(names) + 1}")
    train: list[Sentence] = []
    dev: list[Sentence] = []
    out_tests: list[tuple[str, list[Sentence]]] = []
    types: dict[str, list[str]] = {}
    parts = []
    for name, tr, dv, te in zip(names, trains, dev_list, test_list):
        splits = load_splits(tr, dv, te, corpus=corpus, seed=seed, **read)
        types[name] = corpus_types(splits.train, splits.dev, splits.test)
        if n > 1:
            for sents in (splits.train, splits.dev, splits.test):
                mark_annotated(sents, types[name])
        train += splits.train
        dev += splits.dev
        if splits.test:
            out_tests.append((name, splits.test))
        parts.append(splits.description + (f" [{', '.join(types[name])}]" if n > 1 else ""))
    return JointSplits(train, dev, out_tests, types, "; ".join(parts))
