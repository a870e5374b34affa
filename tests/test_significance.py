"""Paired tests over test units: the randomization p against exact enumeration, the bootstrap interval, errors."""

from __future__ import annotations

import itertools

import pytest

from mrc_ner.corpus.model import Sentence, Span
from mrc_ner.errors import InputError
from mrc_ner.evaluation import score_spans
from mrc_ner.evaluation.significance import paired_test, sum_counts, unit_counts, unit_keys


def micro_f1(counts) -> float:
    c, p, g = (sum(x[i] for x in counts) for i in range(3))
    return 2 * c / (p + g) if p + g else 0.0


def exact_p(a: dict, b: dict) -> float:
    """Every one of the 2^n swaps, the definition the sampled test approximates."""
    keys = list(a)
    observed = abs(micro_f1(a.values()) - micro_f1(b.values()))
    hits = 0
    for swap in itertools.product((0, 1), repeat=len(keys)):
        first = [b[k] if s else a[k] for k, s in zip(keys, swap)]
        second = [a[k] if s else b[k] for k, s in zip(keys, swap)]
        hits += abs(micro_f1(first) - micro_f1(second)) >= observed - 1e-12
    return hits / 2 ** len(keys)


A = {
    "u0": (3, 4, 5),
    "u1": (2, 2, 2),
    "u2": (0, 1, 1),
    "u3": (4, 5, 4),
    "u4": (1, 1, 3),
    "u5": (2, 3, 2),
    "u6": (5, 5, 6),
    "u7": (0, 0, 1),
    "u8": (2, 2, 3),
    "u9": (1, 3, 1),
}
B = {
    "u0": (2, 5, 5),
    "u1": (1, 2, 2),
    "u2": (0, 2, 1),
    "u3": (3, 4, 4),
    "u4": (1, 2, 3),
    "u5": (2, 2, 2),
    "u6": (4, 6, 6),
    "u7": (0, 1, 1),
    "u8": (1, 1, 3),
    "u9": (1, 1, 1),
}


def test_randomization_p_matches_exact_enumeration() -> None:
    exact = exact_p(A, B)
    assert 0.02 < exact < 0.9  # a case that is neither trivial nor certain
    sampled = paired_test(A, B, trials=20_000, seed=3)
    assert sampled.p_value == pytest.approx(exact, abs=0.015)
    assert sampled.difference == pytest.approx(micro_f1(A.values()) - micro_f1(B.values()))


def test_interval_brackets_the_difference_and_is_deterministic() -> None:
    t = paired_test(A, B, trials=4000, seed=1)
    assert t.low < t.difference < t.high and t.units == 10 and t.trials == 4000
    assert paired_test(A, B, trials=4000, seed=1) == t
    assert paired_test(A, B, trials=4000, seed=2) != t
    # swapping the sides mirrors the difference
    assert paired_test(B, A, trials=4000, seed=1).difference == pytest.approx(-t.difference)


def test_identical_outputs_are_never_significant() -> None:
    t = paired_test(A, A, trials=300)
    assert t.difference == 0.0 and t.p_value == 1.0 and t.low == t.high == 0.0


def test_unit_counts_sum_to_the_reported_micro_counts() -> None:
    gold = [[Span(0, 2, "g"), Span(3, 5, "d")], [Span(0, 4, "g")], []]
    pred = [[Span(0, 2, "g"), Span(3, 5, "g")], [Span(0, 3, "g")], [Span(1, 2, "d")]]
    sentences = [Sentence.from_text("abcdef", id=i) for i in ("p1:0", "p1:1", "p2:0")]
    kind, keys = unit_keys(sentences)
    assert kind == "document" and keys == ["p1", "p1", "p2"]
    counts = unit_counts(gold, pred, keys)
    micro = score_spans(gold, pred).micro
    assert counts == {"p1": (1, 3, 3), "p2": (0, 1, 0)}
    assert [sum(c[i] for c in counts.values()) for i in range(3)] == [micro.correct, micro.predicted, micro.support]
    assert sum_counts([counts, counts])["p1"] == (2, 6, 6)


def test_mismatched_sides_are_clear_errors() -> None:
    with pytest.raises(InputError, match="different test units"):
        paired_test(A, {**B, "extra": (0, 0, 0)})
    with pytest.raises(InputError, match="different gold"):
        paired_test(A, {**B, "u0": (2, 5, 6)})
    with pytest.raises(InputError, match="at least one"):
        paired_test({}, {})
    with pytest.raises(InputError, match="trials"):
        paired_test(A, B, trials=0)
