"""An HTML view of tagged text: entities highlighted, a colour per type, a legend, tooltips.

Like spaCy's displaCy "ent" style: each sentence is a paragraph; each entity is a
``<mark>`` coloured by its type, followed by a small label, with a tooltip (``title``)
giving the type, the score when there is one, and the character offsets
(``[start, end)``, end exclusive). A legend at the top lists every type with its
colour and count. The page is self-contained (inline CSS, no scripts).

All text — sentence text, labels, document ids — is HTML-escaped; type names never
reach CSS or attribute names (types are numbered), so no input can inject markup.

Entities that overlap one already drawn (gold files can nest) cannot be marked
inside the same run of text; they are listed under their sentence instead of being
dropped.
"""

from __future__ import annotations

import html
import os
from collections.abc import Iterable, Sequence

from mrc_ner.corpus.model import Document, Sentence, Span
from mrc_ner.io import atomic_write_text

#: background colours, assigned to the types in sorted order (then repeated)
PALETTE = (
    "#7aecec",
    "#feca74",
    "#aa9cfc",
    "#bfeeb7",
    "#ff9561",
    "#c887fb",
    "#9cc9cc",
    "#ffeb80",
    "#ff8197",
    "#bfe1d9",
    "#e4e7d2",
    "#f0d0ff",
    "#c8e6ff",
    "#ffd6a5",
)

CSS = """
body { font-family: "Noto Sans", "Noto Sans CJK SC", "WenQuanYi Micro Hei", "Helvetica Neue", Arial, sans-serif;
       margin: 2em auto; max-width: 60em; padding: 0 1em; color: #222; line-height: 2.4; }
h1 { font-size: 1.4em; line-height: 1.4; } h2 { font-size: 1.1em; line-height: 1.4; margin-top: 1.6em; color: #555; }
.legend { line-height: 2.2; padding: 0.4em 0; border-bottom: 1px solid #ddd; }
.legend span { padding: 0.25em 0.6em; margin-right: 0.6em; border-radius: 0.35em; font-size: 0.9em; }
p.sent { margin: 0.2em 0; white-space: pre-wrap; }
mark { padding: 0.2em 0.35em; margin: 0 0.1em; border-radius: 0.35em; line-height: 1; }
mark .lab { font-size: 0.62em; font-weight: bold; text-transform: uppercase; margin-left: 0.4em; vertical-align: middle; }
.overlap { font-size: 0.85em; color: #666; margin: 0 0 0.4em 1.5em; line-height: 1.6; }
"""


def type_colours(labels: Iterable[str]) -> dict[str, str]:
    """A colour per type, in sorted type order.

    >>> type_colours(["gene", "disease"])
    {'disease': '#7aecec', 'gene': '#feca74'}
    """
    return {t: PALETTE[i % len(PALETTE)] for i, t in enumerate(sorted(set(labels)))}


def flat_and_overlapping(spans: Sequence[Span]) -> tuple[list[Span], list[Span]]:
    """Spans by start (longest first on ties), split into a non-overlapping run and the rest."""
    flat: list[Span] = []
    rest: list[Span] = []
    end = 0
    for s in sorted(spans, key=lambda s: (s.start, -s.end, s.label)):
        if s.start >= end:
            flat.append(s)
            end = s.end
        else:
            rest.append(s)
    return flat, rest


def tooltip(span: Span) -> str:
    """``label · score 0.953 · [3, 8)`` (no score part for gold spans)."""
    score = f" · score {span.score:.3f}" if span.score is not None else ""
    return f"{span.label}{score} · [{span.start}, {span.end})"


def render_sentence(sentence: Sentence, index: dict[str, int], colours: dict[str, str]) -> str:
    """One ``<p>`` with the sentence's entities marked (and a note listing overlapping ones)."""
    esc = html.escape
    text = sentence.text
    flat, rest = flat_and_overlapping(sentence.spans)
    parts, pos = [], 0
    for s in flat:
        parts.append(esc(text[pos : s.start]))
        parts.append(
            f'<mark class="t{index[s.label]}" style="background:{colours[s.label]}" title="{esc(tooltip(s))}">'
            f'{esc(text[s.start : s.end])}<span class="lab">{esc(s.label)}</span></mark>'
        )
        pos = s.end
    parts.append(esc(text[pos:]))
    out = f'<p class="sent" data-id="{esc(sentence.id)}">{"".join(parts)}</p>'
    if rest:
        items = ", ".join(
            f'<span title="{esc(tooltip(s))}">{esc(s.label)}: {esc(text[s.start : s.end])}</span>' for s in rest
        )
        out += f'\n<div class="overlap">overlapping: {items}</div>'
    return out


def render_html(documents: Sequence[Document], *, title: str = "mrc-ner entities") -> str:
    """A complete HTML page showing the documents' sentences with their spans."""
    esc = html.escape
    counts: dict[str, int] = {}
    for d in documents:
        for s in d.sentences:
            for sp in s.spans:
                counts[sp.label] = counts.get(sp.label, 0) + 1
    colours = type_colours(counts)
    index = {t: i for i, t in enumerate(colours)}
    legend = "".join(
        f'<span class="t{index[t]}" style="background:{c}">{esc(t)} ({counts[t]})</span>' for t, c in colours.items()
    )
    body = [f"<h1>{esc(title)}</h1>", f'<div class="legend">{legend or "no entities"}</div>']
    for d in documents:
        if len(documents) > 1 or d.id:
            body.append(f"<h2>{esc(d.id)}</h2>")
        body.extend(render_sentence(s, index, colours) for s in d.sentences)
    return "\n".join(
        [
            "<!DOCTYPE html>",
            '<html lang="und"><head><meta charset="utf-8">',
            f"<title>{esc(title)}</title>",
            f"<style>{CSS}</style></head><body>",
            *body,
            "</body></html>",
            "",
        ]
    )


def write_html(documents: Sequence[Document], path: str | os.PathLike, *, title: str = "mrc-ner entities") -> None:
    """Write :func:`render_html` atomically to ``path``."""
    atomic_write_text(path, render_html(documents, title=title))
