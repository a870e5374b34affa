"""Model outputs → spans: MRC start/end pairing, flat overlap resolution, tag decoding.

MRC decoding has two modes:

* **flat** (default): per type, each start above the threshold is paired with the
  nearest end (:func:`nearest_match`); then spans that overlap, of any type, are
  resolved to one flat labelling by score (:func:`resolve_flat`).
* **nested**: per type, the candidates of :func:`nested_pairs` (which include the
  nearest-match ones), and no resolution: spans of different types may overlap
  freely, and spans of one type may nest.

All functions here work on *units* (see :mod:`mrc_ner.encoding.alignment`) and
return unit ranges ``(first, last_exclusive, label)`` with scores; the tagger maps
them to character spans.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from mrc_ner.corpus.schemes import tags_to_chunks


@dataclass(frozen=True, order=True)
class Candidate:
    """A scored unit range ``[start, end)`` of one type."""

    score: float
    start: int
    end: int
    label: str


def nearest_match(starts: Sequence[bool] | np.ndarray, ends: Sequence[bool] | np.ndarray) -> list[tuple[int, int]]:
    """Pair each start with the nearest end at or after it, with no later start in between.

    Returns unit ranges ``(first, last_exclusive)``. A start whose nearest end lies
    beyond the next start is dropped (it has no end of its own).

    >>> nearest_match([1, 0, 0, 1, 0], [0, 1, 0, 0, 1])
    [(0, 2), (3, 5)]
    >>> nearest_match([1, 1, 0], [0, 0, 1])
    [(1, 3)]
    """
    n = len(starts)
    pairs = []
    start_pos = [i for i in range(n) if starts[i]]
    end_pos = [j for j in range(n) if ends[j]]
    e = 0
    for k, s in enumerate(start_pos):
        while e < len(end_pos) and end_pos[e] < s:
            e += 1
        if e == len(end_pos):
            break
        nxt = start_pos[k + 1] if k + 1 < len(start_pos) else n
        if end_pos[e] < nxt:
            pairs.append((s, end_pos[e] + 1))
    return pairs


def nested_pairs(
    starts: Sequence[bool] | np.ndarray, ends: Sequence[bool] | np.ndarray, *, max_length: int
) -> list[tuple[int, int]]:
    """Every start paired with every end at or after it, within ``max_length`` units, except coordinations.

    The rule: a pair ``(s, e)`` is kept when ``s`` is a start, ``e`` an end,
    ``e - s < max_length``, and the span does not hold *both* another start after
    ``s`` and another end before ``e``. A span may share its first unit with a nested
    mention (``[[IL-2 gene] expression]``) or its last one (``[human [IL-2 receptor]]``),
    but one that contains a whole other start … end boundary pair (``IL-2 and IL-4``)
    is taken to be two mentions. Nearest-match pairs always satisfy the rule.
    Returns unit ranges ``(first, last_exclusive)`` in text order.

    >>> nested_pairs([1, 0, 0], [0, 1, 1], max_length=10)
    [(0, 2), (0, 3)]
    >>> nested_pairs([1, 0, 1], [1, 0, 1], max_length=10)  # "IL-2 and IL-4"
    [(0, 1), (2, 3)]
    >>> nested_pairs([1, 1, 0], [0, 0, 1], max_length=10)
    [(0, 3), (1, 3)]
    """
    n = len(starts)
    start_pos = [i for i in range(n) if starts[i]]
    end_pos = [j for j in range(n) if ends[j]]
    pairs = []
    for s in start_pos:
        for e in end_pos:
            if e < s:
                continue
            if e - s >= max_length:
                break
            inner_start = any(s < x <= e for x in start_pos)
            inner_end = any(s <= y < e for y in end_pos)
            if not (inner_start and inner_end):
                pairs.append((s, e + 1))
    return sorted(pairs)


def mrc_candidates(
    start_probs: np.ndarray,
    end_probs: np.ndarray,
    label: str,
    *,
    threshold: float = 0.5,
    nested: bool = False,
    max_length: int = 30,
) -> list[Candidate]:
    """Candidates of one type from per-unit start/end probabilities.

    A unit is a start (an end) when its probability is above ``threshold`` (0.5 is
    the argmax of the two-class heads). Flat: :func:`nearest_match`; nested:
    :func:`nested_pairs` with ``max_length``. A span's score is the mean of its
    start and end probabilities.

    >>> c = mrc_candidates(np.array([0.9, 0.1, 0.2]), np.array([0.1, 0.6, 0.7]), "gene", nested=True)
    >>> [(x.start, x.end) for x in c]
    [(0, 2), (0, 3)]
    """
    starts = start_probs > threshold
    ends = end_probs > threshold
    pairs = nested_pairs(starts, ends, max_length=max_length) if nested else nearest_match(starts, ends)
    return [Candidate(float((start_probs[a] + end_probs[b - 1]) / 2), a, b, label) for a, b in pairs]


def resolve_flat(candidates: Sequence[Candidate]) -> list[Candidate]:
    """A flat (non-overlapping) labelling: keep candidates by descending score.

    Ties are broken by the longer span, then the earlier start. Returned in text order.

    >>> c = [Candidate(0.9, 0, 3, "gene"), Candidate(0.8, 2, 5, "protein"), Candidate(0.7, 5, 6, "gene")]
    >>> [(x.start, x.end, x.label) for x in resolve_flat(c)]
    [(0, 3, 'gene'), (5, 6, 'gene')]
    """
    taken = []
    occupied: set[int] = set()
    for c in sorted(candidates, key=lambda c: (-c.score, -(c.end - c.start), c.start)):
        if not occupied.intersection(range(c.start, c.end)):
            taken.append(c)
            occupied.update(range(c.start, c.end))
    return sorted(taken, key=lambda c: c.start)


def tags_to_candidates(tags: Sequence[str], scores: Sequence[float] | None = None) -> list[Candidate]:
    """IOB2 tags over units → candidates; a chunk's score is the mean of its units' scores."""
    out = []
    for a, b, label in tags_to_chunks(list(tags), "IOB2"):
        score = float(np.mean(scores[a:b])) if scores is not None else 1.0
        out.append(Candidate(score, a, b, label))
    return out


def merge_type_switches(tags: Sequence[str], scores: Sequence[float]) -> list[Candidate]:
    """IOB2 tags → candidates with one type per run: chunks that touch and switch type merge.

    seqeval splits ``B-protein B-gene I-gene`` into a one-unit protein and a gene that
    has lost its first unit; here the run becomes one entity typed by the largest
    summed unit score. Touching chunks of the *same* type stay two entities
    (``B-gene B-gene`` is two genes). The score is the mean unit score of the run.

    >>> c = merge_type_switches(["B-protein", "B-gene", "I-gene", "I-gene", "O", "B-gene"], [0.5, 0.9, 0.9, 0.8, 1.0, 0.7])
    >>> [(x.start, x.end, x.label) for x in c]
    [(0, 4, 'gene'), (5, 6, 'gene')]
    """
    groups: list[list[Candidate]] = []
    for c in tags_to_candidates(tags, scores):
        last = groups[-1][-1] if groups else None
        if last is not None and last.end == c.start and last.label != c.label:
            groups[-1].append(c)
        else:
            groups.append([c])
    out = []
    for group in groups:
        a, b = group[0].start, group[-1].end
        weight: dict[str, float] = {}
        for c in group:
            weight[c.label] = weight.get(c.label, 0.0) + float(np.sum(scores[c.start : c.end]))
        label = max(weight, key=lambda t: (weight[t], -[c.label for c in group].index(t)))
        out.append(Candidate(float(np.mean(scores[a:b])), a, b, label))
    return out
