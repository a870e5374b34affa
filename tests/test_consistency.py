"""Document-level consistency of predictions: one type per name, every occurrence of a found name tagged."""

from __future__ import annotations

import pytest

from mrc_ner.corpus.consistency import MODES, consistent_by_mode, make_consistent, name_types
from mrc_ner.corpus.model import Sentence, Span, word_sentence
from mrc_ner.errors import InputError


def _keys(spans_per_sentence):
    return [[(s.start, s.end, s.label) for s in spans] for spans in spans_per_sentence]


def test_majority_type_per_name_and_ties_left_alone() -> None:
    s = Sentence.from_text("KsdA和KsdA和KsdA和cxgB和cxgB", id="p:0")
    pred = [
        [
            Span(0, 4, "protein"),
            Span(5, 9, "gene"),
            Span(10, 14, "protein"),
            Span(15, 19, "gene"),
            Span(20, 24, "protein"),
        ]
    ]
    assert name_types([s], pred) == {"KsdA": "protein"}  # cxgB: one gene, one protein → no choice
    out, report = make_consistent([s], pred, propagate=False)
    assert _keys(out) == [
        [(0, 4, "protein"), (5, 9, "protein"), (10, 14, "protein"), (15, 19, "gene"), (20, 24, "protein")]
    ]
    assert dict(report.retyped) == {"protein": 1} and not report.added


def test_propagation_respects_latin_runs_tokens_overlaps_and_length() -> None:
    a = Sentence.from_text("SMAD2抑制癌", id="p:0")
    # SMAD2 again, inside SMAD21 (cut Latin run: no), as part of pSMAD2 (no), after Chinese (yes);
    # 癌 is one character: never propagated at min_length 2
    b = Sentence.from_text("SMAD21和pSMAD2和抑制SMAD2的癌", id="p:1")
    pred = [[Span(0, 5, "gene"), Span(7, 8, "disease")], []]
    out, report = make_consistent([a, b], pred)
    assert _keys(out) == [[(0, 5, "gene"), (7, 8, "disease")], [(16, 21, "gene")]]
    assert dict(report.added) == {"gene": 1}
    # an occurrence touching a predicted mention stays as it was
    out, _ = make_consistent([a, b], [pred[0], [Span(15, 18, "protein")]])
    assert _keys(out)[1] == [(15, 18, "protein")]


def test_word_level_occurrences_must_cover_whole_tokens() -> None:
    a = word_sentence("BRCA1 mutations cause breast cancer .", id="d:0")
    b = word_sentence("Breast cancer-like lesions and breast cancer .", id="d:1")
    pred = [[Span(22, 35, "Disease")], []]
    out, _ = make_consistent([a, b], pred)
    # "breast cancer" at 31; "cancer" inside "cancer-like" is a token, but the name starts with "breast"
    assert _keys(out)[1] == [(31, 44, "Disease")]


def test_documents_are_kept_apart_and_longest_names_first() -> None:
    a = Sentence.from_text("IL-2R和IL-2", id="p:0")
    b = Sentence.from_text("IL-2R表达", id="p:1")
    c = Sentence.from_text("IL-2R表达", id="q:0")
    pred = [[Span(0, 5, "protein"), Span(6, 10, "gene")], [], []]
    out, _ = make_consistent([a, b, c], pred)
    # IL-2R (the longer name) wins over IL-2 at the same place; document q learns nothing from p
    assert _keys(out) == [[(0, 5, "protein"), (6, 10, "gene")], [(0, 5, "protein")], []]


def test_propagated_mentions_carry_the_names_best_score() -> None:
    a = Sentence.from_text("TP53和TP53", id="p:0")
    b = Sentence.from_text("见TP53", id="p:1")
    out, _ = make_consistent([a, b], [[Span(0, 4, "gene", 0.7), Span(5, 9, "gene", 0.9)], []])
    assert [(s.start, s.label, s.score) for s in out[1]] == [(1, "gene", 0.9)]


def test_modes() -> None:
    s = Sentence.from_text("KRAS和KRAS和KRAS", id="p:0")
    pred = [[Span(0, 4, "gene"), Span(5, 9, "gene"), Span(10, 14, "protein")]]
    results = {mode: _keys(consistent_by_mode(mode, [s], pred)[0]) for mode in MODES}
    assert results["none"] == _keys(pred)
    assert results["retype"] == [[(0, 4, "gene"), (5, 9, "gene"), (10, 14, "gene")]]
    assert results["propagate"] == _keys(pred)  # every occurrence is already predicted
    assert results["both"] == results["retype"]
    with pytest.raises(InputError, match="unknown consistency mode 'all'"):
        consistent_by_mode("all", [s], pred)
    with pytest.raises(ValueError, match="1 sentences but 2"):
        make_consistent([s], [[], []])
