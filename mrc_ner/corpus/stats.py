"""Corpus statistics: sizes, mentions and unique mentions per type, most frequent mentions.

:func:`corpus_stats` returns plain JSON-ready data; :func:`stats_tables` renders it as
rich tables — a summary, and the patents paper's Table 5 layout (one block of columns
per type holding its most frequent mentions, side by side).

>>> from mrc_ner.corpus.model import Corpus, Document, Sentence, Span
>>> s = Sentence.from_text("BRCA1和BRCA1", [Span(0, 5, "gene"), Span(6, 11, "gene")])
>>> st = corpus_stats(Corpus([Document("d", [s])]), top=1)
>>> st["mentions"], st["unique"], st["top"]
({'gene': 2}, {'gene': 1}, {'gene': [['BRCA1', 2]]})
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from rich.table import Table

from mrc_ner.corpus.model import Corpus, Sentence


def top_mentions(counts: dict[str, int], k: int) -> list[list[Any]]:
    """The ``k`` most frequent ``[text, count]`` pairs: by count descending, then text.

    >>> top_mentions({"b": 2, "a": 2, "c": 5}, 2)
    [['c', 5], ['a', 2]]
    """
    ranked = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))
    return [[text, n] for text, n in ranked[:k]]


def corpus_stats(corpus: Corpus, *, top: int = 10) -> dict[str, Any]:
    """Counts for ``corpus``; types sorted by name.

    ``characters`` is the total length of the sentence texts (for word-level corpora
    this includes the single spaces joining tokens), ``unique`` the number of distinct
    mention strings per type, ``top`` the ``top`` most frequent mentions per type.
    """
    sentences = corpus.sentences
    counts = corpus.mention_counts()
    types = sorted(counts)
    return {
        "documents": len(corpus.documents),
        "sentences": len(sentences),
        "characters": sum(len(s.text) for s in sentences),
        "tokens": sum(len(s.tokens) for s in sentences),
        "mentions": {t: sum(counts[t].values()) for t in types},
        "unique": {t: len(counts[t]) for t in types},
        "top": {t: top_mentions(counts[t], top) for t in types},
    }


def annotated_strings(sentences: Iterable[Sentence]) -> dict[str, set[str]]:
    """Every mention string of ``sentences`` and the types it is annotated with.

    >>> from mrc_ner.corpus.model import Span
    >>> known = annotated_strings([Sentence.from_text("HER2和HER2", [Span(0, 4, "gene"), Span(5, 9, "protein")])])
    >>> sorted(known["HER2"])
    ['gene', 'protein']
    """
    known: dict[str, set[str]] = {}
    for s in sentences:
        for sp in s.spans:
            known.setdefault(s.mention(sp), set()).add(sp.label)
    return known


def mention_overlap(train: Iterable[Sentence], test: Iterable[Sentence]) -> dict[str, dict[str, int]]:
    """Per type of the ``test`` mentions: how many could be recalled from memory of ``train``.

    ``mentions`` and ``unique`` count the test mentions of the type and their distinct
    strings; ``seen`` counts the test mentions whose exact string ``train`` annotates with
    the same type, ``seen_other_type`` those whose string ``train`` annotates only with
    other types. What is neither is a name the model never saw as a mention: recognising it
    is generalisation, not recall. Types sorted by name.

    >>> from mrc_ner.corpus.model import Span
    >>> tr = [Sentence.from_text("BRCA1与乳腺癌", [Span(0, 5, "gene"), Span(6, 9, "disease")])]
    >>> te = [Sentence.from_text("BRCA1和TP53", [Span(0, 5, "gene"), Span(6, 10, "gene")]),
    ...       Sentence.from_text("乳腺癌", [Span(0, 3, "protein")])]
    >>> mention_overlap(tr, te)["gene"]
    {'mentions': 2, 'unique': 2, 'seen': 1, 'seen_other_type': 0}
    >>> mention_overlap(tr, te)["protein"]["seen_other_type"]
    1
    """
    known = annotated_strings(train)
    out: dict[str, dict[str, Any]] = {}
    for s in test:
        for sp in s.spans:
            row = out.setdefault(sp.label, {"mentions": 0, "unique": set(), "seen": 0, "seen_other_type": 0})
            text = s.mention(sp)
            labels = known.get(text, set())
            row["mentions"] += 1
            row["unique"].add(text)
            row["seen"] += sp.label in labels
            row["seen_other_type"] += bool(labels) and sp.label not in labels
    return {t: {**out[t], "unique": len(out[t]["unique"])} for t in sorted(out)}


def overlap_table(per_fold: dict[str, dict[str, dict[str, int]]], *, title: str | None = None) -> Table:
    """One row per fold and type of :func:`mention_overlap`, then the folds pooled per type."""
    table = Table(title=title, title_justify="left")
    for name, justify in [("fold", "left"), ("type", "left"), ("test mentions", "right"), ("unique", "right")]:
        table.add_column(name, justify=justify)  # type: ignore[arg-type]
    table.add_column("seen as this type", justify="right")
    table.add_column("only as another type", justify="right")
    pooled: dict[str, dict[str, int]] = {}

    def add(fold: str, label: str, row: dict[str, int]) -> None:
        n = row["mentions"]
        seen, other = (f"{100 * row[k] / n:.1f} %" if n else "–" for k in ("seen", "seen_other_type"))
        table.add_row(fold, label, f"{n:,}", f"{row['unique']:,}", seen, other)

    for fold, rows in per_fold.items():
        for label, row in rows.items():
            add(fold, label, row)
            total = pooled.setdefault(label, dict.fromkeys(row, 0))
            for key, value in row.items():
                total[key] += value
    if len(per_fold) > 1:
        table.add_section()
        for label in sorted(pooled):
            add("all folds", label, pooled[label])
        table.caption = "all folds: the test sets pooled (unique strings summed over folds)"
    return table


def corpus_summary_table(stats: dict[str, Any], *, title: str | None = None) -> Table:
    """Sizes, then per type the mention count and the unique mention strings (a total row when several types)."""
    table = Table(title=title, title_justify="left")
    table.add_column("", style="bold")
    table.add_column("count", justify="right")
    table.add_column("unique", justify="right")
    for key in ("documents", "sentences", "tokens", "characters"):
        table.add_row(key, f"{stats[key]:,}", "")
    table.add_section()
    for t in stats["mentions"]:
        table.add_row(t, f"{stats['mentions'][t]:,}", f"{stats['unique'][t]:,}")
    if len(stats["mentions"]) > 1:
        table.add_section()
        table.add_row("all types", f"{sum(stats['mentions'].values()):,}", f"{sum(stats['unique'].values()):,}")
    return table


def top_table(stats: dict[str, Any], *, title: str | None = None) -> Table:
    """Table 5 of the patents paper: per type a block of (mention, count) columns, rank by rank."""
    table = Table(title=title, title_justify="left")
    table.add_column("#", justify="right", style="dim")
    types = list(stats["top"])
    for t in types:
        table.add_column(t, style="bold")
        table.add_column("n", justify="right")
    depth = max((len(v) for v in stats["top"].values()), default=0)
    for rank in range(depth):
        row = [str(rank + 1)]
        for t in types:
            pairs = stats["top"][t]
            row += [pairs[rank][0], f"{pairs[rank][1]:,}"] if rank < len(pairs) else ["", ""]
        table.add_row(*row)
    return table


def stats_tables(stats: dict[str, Any], *, name: str = "") -> list[Table]:
    """The tables to print for ``stats``: the summary, and the top mentions if any."""
    tables = [corpus_summary_table(stats, title=f"corpus {name}".strip())]
    if any(stats["top"].values()):
        k = max(len(v) for v in stats["top"].values())
        tables.append(top_table(stats, title=f"{k} most frequent mentions per type"))
    return tables
