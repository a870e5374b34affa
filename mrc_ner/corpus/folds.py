"""Document-level train/dev/test splits: the published cbp folds, a proper k-fold, dev splits.

A :class:`Fold` names documents by id — the id the readers give a document, i.e. the
file stem (``documents/10_2015-12-30-CN105209881A.bio`` → ``10_2015-12-30-CN105209881A``).

Two protocols exist for the Chinese patents and they are not the same thing:

* ``published`` — the paper's five splits as released (``folds/<k>/train_test_split.info``).
  They are *not* a partition: one patent (HG-12) is tested in two folds and only nine
  patents are ever tested.
* ``k=N`` — :func:`kfold`, a seeded partition of the documents into N test folds: every
  document is tested exactly once. Report which one was used.

>>> [f.test for f in kfold(["a", "b", "c", "d"], k=2, seed=0, dev_docs=0)]
[['a', 'c'], ['b', 'd']]
"""

from __future__ import annotations

import os
import random
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path

from mrc_ner.corpus.model import Corpus, Document
from mrc_ner.errors import InputError

INFO_FILE = "train_test_split.info"
PUBLISHED_SUFFIXES = ("-plain.txt.anns", ".bio")
_SECTIONS = {"train files:": "train", "dev files:": "dev", "test files:": "test"}


@dataclass(frozen=True)
class Fold:
    """One split of a corpus into train, dev and test documents (ids, in a fixed order)."""

    name: str
    train: list[str]
    dev: list[str]
    test: list[str]

    @property
    def ids(self) -> list[str]:
        """Every document id of the fold: train, then dev, then test."""
        return [*self.train, *self.dev, *self.test]


def published_doc_id(name: str) -> str:
    """The corpus document id for a name in a published split file.

    >>> published_doc_id("10_2015-12-30-CN105209881A-plain.txt.anns")
    '10_2015-12-30-CN105209881A'
    """
    for suffix in PUBLISHED_SUFFIXES:
        if name.endswith(suffix):
            return name[: -len(suffix)]
    return name


def parse_split_info(path: str | os.PathLike, *, name: str | None = None) -> Fold:
    """Read one ``train_test_split.info`` file into a :class:`Fold`.

    Sections start with ``Train files:``, ``Test files:`` or ``Dev files:`` (any order,
    each exactly once), one document name per line; lines of ``=`` separate them.
    Raises :class:`InputError` with ``path:line`` for anything else.
    """
    path = Path(path)
    from mrc_ner.io import read_text_lines

    parts: dict[str, list[str]] = {}
    where: dict[str, int] = {}  # document id -> line, to report duplicates
    section: str | None = None
    for lineno, raw in enumerate(read_text_lines(path), start=1):
        line = raw.strip()
        if not line or set(line) == {"="}:
            continue
        key = line.lower()
        if key in _SECTIONS:
            section = _SECTIONS[key]
            if section in parts:
                raise InputError(f"section {line!r} appears twice", path=path, line=lineno)
            parts[section] = []
            continue
        if section is None:
            raise InputError(
                f"document name {line!r} before any 'Train files:'/'Dev files:'/'Test files:' header",
                path=path,
                line=lineno,
            )
        if line.endswith(":") or any(ch.isspace() for ch in line):
            raise InputError(f"expected a document name or a section header, found {line!r}", path=path, line=lineno)
        doc = published_doc_id(line)
        if doc in where:
            raise InputError(f"document {doc!r} listed twice (first on line {where[doc]})", path=path, line=lineno)
        where[doc] = lineno
        parts[section].append(doc)
    missing = [s for s in ("train", "dev", "test") if s not in parts]
    if missing:
        raise InputError(f"missing section(s): {', '.join(s.capitalize() + ' files:' for s in missing)}", path=path)
    if not parts["train"] or not parts["test"]:
        raise InputError("a split needs at least one train and one test document", path=path)
    return Fold(
        name=name if name is not None else path.parent.name, train=parts["train"], dev=parts["dev"], test=parts["test"]
    )


def read_published_folds(folds_dir: str | os.PathLike) -> list[Fold]:
    """Read every ``<folds_dir>/<k>/train_test_split.info``, ordered by ``k`` (numeric first).

    Fold names are the sub-directory names (``"0"`` … ``"4"`` for cbp_gold).
    """
    folds_dir = Path(folds_dir)
    if not folds_dir.is_dir():
        raise InputError("folds directory not found", path=folds_dir)
    subdirs = [p for p in folds_dir.iterdir() if (p / INFO_FILE).is_file()]
    if not subdirs:
        raise InputError(f"no <k>/{INFO_FILE} files in this directory", path=folds_dir)
    subdirs.sort(key=lambda p: (not p.name.isdigit(), int(p.name) if p.name.isdigit() else 0, p.name))
    return [parse_split_info(p / INFO_FILE, name=p.name) for p in subdirs]


def _check_ids(doc_ids: Sequence[str]) -> list[str]:
    ids = list(doc_ids)
    seen: set[str] = set()
    dups = sorted({i for i in ids if i in seen or seen.add(i)})  # type: ignore[func-returns-value]
    if dups:
        raise InputError(f"duplicate document id(s): {', '.join(dups)}")
    return ids


def _dev_count(dev: int | float, available: int) -> int:
    """How many of ``available`` documents a dev option asks for: a count, or a fraction in (0, 1)."""
    if isinstance(dev, bool) or dev < 0 or (isinstance(dev, float) and dev > 1 and not dev.is_integer()):
        raise InputError(f"dev size must be a count ≥ 0 or a fraction in (0, 1), got {dev!r}")
    n = max(1, round(dev * available)) if 0 < dev < 1 else int(dev)
    if n >= available:
        raise InputError(f"dev size {dev!r} leaves no training documents (only {available} available)")
    return n


def kfold(doc_ids: Sequence[str], *, k: int = 5, seed: int = 0, dev_docs: int | float = 1) -> list[Fold]:
    """Partition documents into ``k`` test folds after a seeded shuffle.

    Fold ``i`` tests the ``i``-th part; its dev documents (``dev_docs``: a count, or a
    fraction of the remaining documents) are the first ones of the parts after it, and
    the rest train. Every document is tested exactly once; within a fold train, dev and
    test are disjoint. Lists keep the order of ``doc_ids``. Fold names are ``k5-0`` ….

    >>> folds = kfold(["a", "b", "c"], k=3, seed=1, dev_docs=1)
    >>> sorted(d for f in folds for d in f.test), [len(f.train) for f in folds]
    (['a', 'b', 'c'], [1, 1, 1])
    """
    ids = _check_ids(doc_ids)
    if k < 2:
        raise InputError(f"k-fold needs k ≥ 2, got {k}")
    if k > len(ids):
        raise InputError(f"cannot make {k} folds from {len(ids)} document(s)")
    order = ids[:]
    random.Random(seed).shuffle(order)
    bounds = [round(i * len(order) / k) for i in range(k + 1)]
    parts = [order[bounds[i] : bounds[i + 1]] for i in range(k)]
    folds = []
    for i in range(k):
        rest = [d for j in range(1, k) for d in parts[(i + j) % k]]
        dev = set(rest[: _dev_count(dev_docs, len(rest))])
        test = set(parts[i])
        train = [d for d in ids if d not in test and d not in dev]
        folds.append(
            Fold(f"k{k}-{i}", train=train, dev=[d for d in ids if d in dev], test=[d for d in ids if d in test])
        )
    return folds


def parse_folds_spec(
    spec: str,
    *,
    doc_ids: Sequence[str],
    folds_dir: str | os.PathLike | None = None,
    corpus_dir: str | os.PathLike | None = None,
    seed: int = 0,
    dev_docs: int | float = 1,
) -> list[Fold]:
    """Folds from a command-line spec, checked against the corpus' document ids.

    * ``published`` — :func:`read_published_folds` of ``folds_dir``, or of
      ``<corpus_dir>/../folds`` when only ``corpus_dir`` is given;
      ``published=DIR`` names the directory in the spec itself.
    * ``k=N`` — :func:`kfold` with ``k=N``, ``seed`` and ``dev_docs``.

    Explicit train/dev/test files are the caller's business, not a spec.
    """
    text = spec.strip()
    key, sep, value = text.partition("=")
    key = key.strip().lower()
    if key == "k":
        try:
            k = int(value)
        except ValueError:
            raise InputError(f"bad folds spec {spec!r}: k=N needs an integer N") from None
        return kfold(doc_ids, k=k, seed=seed, dev_docs=dev_docs)
    if key == "published":
        if sep:
            folds_dir = value.strip()
        if folds_dir is None:
            if corpus_dir is None:
                raise InputError("folds spec 'published' needs a folds directory (published=DIR)")
            folds_dir = Path(corpus_dir).resolve().parent / "folds"
        folds = read_published_folds(folds_dir)
        known = set(doc_ids)
        for fold in folds:
            missing = [d for d in fold.ids if d not in known]
            if missing:
                raise InputError(
                    f"fold {fold.name} names document(s) not in the corpus: {', '.join(missing)}",
                    path=Path(folds_dir) / fold.name / INFO_FILE,
                )
        return folds
    raise InputError(f"bad folds spec {spec!r}: use 'published', 'published=DIR' or 'k=N'")


def dev_fraction_split(doc_ids: Sequence[str], fraction: float, *, seed: int = 0) -> tuple[list[str], list[str]]:
    """Hold out ``fraction`` of the documents (at least one) as dev, after a seeded shuffle.

    Both lists keep the order of ``doc_ids``. A corpus of one document cannot be split
    this way: use :func:`split_sentences` (what ``--dev 0.1`` does for NCBI's single
    ``train.tsv``).

    >>> dev_fraction_split(["a", "b", "c", "d"], 0.25, seed=0)
    (['a', 'b', 'd'], ['c'])
    """
    ids = _check_ids(doc_ids)
    if not 0 < fraction < 1:
        raise InputError(f"dev fraction must be in (0, 1), got {fraction!r}")
    if len(ids) < 2:
        raise InputError(f"cannot hold out documents from {len(ids)} document(s); split sentences instead")
    order = ids[:]
    random.Random(seed).shuffle(order)
    dev = set(order[: _dev_count(fraction, len(ids))])
    return [d for d in ids if d not in dev], [d for d in ids if d in dev]


def split_sentences(corpus: Corpus, fraction: float, *, seed: int = 0) -> tuple[Corpus, Corpus]:
    """Hold out ``fraction`` of all sentences (at least one) as dev, after a seeded shuffle.

    For corpora that are one document (NCBI-disease's ``train.tsv``), where a
    document-level split is impossible. Both corpora keep every document id that still
    has sentences, sentences in their original order, with their ids; the sentences
    are copies (offsets are recomputed in each new document), ``corpus`` is unchanged.
    """
    if not 0 < fraction < 1:
        raise InputError(f"dev fraction must be in (0, 1), got {fraction!r}")
    keys = [(di, si) for di, d in enumerate(corpus.documents) for si in range(len(d.sentences))]
    if len(keys) < 2:
        raise InputError(f"cannot hold out sentences from a corpus of {len(keys)} sentence(s)")
    shuffled = keys[:]
    random.Random(seed).shuffle(shuffled)
    dev = set(shuffled[: _dev_count(fraction, len(keys))])

    def build(keep: bool, name: str) -> Corpus:
        docs = []
        for di, d in enumerate(corpus.documents):
            sents = [
                replace(s, spans=list(s.spans), tokens=list(s.tokens))
                for si, s in enumerate(d.sentences)
                if ((di, si) in dev) == keep
            ]
            if sents:
                docs.append(Document(d.id, sents))
        return Corpus(docs, name=name)

    return build(False, f"{corpus.name}[train]"), build(True, f"{corpus.name}[dev]")
