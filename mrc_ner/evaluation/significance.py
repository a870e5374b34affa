"""Is one method's micro F1 ahead of another's on the same test set by more than luck?

With one run per method (one split, one seed) there is no spread over runs to t-test,
but the test set itself says how far a difference could come from which sentences
happened to be in it. Two paired tests over *units* of the test set, the field's
usual ones for F1 (which does not decompose over sentences, so no closed-form test):

* **approximate randomization** (Noreen 1989; Yeh 2000, recommended for F1 by
  Dror et al. 2018): under the null hypothesis the two methods' outputs on a unit
  are exchangeable; swap them on a random half of the units, many times, and count
  how often the pooled micro-F1 difference is at least as large as the observed one.
  ``p = (1 + hits) / (1 + trials)``.
* **paired bootstrap** (Koehn 2004; Berg-Kirkpatrick et al. 2012): resample units
  with replacement; the percentiles of the difference give its confidence interval.

A *unit* is a document when the test set has several (the sentences of one patent
are not independent, and cross-validation splits by document), otherwise a sentence
(a TSV benchmark is one file without document boundaries). Counts of one unit key are
summed over runs, so over several seeds of one split a sentence is swapped in all
seeds at once. Both tests see only the test set's sampling; the spread over training
seeds is a different question, answered by the t-test over runs.

>>> from mrc_ner.corpus.model import Sentence, Span
>>> gold = [[Span(0, 2, "g")], [Span(0, 2, "g")], [Span(3, 5, "g")]]
>>> unit_counts(gold, [[Span(0, 2, "g")], [], [Span(3, 5, "g")]], ["s0", "s1", "s2"])
{'s0': (1, 1, 1), 's1': (0, 0, 1), 's2': (1, 1, 1)}
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from mrc_ner.corpus.model import Sentence, Span, document_of
from mrc_ner.errors import InputError
from mrc_ner.evaluation.metrics import score_spans

#: (correct, predicted, gold) mentions of one unit, strict matching, all types together
Counts = tuple[int, int, int]
UNIT_KINDS = ("document", "sentence")
_CHUNK = 500  # trials per matrix product: bounds memory at 500 × units floats


def unit_keys(sentences: Sequence[Sentence]) -> tuple[str, list[str]]:
    """``(kind, key per sentence)``: the sentence's document where the set has several, else its id.

    >>> from mrc_ner.corpus.model import Sentence
    >>> unit_keys([Sentence.from_text("a", id="d1:0"), Sentence.from_text("b", id="d2:0")])
    ('document', ['d1', 'd2'])
    >>> unit_keys([Sentence.from_text("a", id="test:0"), Sentence.from_text("b", id="test:1")])
    ('sentence', ['test:0', 'test:1'])
    """
    documents = [document_of(s) for s in sentences]
    if len(set(documents)) > 1:
        return "document", documents
    return "sentence", [s.id or str(i) for i, s in enumerate(sentences)]


def unit_counts(
    gold: Sequence[Sequence[Span]], pred: Sequence[Sequence[Span]], keys: Sequence[str]
) -> dict[str, Counts]:
    """Strict micro counts ``(correct, predicted, gold)`` per unit key, in first-seen order.

    Each sentence is scored by :func:`~mrc_ner.evaluation.metrics.score_spans`, so the
    counts sum to exactly the totals behind the reported micro F1.
    """
    if not len(gold) == len(pred) == len(keys):
        raise ValueError(f"{len(gold)} gold sentences, {len(pred)} predicted, {len(keys)} unit keys")
    out: dict[str, list[int]] = {}
    for key, g, p in zip(keys, gold, pred):
        micro = score_spans([g], [p]).micro
        row = out.setdefault(key, [0, 0, 0])
        row[0] += micro.correct
        row[1] += micro.predicted
        row[2] += micro.support
    return {k: (c, p, g) for k, (c, p, g) in out.items()}


def sum_counts(records: Sequence[Mapping[str, Sequence[int]]]) -> dict[str, Counts]:
    """Several runs' unit counts added key by key (one test set seen by several seeds).

    >>> sum_counts([{"a": (1, 2, 3)}, {"a": [1, 0, 3], "b": [0, 1, 0]}])
    {'a': (2, 2, 6), 'b': (0, 1, 0)}
    """
    out: dict[str, list[int]] = {}
    for record in records:
        for key, (c, p, g) in record.items():
            row = out.setdefault(key, [0, 0, 0])
            row[0], row[1], row[2] = row[0] + c, row[1] + p, row[2] + g
    return {k: (c, p, g) for k, (c, p, g) in out.items()}


@dataclass(frozen=True)
class PairedTest:
    """F1(a) − F1(b) on the pooled units, its bootstrap interval, and the randomization p-value."""

    difference: float
    low: float
    high: float
    p_value: float
    units: int
    trials: int

    def to_dict(self) -> dict[str, float | int]:
        """JSON-ready, keyed like the attributes."""
        return {
            "difference": self.difference,
            "low": self.low,
            "high": self.high,
            "p": self.p_value,
            "units": self.units,
            "trials": self.trials,
        }


def _f1(totals: np.ndarray) -> np.ndarray:
    """Micro F1 of rows ``(correct, predicted, gold)``: ``2c / (p + g)``, 0 where nothing was predicted nor gold."""
    denominator = totals[..., 1] + totals[..., 2]
    return np.divide(2 * totals[..., 0], denominator, out=np.zeros_like(denominator), where=denominator > 0)


def _matrices(a: Mapping[str, Sequence[int]], b: Mapping[str, Sequence[int]]) -> tuple[np.ndarray, np.ndarray]:
    if a.keys() != b.keys():
        only = sorted(set(a) ^ set(b))
        raise InputError(f"the two methods were scored on different test units (e.g. {only[:3]})")
    if not a:
        raise InputError("a paired test needs at least one test unit")
    keys = list(a)
    gold_a, gold_b = [a[k][2] for k in keys], [b[k][2] for k in keys]
    if gold_a != gold_b:
        raise InputError("the two methods' units hold different gold mentions: not the same test set")
    return np.array([a[k] for k in keys], dtype=np.float64), np.array([b[k] for k in keys], dtype=np.float64)


def paired_test(
    a: Mapping[str, Sequence[int]],
    b: Mapping[str, Sequence[int]],
    *,
    trials: int = 10_000,
    seed: int = 0,
    level: float = 0.95,
) -> PairedTest:
    """Approximate randomization p-value and paired-bootstrap interval of micro F1(a) − F1(b).

    ``a`` and ``b`` map the same unit keys to ``(correct, predicted, gold)``
    (:func:`unit_counts`). Deterministic for a ``seed``.

    >>> a = {f"s{i}": (1, 1, 1) for i in range(40)}
    >>> b = {f"s{i}": (1 if i < 20 else 0, 1, 1) for i in range(40)}
    >>> t = paired_test(a, b, trials=2000)
    >>> round(t.difference, 2), t.p_value < 0.001, t.low > 0.3
    (0.5, True, True)
    >>> paired_test(a, a, trials=100).p_value
    1.0
    """
    if trials < 1:
        raise InputError(f"trials must be at least 1, got {trials}")
    if not 0 < level < 1:
        raise InputError(f"level must be between 0 and 1, got {level}")
    ma, mb = _matrices(a, b)
    observed = float(_f1(ma.sum(0)) - _f1(mb.sum(0)))
    rng = np.random.default_rng(seed)
    n = len(ma)
    delta, total_a, total_b = mb - ma, ma.sum(0), mb.sum(0)
    hits, differences = 0, []
    tolerance = 1e-12
    for start in range(0, trials, _CHUNK):
        size = min(_CHUNK, trials - start)
        swap = rng.integers(0, 2, size=(size, n)).astype(np.float64)
        moved = swap @ delta  # what swapping the chosen units moves from b's side to a's
        shuffled = _f1(total_a + moved) - _f1(total_b - moved)
        hits += int(np.sum(np.abs(shuffled) >= abs(observed) - tolerance))
        weights = rng.multinomial(n, np.full(n, 1.0 / n), size=size).astype(np.float64)
        differences.append(_f1(weights @ ma) - _f1(weights @ mb))
    spread = np.concatenate(differences)
    tail = (1 - level) / 2
    low, high = np.quantile(spread, [tail, 1 - tail])
    return PairedTest(observed, float(low), float(high), (1 + hits) / (1 + trials), n, trials)
