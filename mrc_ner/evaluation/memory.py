"""Recall on mentions seen in training and on new names.

A test mention whose exact string the training set annotates with the same type can be
recalled from memory; any other is a name the model has to generalise to. Reporting
recall on the two halves apart (as in Augenstein et al., 2017, "Generalisation in named
entity recognition") says which a method is good at: on the Chinese patents nearly every
test gene is a new name.

>>> from mrc_ner.corpus.model import Sentence, Span
>>> test = [Sentence.from_text("BRCA1和TP53", [Span(0, 5, "gene"), Span(6, 10, "gene")])]
>>> counts = recall_by_memory(test, [[Span(0, 5, "gene")]], {"BRCA1": {"gene"}})
>>> counts["gene"]
{'seen': {'support': 1, 'found': 1}, 'unseen': {'support': 1, 'found': 0}}
>>> memory_recall(counts)["gene"]
{'seen': 1.0, 'unseen': 0.0}
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence

from mrc_ner.corpus.model import Sentence, Span

Counts = dict[str, dict[str, dict[str, int]]]
HALVES = ("seen", "unseen")


def recall_by_memory(test: Sequence[Sentence], pred: Sequence[Sequence[Span]], known: Mapping[str, set[str]]) -> Counts:
    """Per gold type, strict matches among the test mentions seen / not seen in training.

    ``known`` maps a training mention string to its types
    (:func:`mrc_ner.corpus.stats.annotated_strings`); a mention is *seen* when its
    string is known with its own type. A match is the same start, end and label, as in
    the strict scores. Types sorted by name.
    """
    if len(test) != len(pred):
        raise ValueError(f"test has {len(test)} sentences but prediction has {len(pred)}")
    out: Counts = {}
    for sentence, spans in zip(test, pred):
        found = {(p.start, p.end, p.label) for p in spans}
        for g in sentence.spans:
            half = "seen" if g.label in known.get(sentence.mention(g), ()) else "unseen"
            row = out.setdefault(g.label, {h: {"support": 0, "found": 0} for h in HALVES})[half]
            row["support"] += 1
            row["found"] += (g.start, g.end, g.label) in found
    return {t: out[t] for t in sorted(out)}


def pool_memory(records: Iterable[Counts]) -> Counts:
    """Several test sets' counts summed (cross-validation folds pooled).

    >>> one = {"gene": {"seen": {"support": 1, "found": 1}, "unseen": {"support": 3, "found": 0}}}
    >>> pool_memory([one, one])["gene"]["unseen"]
    {'support': 6, 'found': 0}
    """
    out: Counts = {}
    for record in records:
        for label, halves in record.items():
            mine = out.setdefault(label, {h: {"support": 0, "found": 0} for h in HALVES})
            for half in HALVES:
                for key in ("support", "found"):
                    mine[half][key] += halves.get(half, {}).get(key, 0)
    return {t: out[t] for t in sorted(out)}


def memory_recall(counts: Counts) -> dict[str, dict[str, float | None]]:
    """Recall per type and half; None where the half has no mention."""
    return {
        label: {h: (c[h]["found"] / c[h]["support"] if c[h]["support"] else None) for h in HALVES}
        for label, c in counts.items()
    }
