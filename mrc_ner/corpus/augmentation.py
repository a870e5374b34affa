"""Mention replacement: training sentences whose gold mentions are swapped for other names of their type.

Each patent names its own genes, and almost no test gene was annotated in training
(BENCHMARKS.md, "Genes are new names in every test fold"): a model that learns the names
by heart finds nothing new. Replacing a mention with another training name of the same
type (Dai & Adel, 2020, "mention replacement") keeps the context and varies the name, so
the context has to carry the decision. The training loop draws a fresh replacement each
epoch (``TrainArgs.mention_replacement``); dev and test are never touched.

>>> from mrc_ner.corpus.model import Sentence, Span
>>> train = [Sentence.from_text("SMAD2抑制", [Span(0, 5, "gene")]), Sentence.from_text("敲除BAMBI", [Span(2, 7, "gene")])]
>>> new, replaced = replace_mentions(train, rate=1.0, seed=0)
>>> [(s.text, [s.mention(x) for x in s.spans]) for s in new], replaced
([('BAMBI抑制', ['BAMBI']), ('敲除SMAD2', ['SMAD2'])], 2)
"""

from __future__ import annotations

import random
from collections.abc import Sequence

from mrc_ner.corpus.model import Sentence
from mrc_ner.errors import InputError

Name = tuple[str, ...]


def token_ranges(sentence: Sentence) -> list[tuple[int, int, str]] | None:
    """The sentence's spans as token ranges ``(first, last_exclusive, label)``, in text order.

    None when a span does not start and end on token boundaries or two spans overlap:
    such a sentence is left as it is.
    """
    starts, ends = sentence.token_index()
    ranges = []
    for span in sorted(sentence.spans):
        if span.start not in starts or span.end not in ends:
            return None
        ranges.append((starts[span.start], ends[span.end] + 1, span.label))
    if any(b > c for (_, b, _), (c, _, _) in zip(ranges, ranges[1:])):
        return None
    return ranges


def name_pool(sentences: Sequence[Sentence]) -> dict[str, list[Name]]:
    """Per type, the distinct names (token strings) its gold mentions use, in first-seen order.

    >>> from mrc_ner.corpus.model import Sentence, Span
    >>> name_pool([Sentence.from_text("BRCA1 BRCA1", [Span(0, 5, "gene"), Span(6, 11, "gene")])])
    {'gene': [('B', 'R', 'C', 'A', '1')]}
    """
    pool: dict[str, dict[Name, None]] = {}
    for sentence in sentences:
        ranges = token_ranges(sentence)
        for first, last, label in ranges or ():
            pool.setdefault(label, {})[tuple(sentence.words[first:last])] = None
    return {label: list(names) for label, names in pool.items()}


def replace_in(
    sentence: Sentence, pool: dict[str, list[Name]], rate: float, rng: random.Random
) -> tuple[Sentence, int]:
    """``sentence`` with each mention replaced, with probability ``rate``, by another name of its type.

    Returns the new sentence (tokens rebuilt, spans on the new names, id and annotated
    types kept) and how many mentions it replaced. Token texts are joined as the sentence
    joins them: directly at character level, by one space at word level.
    """
    ranges = token_ranges(sentence)
    if not ranges or rate <= 0:
        return sentence, 0
    words = sentence.words
    new_words: list[str] = []
    new_ranges = []
    replaced, position = 0, 0
    for first, last, label in ranges:
        new_words.extend(words[position:first])
        name: Name = tuple(words[first:last])
        others = [n for n in pool.get(label, ()) if n != name]
        if others and rng.random() < rate:
            name = rng.choice(others)
            replaced += 1
        new_ranges.append((len(new_words), len(new_words) + len(name), label))
        new_words.extend(name)
        position = last
    if not replaced:
        return sentence, 0
    new_words.extend(words[position:])
    new = Sentence.from_tokens(
        new_words,
        char_level=sentence.char_level,
        spans_by_token=new_ranges,
        id=sentence.id,
        annotated_types=sentence.annotated_types,
    )
    return new, replaced


def replace_mentions(
    sentences: Sequence[Sentence], *, rate: float, seed: int, epoch: int = 0
) -> tuple[list[Sentence], int]:
    """Every sentence with its mentions replaced at ``rate`` (:func:`replace_in`), and how many were.

    Names are drawn from ``sentences``' own mentions. The draw depends only on ``seed`` and
    ``epoch``, so a resumed run sees the epoch it would have seen.
    """
    if not 0.0 <= rate <= 1.0:
        raise InputError(f"mention replacement rate must be in [0, 1], got {rate}")
    pool = name_pool(sentences)
    rng = random.Random(f"mention-replacement:{seed}:{epoch}")
    out, total = [], 0
    for sentence in sentences:
        new, n = replace_in(sentence, pool, rate, rng)
        out.append(new)
        total += n
    return out, total
