"""The folds of a comparison: published, k-fold, explicit TRAIN,DEV,TEST paths, or a union of partly annotated corpora."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

from mrc_ner.corpus.model import Corpus, Sentence
from mrc_ner.errors import InputError


@dataclass
class FoldData:
    """One fold's sentences, and the entity types every method of the comparison uses."""

    name: str
    train: list[Sentence]
    dev: list[Sentence]
    test: list[Sentence]
    labels: list[str]
    #: for a union of corpora: each corpus's name and test sentences (scored on its own types)
    corpora: list[tuple[str, list[Sentence]]] = field(default_factory=list)


def _labels(sentences: Sequence[Sentence]) -> list[str]:
    return sorted({sp.label for s in sentences for sp in s.spans})


def _explicit_split(spec: str) -> tuple[list[Sentence], list[Sentence], list[Sentence]]:
    from mrc_ner.corpus.readers import read_corpus

    parts = [p.strip() for p in spec.split(",")]
    if len(parts) != 3 or not parts[0] or not parts[2]:
        raise InputError(f"bad --folds {spec!r}: explicit splits are three paths TRAIN,DEV,TEST (DEV may be empty)")
    train, dev, test = (read_corpus(p).sentences if p else [] for p in parts)
    return train, dev, test


def union_fold(spec: str) -> FoldData:
    """``A_TRAIN,A_DEV,A_TEST+B_TRAIN,B_DEV,B_TEST…``: one fold, ``union``, over partly annotated corpora.

    Each corpus's sentences record its types (``annotated_types``): MRC rows ask
    them only those queries, softmax/crf rows learn the naive union (missing types =
    ``O``), and every row is scored on each corpus's test set on its own types.
    """
    from mrc_ner.corpus.joint import corpus_name, corpus_types, mark_annotated

    train: list[Sentence] = []
    dev: list[Sentence] = []
    corpora: list[tuple[str, list[Sentence]]] = []
    for part in spec.split("+"):
        tr, dv, te = _explicit_split(part)
        mark_annotated([*tr, *dv, *te], corpus_types(tr, dv, te))
        name = corpus_name(part.split(",")[0].strip())
        names = [n for n, _ in corpora]
        corpora.append((name if name not in names else f"{name}#{len(names) + 1}", te))
        train += tr
        dev += dv
    test = [s for _, te in corpora for s in te]
    return FoldData("union", train, dev, test, _labels([*train, *dev, *test]), corpora)


def load_folds(
    spec: str, corpus: str | Path | None = None, *, seed: int = 0, dev_docs: int | float = 1, only: Sequence[str] = ()
) -> list[FoldData]:
    """The folds of a ``--folds`` spec.

    * ``published`` / ``published=DIR`` / ``k=N`` — :func:`~mrc_ner.corpus.folds.parse_folds_spec`
      over the documents of ``corpus`` (the published folds live in ``<corpus>/../folds``);
    * ``TRAIN,DEV,TEST`` — three paths (files or directories; DEV may be empty:
      ``TRAIN,,TEST``), one fold named ``split``; ``corpus`` is not needed.

    Every fold gets the label set of the whole corpus (of the three sets for paths), so
    all rows and folds share the same types. ``only`` keeps the named folds.
    """
    from mrc_ner.corpus.folds import parse_folds_spec
    from mrc_ner.corpus.readers import read_corpus

    if "+" in spec:
        folds = [union_fold(spec)]
    elif "," in spec:
        train, dev, test = _explicit_split(spec)
        folds = [FoldData("split", train, dev, test, _labels([*train, *dev, *test]))]
    else:
        if corpus is None:
            raise InputError(f"--folds {spec} needs --corpus (the documents directory)")
        full: Corpus = read_corpus(corpus)
        labels = full.labels
        folds = []
        for f in parse_folds_spec(
            spec, doc_ids=[d.id for d in full.documents], corpus_dir=corpus, seed=seed, dev_docs=dev_docs
        ):
            folds.append(
                FoldData(
                    f.name,
                    full.subset(f.train).sentences,
                    full.subset(f.dev).sentences if f.dev else [],
                    full.subset(f.test).sentences,
                    labels,
                )
            )
    if only:
        names = [f.name for f in folds]
        unknown = [n for n in only if n not in names]
        if unknown:
            raise InputError(f"no fold named {', '.join(unknown)}; the folds are {', '.join(names)}")
        folds = [f for f in folds if f.name in only]
    for fold in folds:
        if not fold.train or not fold.test:
            raise InputError(f"fold {fold.name} has no {'training' if not fold.train else 'test'} sentences")
    if not folds[0].labels:
        raise InputError("no entity types: the corpus has no labelled mentions")
    return folds


SEED_MARK = ".seed"
_SEEDED = re.compile(rf"^(?P<fold>.+){re.escape(SEED_MARK)}\d+$")


def seeded_fold(fold: FoldData, seed: int, *, base_seed: int) -> FoldData:
    """``fold`` as one run of ``--seeds``: the base seed keeps the fold's name, others are ``<fold>.seed<N>``.

    So the cells of an earlier single-seed run are reused, and every (fold, seed) run
    is one unit of the mean ± std and of the paired t-test.

    >>> f = FoldData("split", [], [], [], ["gene"])
    >>> seeded_fold(f, 42, base_seed=42).name, seeded_fold(f, 7, base_seed=42).name
    ('split', 'split.seed7')
    """
    return fold if seed == base_seed else replace(fold, name=f"{fold.name}{SEED_MARK}{seed}")


def fold_of_run(name: str) -> str:
    """The fold a run name belongs to (``k5-0.seed7`` → ``k5-0``; a plain fold name is its own).

    >>> fold_of_run("k5-0.seed7"), fold_of_run("split")
    ('k5-0', 'split')
    """
    m = _SEEDED.match(name)
    return m.group("fold") if m else name


def parse_seeds(text: str) -> list[int]:
    """``--seeds 42,43,44`` → ``[42, 43, 44]``; a value that is not a non-negative integer, or a repeat, is an error.

    >>> parse_seeds("42, 7")
    [42, 7]
    """
    seeds: list[int] = []
    for part in (p.strip() for p in text.split(",")):
        if not part.isdigit():
            raise InputError(f"bad --seeds value {part!r}: seeds are non-negative integers, comma-separated (42,43,44)")
        if int(part) in seeds:
            raise InputError(f"--seeds names {part} twice")
        seeds.append(int(part))
    return seeds
