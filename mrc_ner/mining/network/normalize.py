"""How a mention text becomes a node id: :func:`normalize_name` and its :class:`NormalizeOptions`."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from typing import Any

import networkx as nx


@dataclass(frozen=True)
class NormalizeOptions:
    """How mention texts become node ids; see :func:`normalize_name`."""

    nfkc: bool = True
    casefold: bool = True
    fold_separators: bool = True
    strip_suffixes: tuple[str, ...] = ("基因", "gene")
    strip_prefixes: tuple[str, ...] = ("基因",)

    def to_attrs(self) -> dict[str, Any]:
        """Scalar graph attributes (GraphML-compatible) recording these options."""
        return {
            "normalize_nfkc": self.nfkc,
            "normalize_casefold": self.casefold,
            "normalize_fold_separators": self.fold_separators,
            "normalize_strip_suffixes": "|".join(self.strip_suffixes),
            "normalize_strip_prefixes": "|".join(self.strip_prefixes),
        }

    @classmethod
    def from_graph(cls, graph: nx.Graph) -> NormalizeOptions:
        """The options a graph was built with (defaults for a graph that does not say)."""
        a = graph.graph
        if "normalize_nfkc" not in a:
            return cls()

        def split(key: str) -> tuple[str, ...]:
            return tuple(x for x in str(a.get(key, "")).split("|") if x)

        return cls(
            nfkc=bool(a["normalize_nfkc"]),
            casefold=bool(a.get("normalize_casefold", True)),
            fold_separators=bool(a.get("normalize_fold_separators", True)),
            strip_suffixes=split("normalize_strip_suffixes"),
            strip_prefixes=split("normalize_strip_prefixes"),
        )


DEFAULT_NORMALIZE = NormalizeOptions()
NO_AFFIXES = NormalizeOptions(strip_suffixes=(), strip_prefixes=())

# Separators folded away: whitespace, '-', '_' and the Unicode hyphens and dashes.
_SEPARATOR_CHARS = "-_\u00ad\u2010\u2011\u2012\u2013\u2014\u2015\u2212\u30fc"
_SEPARATORS = re.compile(rf"[\s{re.escape(_SEPARATOR_CHARS)}]+")
_BRACKETS = {"(": ")", "[": "]", "{": "}", "（": "）", "【": "】", "［": "］", "｛": "｝", "〔": "〕"}
_CLOSERS = {v: k for k, v in _BRACKETS.items()}


def _is_han(ch: str) -> bool:
    return "\u3400" <= ch <= "\u9fff" or "\uf900" <= ch <= "\ufaff" or "\U00020000" <= ch <= "\U0002fa1f"


def _is_edge_junk(ch: str) -> bool:
    return ch.isspace() or unicodedata.category(ch).startswith("P")


def _wrapped(s: str) -> bool:
    """True when the bracket at ``s[0]`` is closed by ``s[-1]`` ("(BRCA1)", not "(CH2)2NH(x)")."""
    if len(s) < 2 or s[0] not in _BRACKETS or s[-1] != _BRACKETS[s[0]]:
        return False
    depth = 0
    for i, ch in enumerate(s):
        depth += (ch == s[0]) - (ch == s[-1])
        if depth == 0:
            return i == len(s) - 1
    return False


def _strip_edges(s: str) -> str:
    """Strip whitespace and punctuation from both ends, but not a bracket closed (opened) inside."""
    while True:
        before = s
        while s and _is_edge_junk(s[0]) and not (s[0] in _BRACKETS and _BRACKETS[s[0]] in s[1:]):
            s = s[1:]
        while s and _is_edge_junk(s[-1]) and not (s[-1] in _CLOSERS and _CLOSERS[s[-1]] in s[:-1]):
            s = s[:-1]
        if _wrapped(s):
            s = s[1:-1]
        if s == before:
            return s


def _at_boundary(affix: str, neighbour: str) -> bool:
    """May ``affix`` be cut off where ``neighbour`` is the character of the stem beside it?

    A Han affix (基因) goes when its neighbour is not Han ("BRCA1基因", not "癌基因");
    any other affix (gene) only after a separator ("BRCA1 gene", "BRCA1-gene", not "transgene").
    """
    if _is_han(affix[0] if affix else ""):
        return not _is_han(neighbour)
    return neighbour.isspace() or neighbour in _SEPARATOR_CHARS


def _strip_affixes(s: str, options: NormalizeOptions, fold: Any) -> str:
    for suffix in sorted({fold(x).strip() for x in options.strip_suffixes} - {""}, key=len, reverse=True):
        if s.endswith(suffix) and len(s) > len(suffix) and _at_boundary(suffix, s[-len(suffix) - 1]):
            stem = _strip_edges(s[: -len(suffix)])
            if any(c.isalnum() for c in stem):
                s = stem
                break
    for prefix in sorted({fold(x).strip() for x in options.strip_prefixes} - {""}, key=len, reverse=True):
        if s.startswith(prefix) and len(s) > len(prefix) and _at_boundary(prefix, s[len(prefix)]):
            stem = _strip_edges(s[len(prefix) :])
            if any(c.isalnum() for c in stem):
                s = stem
                break
    return s


def normalize_name(text: str, options: NormalizeOptions = DEFAULT_NORMALIZE) -> str:
    """The node id of a mention text. The rule, step by step:

    1. NFKC (``nfkc``): full-width letters, digits and brackets become half-width
       (``"ＢＲＣＡ１"`` → ``"BRCA1"``), ligatures and ``™`` are spelled out.
    2. Case folding (``casefold``): ``"BRCA1"`` → ``"brca1"``.
    3. Whitespace and punctuation around the mention are stripped (a bracket is
       kept when its partner is inside: ``"(CH2)2"``, ``"尿嘧啶(U)"``; brackets
       around the whole mention go: ``"(BRCA1)"``).
    4. One suffix of ``strip_suffixes`` (default 基因, gene) and one prefix of
       ``strip_prefixes`` (default 基因) are cut off, at a word boundary only: a Han
       affix when the character beside it is not Han (``"BRCA1基因"`` → ``"brca1"``,
       ``"基因HER2"`` → ``"her2"``, but ``"癌基因"`` stays), a Latin affix only after a
       separator (``"BRCA1 gene"``, ``"BRCA1-gene"``, not ``"transgene"``), and only
       when letters or digits remain. 蛋白/protein are not stripped by default
       (``"白蛋白"``, albumin, would lose its meaning); add them to the list to
       strip them.
    5. Separators are folded away (``fold_separators``): runs of whitespace, ``-``,
       ``_`` and Unicode hyphens/dashes are deleted, so ``"BRCA-1"``, ``"BRCA 1"``
       and ``"brca1"`` are one node (the Chinese corpus wrote spaces as ``-``).
       Without folding, whitespace runs become one space.

    An empty result means the mention has no name (it is skipped).

    >>> [normalize_name(t) for t in ["BRCA-1", "ＢＲＣＡ１ gene", "BRCA1基因", "癌基因"]]
    ['brca1', 'brca1', 'brca1', '癌基因']
    """

    def fold(s: str) -> str:
        if options.nfkc:
            s = unicodedata.normalize("NFKC", s)
        return s.casefold() if options.casefold else s

    s = _strip_edges(fold(text))
    s = _strip_affixes(s, options, fold)
    return _SEPARATORS.sub("", s) if options.fold_separators else re.sub(r"\s+", " ", s)
