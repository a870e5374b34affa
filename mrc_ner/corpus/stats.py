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

from typing import Any

from rich.table import Table

from mrc_ner.corpus.model import Corpus


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
