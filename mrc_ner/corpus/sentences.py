"""Sentences and words of running text, as character ranges into it.

Document formats (brat, PubTator, BioC) and ``extract``'s English input give whole
paragraphs; the network's sentence window and the encoder's windows should see
sentences, not lines. :func:`sentence_bounds` finds them and returns ``[start, end)``
ranges into the text given — nothing is rewritten, so offsets stay exact:

* a line break always ends a sentence;
* inside a line, word-level (Latin-script) text is split by pysbd's English rules
  (abbreviations such as "e.g.", "Fig.", "et al.", decimals such as "3.5", initials…);
  pysbd is used for its cut points only: the ranges are rebuilt here from the
  original text, so whatever pysbd does to its copy, ``text[start:end]`` is the sentence;
* character-level (CJK) text is cut after 。！？ (and their full-width forms);
* leading and trailing whitespace is not part of a sentence; blank stretches give none.

>>> t = "BRCA1 (e.g. in Fig. 2) rose 3.5-fold. Smith et al. saw it too.\\nTitle"
>>> [t[a:b] for a, b in sentence_bounds(t)]
['BRCA1 (e.g. in Fig. 2) rose 3.5-fold.', 'Smith et al. saw it too.', 'Title']
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable, Sequence

_LINE_RE = re.compile(r"[^\r\n\u2028\u2029\x85\x0b\x0c]+")
_CJK_RE = re.compile("[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\U00020000-\U0003134f]")
_CJK_END_RE = re.compile(r"[。！？!?]+[”’」』）)]*")
#: words and single punctuation marks, as ``mrc_ner.corpus.model.word_sentence`` tokenizes raw text


def is_cjk_text(text: str, *, threshold: float = 0.3) -> bool:
    """True when at least ``threshold`` of the non-space characters are CJK (→ character-level).

    >>> is_cjk_text("检测BRCA1突变"), is_cjk_text("BRCA1 is mutated")
    (True, False)
    """
    chars = [c for c in text[:5000] if not c.isspace()]
    return bool(chars) and sum(1 for c in chars if _CJK_RE.match(c)) >= threshold * len(chars)


@functools.lru_cache(maxsize=1)
def _segmenter():
    import pysbd

    return pysbd.Segmenter(language="en", clean=False, char_span=True)


def _trim(text: str, a: int, b: int) -> tuple[int, int]:
    while a < b and text[a].isspace():
        a += 1
    while b > a and text[b - 1].isspace():
        b -= 1
    return a, b


def _cuts_en(line: str) -> list[int]:
    """Sentence ends inside one line of English text (positions in ``line``)."""
    cuts = []
    last = 0
    for piece in _segmenter().segment(line):
        end = getattr(piece, "end", None)
        if isinstance(end, int) and last < end <= len(line):
            cuts.append(end)
            last = end
    return cuts


def _cuts_cjk(line: str) -> list[int]:
    return [m.end() for m in _CJK_END_RE.finditer(line)]


def sentence_bounds(text: str, *, char_level: bool | None = None) -> list[tuple[int, int]]:
    """``[start, end)`` of every sentence of ``text`` (see the module docstring).

    ``char_level`` picks the rules (CJK punctuation or English); None decides from
    the text (:func:`is_cjk_text`).
    """
    if char_level is None:
        char_level = is_cjk_text(text)
    out: list[tuple[int, int]] = []
    for m in _LINE_RE.finditer(text):
        line, base = m.group(), m.start()
        if not line.strip():
            continue
        cuts = _cuts_cjk(line) if char_level else _cuts_en(line)
        prev = 0
        for cut in [*cuts, len(line)]:
            a, b = _trim(line, prev, cut)
            if a < b:
                out.append((base + a, base + b))
            prev = max(prev, cut)
    return out


def merge_crossed(bounds: Sequence[tuple[int, int]], spans: Iterable[tuple[int, int]]) -> list[tuple[int, int]]:
    """Join consecutive sentences that one span crosses, so every span lies inside one sentence.

    A splitter's boundary inside an annotated mention is a splitter error; the
    mention wins. Spans outside every sentence are left for the caller to report.

    >>> merge_crossed([(0, 5), (6, 10), (11, 15)], [(3, 8)])
    [(0, 10), (11, 15)]
    """
    out = [list(b) for b in bounds]
    for start, end in sorted(spans):
        i = next((k for k, (a, b) in enumerate(out) if a <= start < b), None)
        if i is None:
            continue
        while out[i][1] < end and i + 1 < len(out):
            out[i][1] = out[i + 1][1]
            del out[i + 1]
    return [(a, b) for a, b in out]
