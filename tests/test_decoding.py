"""Nearest-match pairing and flat overlap resolution."""

from __future__ import annotations

import numpy as np

from mrc_ner.decoding import Candidate, mrc_candidates, nearest_match, resolve_flat, tags_to_candidates


def test_nearest_match_pairs_each_start_with_nearest_end():
    assert nearest_match([1, 0, 0, 0], [0, 1, 0, 1]) == [(0, 2)]
    assert nearest_match([1, 0, 1, 0], [0, 0, 0, 1]) == [(2, 4)]  # first start has a later start before any end
    assert nearest_match([1, 0, 0], [1, 0, 0]) == [(0, 1)]  # single-unit span
    assert nearest_match([0, 0, 1], [1, 0, 0]) == []  # an end before the start is ignored
    assert nearest_match([1, 1, 1], [1, 1, 1]) == [(0, 1), (1, 2), (2, 3)]


def test_mrc_candidates_scores_are_mean_of_start_and_end():
    start = np.array([0.9, 0.1, 0.2])
    end = np.array([0.2, 0.1, 0.7])
    (c,) = mrc_candidates(start, end, "gene")
    assert (c.start, c.end, c.label) == (0, 3, "gene")
    assert abs(c.score - 0.8) < 1e-9


def test_resolve_flat_keeps_higher_scores_and_text_order():
    c = [Candidate(0.6, 0, 4, "protein"), Candidate(0.9, 2, 3, "gene"), Candidate(0.5, 5, 7, "disease")]
    kept = resolve_flat(c)
    assert [(k.start, k.end, k.label) for k in kept] == [(2, 3, "gene"), (5, 7, "disease")]
    tie = resolve_flat([Candidate(0.5, 0, 1, "a"), Candidate(0.5, 0, 3, "b")])
    assert [(k.start, k.end, k.label) for k in tie] == [(0, 3, "b")]  # ties: the longer span


def test_tags_to_candidates_repairs_orphans_like_seqeval():
    cands = tags_to_candidates(["I-gene", "I-gene", "O", "B-protein"], [0.5, 0.7, 0.9, 0.8])
    assert [(c.start, c.end, c.label) for c in cands] == [(0, 2, "gene"), (3, 4, "protein")]
    assert abs(cands[0].score - 0.6) < 1e-9
